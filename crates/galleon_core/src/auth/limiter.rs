//! Brute-force resistance for the token endpoint: failed attempts are counted per client id and
//! per source address in a sliding one-minute window; past the limit, every attempt for that key
//! is refused until the window has passed, whether or not the secret would be right. Unknown
//! client ids are counted like known ones, so the limiter says nothing about which ids exist.

use std::collections::HashMap;
use std::sync::Mutex;

/// Failed attempts allowed per key per window.
pub const MAX_FAILURES: u32 = 10;
/// The window, in seconds.
pub const WINDOW_SECONDS: i64 = 60;
/// Keys tracked before old ones are forgotten (bounds memory under a spray of client ids).
const MAX_KEYS: usize = 100_000;

/// Failure counts per key.
#[derive(Default)]
pub struct FailureLimiter {
    failures: Mutex<HashMap<String, (i64, u32)>>,
}

impl FailureLimiter {
    /// Whether `key` may try now (unix seconds).
    pub fn allowed(&self, key: &str, now: i64) -> bool {
        let Ok(map) = self.failures.lock() else { return false };
        match map.get(key) {
            Some((start, count)) if now - start < WINDOW_SECONDS => *count < MAX_FAILURES,
            _ => true,
        }
    }

    /// Records a failed attempt for `key`.
    pub fn failed(&self, key: &str, now: i64) {
        let Ok(mut map) = self.failures.lock() else { return };
        if map.len() >= MAX_KEYS {
            map.retain(|_, (start, _)| now - *start < WINDOW_SECONDS);
        }
        let entry = map.entry(key.to_string()).or_insert((now, 0));
        if now - entry.0 >= WINDOW_SECONDS {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_until_the_window_passes() {
        let l = FailureLimiter::default();
        for _ in 0..MAX_FAILURES {
            assert!(l.allowed("client:x", 100));
            l.failed("client:x", 100);
        }
        assert!(!l.allowed("client:x", 101));
        assert!(l.allowed("client:y", 101), "other keys are unaffected");
        assert!(l.allowed("client:x", 100 + WINDOW_SECONDS), "the window passes");
    }
}
