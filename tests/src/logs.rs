//! Log capture for the "no PII, no tokens, no secrets in logs" tests: a JSON
//! subscriber like Lambda's with the functions' own filter at its most verbose
//! setting (TRACE for our code, INFO for the HTTP/AWS libraries),
//! writing into memory for the current thread. Use it from a current-thread
//! tokio test so every task of the run logs through it.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
pub struct LogCapture {
    buf: Arc<Mutex<Vec<u8>>>,
}

pub struct CaptureWriter {
    buf: Arc<Mutex<Vec<u8>>>,
}

impl Write for CaptureWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogCapture {
    type Writer = CaptureWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CaptureWriter {
            buf: self.buf.clone(),
        }
    }
}

impl LogCapture {
    /// Starts capturing on this thread until the guard is dropped.
    pub fn start() -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = LogCapture::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_env_filter(lambda_kit::log_filter("trace"))
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(capture.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        (capture, guard)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    pub fn lines(&self) -> usize {
        self.text().lines().count()
    }

    /// Panics naming the first forbidden value found in the logs (and the line).
    pub fn assert_free_of(&self, forbidden: &[&str]) {
        let text = self.text();
        for needle in forbidden {
            assert!(!needle.is_empty(), "empty needle");
            if let Some(line) = text.lines().find(|l| l.contains(needle)) {
                panic!("the logs contain the forbidden value {needle:?} in: {line}");
            }
        }
    }
}
