//! Where a server's log lines go: a request appends its line to a shared buffer (a lock and a
//! copy, never a system call), and one thread writes what has gathered in one write per
//! batch window. Under load the earlier per-line queue (tracing-appender) woke its thread and
//! wrote once per line, a fifth of a GET's server CPU (bench/arm_get.sh with perf); here a
//! second of 35,000 lines is about twenty writes.
//!
//! Warnings and errors are not held back: such a line, and what gathered before it, is written
//! at once, so a crash (or a SIGKILL) loses at most the last window of routine lines. No line
//! is dropped: a full buffer (stderr not keeping up) holds the writers back until the thread has
//! written it. Dropping the [`Flusher`] writes what is left and ends the thread.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::{Level, Metadata};

/// How long the thread lets lines gather after the first of a batch arrives. A person tailing
/// the log sees a routine line at most this late.
pub(crate) const WINDOW: Duration = Duration::from_millis(50);
/// Bytes that may wait in the buffer before writers are held back.
const LIMIT: usize = 4 << 20;

/// The writers' source handed to the log formatter.
#[derive(Clone)]
pub(crate) struct LogSink {
    shared: Arc<Shared>,
}

/// One line's writer: appends to the shared buffer; an urgent one has it written now.
pub(crate) struct LineWriter<'a> {
    sink: &'a LogSink,
    urgent: bool,
}

/// Owns the writing thread; dropping it writes every line still buffered, then joins it.
pub(crate) struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when the buffer goes from empty to not, on an urgent line, and on close.
    filled: Condvar,
    /// Signalled when the thread has taken the buffer.
    drained: Condvar,
}

#[derive(Default)]
struct State {
    pending: Vec<u8>,
    /// A warning or an error is pending: write without waiting out the window.
    urgent: bool,
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A writer that panicked mid-append leaves bytes, not a broken invariant.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A sink writing to `out` from a thread of its own, in batches gathered over `window`, and the
/// handle that flushes it.
pub(crate) fn to<W: Write + Send + 'static>(out: W, window: Duration) -> io::Result<(LogSink, Flusher)> {
    let shared = Arc::new(Shared { state: Mutex::default(), filled: Condvar::new(), drained: Condvar::new() });
    let worker = Arc::clone(&shared);
    let thread =
        std::thread::Builder::new().name("galleon-log".into()).spawn(move || write_batches(&worker, out, window))?;
    Ok((LogSink { shared: Arc::clone(&shared) }, Flusher { shared, thread: Some(thread) }))
}

fn write_batches(shared: &Shared, mut out: impl Write, window: Duration) {
    let mut batch = Vec::new();
    loop {
        let mut state = shared.lock();
        while state.pending.is_empty() && !state.closed {
            state = shared.filled.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        if state.pending.is_empty() {
            return; // closed, and everything written
        }
        if !state.closed && !state.urgent {
            state = shared
                .filled
                .wait_timeout_while(state, window, |s| !s.urgent && !s.closed)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        state.urgent = false;
        std::mem::swap(&mut state.pending, &mut batch);
        drop(state);
        shared.drained.notify_all();
        // Nowhere to report a failed write of the log itself; the next batch tries again.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
    }
}

impl Write for LineWriter<'_> {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let shared = &self.sink.shared;
        let mut state = shared.lock();
        while state.pending.len() >= LIMIT && !state.closed {
            state = shared.drained.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        let wake = state.pending.is_empty() || (self.urgent && !state.urgent);
        state.pending.extend_from_slice(line);
        state.urgent |= self.urgent;
        drop(state);
        if wake {
            shared.filled.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(()) // the thread writes every batch within its window; Flusher writes the rest at exit
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogSink {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter { sink: self, urgent: false }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter { sink: self, urgent: *meta.level() <= Level::WARN }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.filled.notify_one();
        self.shared.drained.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tracing_subscriber::fmt::MakeWriter;

    /// A writer whose bytes the test reads back, optionally held shut until released.
    #[derive(Clone, Default)]
    struct Captured {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: Arc<Mutex<usize>>,
        gate: Arc<Mutex<()>>,
    }

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _open = self.gate.lock().unwrap();
            self.bytes.lock().unwrap().extend_from_slice(buf);
            *self.writes.lock().unwrap() += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_from_many_threads_arrive_whole_in_each_threads_order_in_few_writes() {
        let out = Captured::default();
        let (sink, flusher) = to(out.clone(), WINDOW).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    for i in 0..5000 {
                        sink.make_writer().write_all(format!("thread {t} line {i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        drop(flusher);
        let text = String::from_utf8(out.bytes.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 20_000);
        for t in 0..4 {
            let mine: Vec<usize> = lines
                .iter()
                .filter_map(|l| l.strip_prefix(&format!("thread {t} line ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..5000).collect::<Vec<_>>(), "thread {t}'s lines out of order or torn");
        }
        assert!(*out.writes.lock().unwrap() < 100, "{} writes for 20,000 lines", out.writes.lock().unwrap());
    }

    #[test]
    fn a_line_is_written_within_the_window_without_a_flush() {
        let out = Captured::default();
        let (sink, _flusher) = to(out.clone(), WINDOW).unwrap();
        sink.make_writer().write_all(b"listening\n").unwrap();
        let start = Instant::now();
        while out.bytes.lock().unwrap().is_empty() {
            assert!(start.elapsed() < Duration::from_secs(5), "the line was never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(&*out.bytes.lock().unwrap(), b"listening\n");
    }

    #[test]
    fn a_stalled_output_holds_writers_back_at_the_limit_and_loses_nothing() {
        let out = Captured::default();
        let stalled = out.gate.lock().unwrap();
        let (sink, flusher) = to(out.clone(), WINDOW).unwrap();
        let line = vec![b'x'; 1023];
        let writer = {
            let sink = sink.clone();
            let line = line.clone();
            std::thread::spawn(move || {
                for _ in 0..3 * LIMIT / 1024 {
                    sink.make_writer().write_all(&line).unwrap();
                    sink.make_writer().write_all(b"\n").unwrap();
                }
            })
        };
        std::thread::sleep(WINDOW * 6);
        assert!(!writer.is_finished(), "the writer ran past the limit while the output was stalled");
        assert!(sink.shared.lock().pending.len() <= LIMIT + 1024, "the buffer grew past its limit");
        drop(stalled);
        writer.join().unwrap();
        drop(flusher);
        assert_eq!(out.bytes.lock().unwrap().len(), 3 * LIMIT);
    }

    /// Waits (a generous while, for a loaded machine) until `out` holds `text`.
    fn arrives(out: &Captured, text: &str) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if String::from_utf8_lossy(&out.bytes.lock().unwrap()).contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn a_warning_is_written_at_once_with_the_lines_before_it() {
        // A window far longer than the test: only an urgent line can have the batch written.
        let out = Captured::default();
        let (sink, flusher) = to(out.clone(), Duration::from_secs(3600)).unwrap();
        let logs = tracing_subscriber::fmt().with_ansi(false).with_writer(sink).finish();
        tracing::subscriber::with_default(logs, || {
            tracing::info!("routine line");
            std::thread::sleep(Duration::from_millis(200));
            assert!(out.bytes.lock().unwrap().is_empty(), "a routine line did not wait for its window");
            tracing::warn!("something went wrong");
            assert!(arrives(&out, "something went wrong"), "a warning waited for the window");
            assert!(arrives(&out, "routine line"));
            tracing::error!("and then worse");
            assert!(arrives(&out, "and then worse"), "an error waited for the window");
            tracing::info!("last routine line");
        });
        drop(flusher);
        assert!(arrives(&out, "last routine line"), "the flusher did not write what was left");
    }
}
