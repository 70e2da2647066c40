//! Where a server's log lines go: a request appends its line to a shared buffer (a lock and a
//! copy, never a system call), and one thread writes what has gathered in one write per
//! batch window. Under load the earlier per-line queue (tracing-appender) woke its thread and
//! wrote once per line, a fifth of a GET's server CPU (bench/arm_get.sh with perf); here a
//! second of 35,000 lines is about twenty writes.
//!
//! No line is dropped: a full buffer (stderr not keeping up) holds the writers back until the
//! thread has written it. Dropping the [`Flusher`] writes what is left and ends the thread.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the thread lets lines gather after the first of a batch arrives. A person tailing
/// the log sees a line at most this late.
const WINDOW: Duration = Duration::from_millis(50);
/// Bytes that may wait in the buffer before writers are held back.
const LIMIT: usize = 4 << 20;

/// The writer handed to the log formatter: each write appends to the shared buffer.
#[derive(Clone)]
pub(crate) struct LogSink {
    shared: Arc<Shared>,
}

/// Owns the writing thread; dropping it writes every line still buffered, then joins it.
pub(crate) struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when the buffer goes from empty to not, and when the sink closes.
    filled: Condvar,
    /// Signalled when the thread has taken the buffer.
    drained: Condvar,
}

#[derive(Default)]
struct State {
    pending: Vec<u8>,
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A writer that panicked mid-append leaves bytes, not a broken invariant.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A sink writing to `out` from a thread of its own, and the handle that flushes it.
pub(crate) fn to<W: Write + Send + 'static>(out: W) -> io::Result<(LogSink, Flusher)> {
    let shared = Arc::new(Shared { state: Mutex::default(), filled: Condvar::new(), drained: Condvar::new() });
    let worker = Arc::clone(&shared);
    let thread = std::thread::Builder::new().name("galleon-log".into()).spawn(move || write_batches(&worker, out))?;
    Ok((LogSink { shared: Arc::clone(&shared) }, Flusher { shared, thread: Some(thread) }))
}

fn write_batches(shared: &Shared, mut out: impl Write) {
    let mut batch = Vec::new();
    loop {
        let mut state = shared.lock();
        while state.pending.is_empty() && !state.closed {
            state = shared.filled.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        if state.pending.is_empty() {
            return; // closed, and everything written
        }
        if !state.closed {
            drop(state);
            std::thread::sleep(WINDOW);
            state = shared.lock();
        }
        std::mem::swap(&mut state.pending, &mut batch);
        drop(state);
        shared.drained.notify_all();
        // Nowhere to report a failed write of the log itself; the next batch tries again.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
    }
}

impl Write for &LogSink {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut state = self.shared.lock();
        while state.pending.len() >= LIMIT && !state.closed {
            state = self.shared.drained.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        let first = state.pending.is_empty();
        state.pending.extend_from_slice(line);
        drop(state);
        if first {
            self.shared.filled.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(()) // the thread writes every batch within WINDOW; Flusher writes the rest at exit
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogSink {
    type Writer = &'a LogSink;

    fn make_writer(&'a self) -> Self::Writer {
        self
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
        let (sink, flusher) = to(out.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    for i in 0..5000 {
                        (&sink).write_all(format!("thread {t} line {i}\n").as_bytes()).unwrap();
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
        let (sink, _flusher) = to(out.clone()).unwrap();
        (&sink).write_all(b"listening\n").unwrap();
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
        let (sink, flusher) = to(out.clone()).unwrap();
        let line = vec![b'x'; 1023];
        let writer = {
            let sink = sink.clone();
            let line = line.clone();
            std::thread::spawn(move || {
                for _ in 0..3 * LIMIT / 1024 {
                    (&sink).write_all(&line).unwrap();
                    (&sink).write_all(b"\n").unwrap();
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
}
