//! Where a command's output goes: sentences and tables for a person, one
//! JSON document for a script (`--json`), progress on standard error — a bar
//! on a terminal, plain lines otherwise (CI logs, pipes), never both.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

use crate::error::CliError;

type Shared = Arc<Mutex<Vec<u8>>>;

enum Sink {
    Stdout,
    Stderr,
    Buffer(Shared),
}

impl Sink {
    fn write(&self, text: &str) {
        // A closed pipe (e.g. `| head`) is not an error worth a panic.
        let _ = match self {
            Sink::Stdout => std::io::stdout().lock().write_all(text.as_bytes()),
            Sink::Stderr => std::io::stderr().lock().write_all(text.as_bytes()),
            Sink::Buffer(b) => {
                b.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(text.as_bytes());
                Ok(())
            }
        };
    }
}

/// A command's standard output, standard error and standard input.
pub struct Console {
    out: Sink,
    err: Sink,
    input: Mutex<Box<dyn Read + Send>>,
    /// `--json`: one JSON document on standard output, nothing else there.
    pub json: bool,
    /// Standard error is a terminal: progress may draw a bar.
    pub tty: bool,
    /// The JSON document was written (an error after it adds no second one).
    wrote_json: std::sync::atomic::AtomicBool,
}

/// What a captured console wrote (tests).
#[derive(Clone, Default)]
pub struct Captured {
    out: Shared,
    err: Shared,
}

impl Captured {
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    pub fn err(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Console {
    /// The process's own streams.
    pub fn stdio(json: bool, tty: bool) -> Self {
        Self {
            out: Sink::Stdout,
            err: Sink::Stderr,
            input: Mutex::new(Box::new(std::io::stdin())),
            json,
            tty,
            wrote_json: Default::default(),
        }
    }

    /// In-memory streams with `input` as standard input (tests, and the
    /// README test that runs the documented command lines).
    pub fn capture(json: bool, input: &str) -> (Self, Captured) {
        let captured = Captured::default();
        let console = Self {
            out: Sink::Buffer(captured.out.clone()),
            err: Sink::Buffer(captured.err.clone()),
            input: Mutex::new(Box::new(std::io::Cursor::new(input.as_bytes().to_vec()))),
            json,
            tty: false,
            wrote_json: Default::default(),
        };
        (console, captured)
    }

    /// A line for a person (not in `--json` mode).
    pub fn line(&self, text: impl AsRef<str>) {
        if !self.json {
            self.out.write(&format!("{}\n", text.as_ref()));
        }
    }

    /// A note on standard error (both modes): warnings, hints.
    pub fn note(&self, text: impl AsRef<str>) {
        self.err.write(&format!("{}\n", text.as_ref()));
    }

    /// A table for a person (not in `--json` mode; nothing without rows).
    pub fn table(&self, header: &[&str], rows: Vec<Vec<String>>) {
        if self.json || rows.is_empty() {
            return;
        }
        let mut t = Table::new();
        t.set_header(header.to_vec());
        match console::Term::stdout().size_checked() {
            // On a terminal: fit its width.
            Some((_, width)) if self.tty => {
                t.load_style(presets::UTF8_FULL_CONDENSED)
                    .set_content_arrangement(ContentArrangement::Dynamic)
                    .set_width(width);
            }
            // Pipes and logs: whole lines, plain characters.
            _ => {
                t.load_style(presets::ASCII_MARKDOWN)
                    .set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        for r in rows {
            t.add_row(r);
        }
        self.out.write(&format!("{t}\n"));
    }

    /// The JSON document of `--json` mode (ignored otherwise).
    pub fn json<T: Serialize>(&self, value: &T) -> Result<(), CliError> {
        if self.json {
            let text = serde_json::to_string_pretty(value)
                .map_err(|e| CliError::failed(format!("could not encode the output: {e}")))?;
            self.out.write(&format!("{text}\n"));
            self.wrote_json
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(())
    }

    /// An error: the sentence on standard error; with `--json` also as JSON
    /// on standard output — unless the command already wrote its document
    /// (which then says what went wrong), so a script reads one either way.
    pub fn error(&self, e: &CliError) {
        self.err.write(&format!("error: {}\n", e.message));
        if self.json && !self.wrote_json.load(std::sync::atomic::Ordering::SeqCst) {
            let doc = serde_json::json!({"error": {
                "kind": e.kind,
                "exit_code": e.exit_code(),
                "message": e.message,
            }});
            self.out.write(&format!("{doc:#}\n"));
        }
    }

    /// All of standard input (a refresh token).
    pub fn read_input(&self) -> Result<String, CliError> {
        let mut text = String::new();
        self.input
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .read_to_string(&mut text)
            .map_err(|e| CliError::usage(format!("could not read standard input: {e}")))?;
        Ok(text)
    }

    /// Progress of a long operation of unknown length: a spinner with a
    /// message on a terminal, else one plain line per update.
    pub fn progress(&self, what: &str) -> Progress<'_> {
        if self.tty {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_message(what.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            Progress::Bar(bar)
        } else {
            Progress::Lines(self)
        }
    }
}

/// See [`Console::progress`].
pub enum Progress<'a> {
    Bar(indicatif::ProgressBar),
    Lines(&'a Console),
}

impl Progress<'_> {
    pub fn update(&self, message: &str) {
        match self {
            Progress::Bar(bar) => bar.set_message(message.to_string()),
            Progress::Lines(console) => console.note(message),
        }
    }

    pub fn finish(self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// "3 d", "5 h", "12 min", "40 s": how long ago, for tables.
pub fn age(seconds: i64) -> String {
    match seconds {
        s if s < 0 => "in the future".into(),
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

/// The first `max` characters of `text`, with "…" when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_a_terminal_progress_is_plain_lines_on_stderr_and_json_stays_clean() {
        let (c, captured) = Console::capture(true, "");
        let p = c.progress("backfill");
        p.update("page 1: 100 orders");
        p.update("page 2: 150 orders");
        p.finish();
        c.json(&serde_json::json!({"ok": true})).unwrap();
        assert_eq!(captured.err(), "page 1: 100 orders\npage 2: 150 orders\n");
        assert!(!captured.err().contains('\u{1b}'), "no escape codes");
        let doc: serde_json::Value = serde_json::from_str(&captured.out()).unwrap();
        assert_eq!(doc["ok"], true, "stdout holds only the JSON document");
    }

    #[test]
    fn tables_off_a_terminal_keep_whole_lines() {
        let (c, captured) = Console::capture(false, "");
        c.table(
            &["SELLER", "REASON"],
            vec![vec!["A1".into(), "x".repeat(300)]],
        );
        let out = captured.out();
        assert!(out.lines().any(|l| l.contains(&"x".repeat(300))), "{out}");
    }

    #[test]
    fn ages_and_clips_read_well() {
        assert_eq!(age(30), "30 s");
        assert_eq!(age(600), "10 min");
        assert_eq!(age(3 * 3600), "3 h");
        assert_eq!(age(3 * 86_400), "3 d");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
