//! The token endpoint's failure counts, shared by every node through the metadata store: N nodes
//! behind a load balancer allow the same number of wrong secrets as one. Counts are kept per key
//! (client id, source address) and fixed window, under a digest of the key, and written with a
//! revision check. The in-process limiter stays in front, so a refused key costs no database work.

use galleon_store::{Batch, Expect, Kind, StoreError, typed};
use serde::{Deserialize, Serialize};

use super::{MAX_FAILURES, WINDOW_SECONDS};
use crate::{Core, CoreResult};

const PREFIX: &str = "/galleon/token-failures/";
/// Tries of one read-modify-write against concurrent failures of the same key.
const WRITE_TRIES: usize = 5;

#[derive(Serialize, Deserialize)]
struct Count {
    failures: u32,
}

/// `/galleon/token-failures/{window}/{digest}`: windows sort in time order (same digit count for
/// millennia), so old ones are a prefix range to sweep.
fn doc_key(window: i64, key: &str) -> String {
    format!("{PREFIX}{window:012}/{}", &blake3::hash(key.as_bytes()).to_hex()[..32])
}

impl Core {
    /// Whether any of `keys` has used up its failures in the current window, on any node.
    pub(crate) async fn shared_failures_exceeded(&self, keys: &[String], t: i64) -> CoreResult<bool> {
        for k in keys {
            let found = typed::get::<Count>(self.store(), Kind::Setting, &doc_key(t / WINDOW_SECONDS, k)).await?;
            if found.is_some_and(|c| c.value.failures >= MAX_FAILURES) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Counts one failure for each of `keys` in the current window.
    pub(crate) async fn record_shared_failure(&self, keys: &[String], t: i64) -> CoreResult<()> {
        let window = t / WINDOW_SECONDS;
        for k in keys {
            let key = doc_key(window, k);
            for _ in 0..WRITE_TRIES {
                let found = typed::get::<Count>(self.store(), Kind::Setting, &key).await?;
                let (failures, expect) = match &found {
                    Some(c) => (c.value.failures + 1, Expect::Rev(c.rev)),
                    None => (1, Expect::Absent),
                };
                let doc = typed::doc(Kind::Setting, &key, None, &Count { failures });
                match self.store().apply(Batch::new().put(doc, expect)).await {
                    Ok(()) => break,
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// Deletes the counts of windows that have passed by `t` (garbage collection calls it).
    pub async fn sweep_token_failures(&self, t: i64) -> CoreResult<usize> {
        let current = format!("{PREFIX}{:012}/", t / WINDOW_SECONDS);
        let mut swept = 0;
        loop {
            let old: Vec<String> = self
                .store()
                .list(Kind::Setting, PREFIX, None, 500)
                .await?
                .iter()
                .map(|d| d.key.clone())
                .filter(|k| k.as_str() < current.as_str())
                .collect();
            if old.is_empty() {
                return Ok(swept);
            }
            swept += old.len();
            let batch = old.into_iter().fold(Batch::new(), |b, k| b.delete(Kind::Setting, k, Expect::Any));
            self.store().apply(batch).await?;
        }
    }
}
