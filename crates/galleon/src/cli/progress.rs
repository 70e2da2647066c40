//! A progress line on stderr (bytes, rate, ETA), drawn only when stderr is a terminal so
//! scripting output and logs stay clean.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use galleon_api_types::Resource;
use galleon_api_types::version::VersionProperties;

pub(super) struct Progress {
    label: String,
    /// What is counted: `None` for bytes (shown in MiB), else the name of the things counted.
    unit: Option<&'static str>,
    total: u64,
    done: u64,
    started: Instant,
    drawn: Option<Instant>,
    visible: bool,
}

const MIB: f64 = 1048576.0;

impl Progress {
    pub(super) fn new(label: impl Into<String>, total: u64, done: u64) -> Self {
        let visible = std::io::stderr().is_terminal();
        Self { label: label.into(), unit: None, total, done, started: Instant::now(), drawn: None, visible }
    }

    /// A line that counts things (`chunks`) instead of bytes.
    pub(super) fn counting(label: impl Into<String>, total: u64, unit: &'static str) -> Self {
        Self { unit: Some(unit), ..Self::new(label, total, 0) }
    }

    /// Ends the current line as complete and starts another (the next store of a scrub).
    pub(super) fn restart(&mut self, label: impl Into<String>, total: u64) {
        if self.visible {
            self.done = self.total;
            self.draw();
            eprintln!();
        }
        (self.label, self.total, self.done, self.started, self.drawn) = (label.into(), total, 0, Instant::now(), None);
    }

    pub(super) fn set(&mut self, done: u64) {
        self.done = done.min(self.total);
        if self.visible && self.drawn.is_none_or(|t| t.elapsed() >= Duration::from_millis(100)) {
            self.draw();
        }
    }

    fn draw(&mut self) {
        self.drawn = Some(Instant::now());
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = self.done as f64 / secs;
        let width = 30;
        let filled =
            if self.total == 0 { width } else { (self.done as u128 * width as u128 / self.total as u128) as usize };
        let eta = if rate > 0.0 { format!("{:.0}s", (self.total - self.done) as f64 / rate) } else { "?".into() };
        let bar = format!("{}{}", "#".repeat(filled), "-".repeat(width - filled));
        let line = match self.unit {
            None => format!(
                "\r{} [{bar}] {:.1}/{:.1} MiB {:.1} MiB/s ETA {eta}  ",
                self.label,
                self.done as f64 / MIB,
                self.total as f64 / MIB,
                rate / MIB
            ),
            Some(unit) => {
                format!("\r{} [{bar}] {}/{} {unit} {rate:.0}/s ETA {eta}  ", self.label, self.done, self.total)
            }
        };
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
    }

    /// Marks everything done (the operation it follows has ended).
    pub(super) fn complete(&mut self) {
        self.done = self.total;
    }

    /// Draws the final state and ends the line.
    pub(super) fn finish(mut self) {
        if self.visible {
            self.draw();
            eprintln!();
        }
    }
}

/// One line per target region, fed by an image version's `replicationStatus`, redrawn in
/// place on a terminal (nothing otherwise).
pub(super) struct RegionBars {
    lines: usize,
    visible: bool,
}

impl RegionBars {
    pub(super) fn new() -> Self {
        Self { lines: 0, visible: std::io::stderr().is_terminal() }
    }

    pub(super) fn draw(&mut self, version: &Resource<VersionProperties>) {
        if !self.visible {
            return;
        }
        let status = version.properties.as_ref().and_then(|p| p.replication_status.as_ref());
        let summary = status.map(|s| s.summary.as_slice()).unwrap_or_default();
        let mut out = String::new();
        if self.lines > 0 {
            out.push_str(&format!("\x1b[{}A", self.lines));
        }
        for region in summary {
            let progress = region.progress.clamp(0, 100) as usize;
            let filled = progress * 30 / 100;
            let transfer = region.transfer.as_ref().map(|t| format!("  {}", t.describe())).unwrap_or_default();
            out.push_str(&format!(
                "\r\x1b[2K{:<18} [{}{}] {progress:>3}% {}{transfer}\n",
                region.region,
                "#".repeat(filled),
                "-".repeat(30 - filled),
                region.state
            ));
        }
        self.lines = summary.len();
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(out.as_bytes());
        let _ = err.flush();
    }
}
