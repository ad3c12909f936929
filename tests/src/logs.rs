//! Log capture for the "no PII, no tokens, no secrets in logs" tests: a JSON
//! subscriber like Lambda's with the functions' own filter at its most verbose
//! setting (TRACE for our code, INFO for the HTTP/AWS libraries), writing into
//! memory for the current thread. Use it from a current-thread tokio test so
//! every task of the run logs through it.
//!
//! The subscriber is installed once, globally, for the whole test process and
//! writes to the buffer of the thread that emits the event (if that thread is
//! capturing). A per-thread `set_default` subscriber would be simpler, but
//! tracing caches each call site's interest process-wide, and a call site
//! first reached by a parallel test without a subscriber can then stay
//! silent for the capturing test.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};

use tracing_subscriber::fmt::MakeWriter;

thread_local! {
    static CURRENT: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

#[derive(Clone, Default)]
pub struct LogCapture {
    buf: Arc<Mutex<Vec<u8>>>,
}

/// Stops the capture on this thread when dropped.
pub struct CaptureGuard(());

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}

/// Writes to the capturing thread's buffer, or nowhere.
pub struct ThreadWriter;

impl Write for ThreadWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        CURRENT.with(|c| {
            if let Some(buf) = c.borrow().as_ref() {
                buf.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(data);
            }
        });
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct MakeThreadWriter;

impl<'a> MakeWriter<'a> for MakeThreadWriter {
    type Writer = ThreadWriter;

    fn make_writer(&'a self) -> Self::Writer {
        ThreadWriter
    }
}

impl LogCapture {
    /// Starts capturing this thread's events until the guard is dropped.
    pub fn start() -> (Self, CaptureGuard) {
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .json()
                .with_env_filter(lambda_kit::log_filter("trace"))
                .with_current_span(true)
                .with_span_list(true)
                .with_writer(MakeThreadWriter)
                .finish();
            // Another test binary set-up may have installed one: then keep it.
            let _ = tracing::subscriber::set_global_default(subscriber);
        });
        let capture = LogCapture::default();
        CURRENT.with(|c| *c.borrow_mut() = Some(capture.buf.clone()));
        (capture, CaptureGuard(()))
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
