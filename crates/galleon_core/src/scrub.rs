//! Scrub: re-hash every chunk in a region's stores, find chunks a stored manifest names but the
//! store lacks, and repair both from a good copy in any other store (of any region).
//!
//! Hard-linked replicas share one file, so bit rot in it affects every store linking it; a copy
//! on another filesystem (or made with `--replication-copy copy`) is what scrub can repair from.

use std::collections::HashSet;
use std::sync::Arc;

use galleon_blob::store::{ChunkError, ChunkStore};
use galleon_blob::{ChunkId, Manifest};

use crate::content::content_error;
use crate::{Core, CoreResult};

/// What a scrub found and did in one store.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScrubReport {
    /// `region/store`.
    pub store: String,
    /// Chunks re-hashed.
    pub checked: usize,
    /// Chunks whose bytes did not match their name.
    pub corrupt: usize,
    /// Chunks a manifest in the store names that it did not have.
    pub missing: usize,
    /// Of those, how many were restored from a good copy.
    pub repaired: usize,
}

impl Core {
    /// Every store of every region, for finding good copies.
    fn all_stores(&self) -> Vec<Arc<dyn ChunkStore>> {
        self.config().chunk_stores.values().flatten().map(|s| s.store.clone()).collect()
    }

    /// A good copy of `id` from any store but `except`.
    async fn good_copy(&self, id: ChunkId, except: &Arc<dyn ChunkStore>) -> Option<bytes::Bytes> {
        for store in self.all_stores() {
            if Arc::ptr_eq(&store, except) {
                continue;
            }
            if let Ok(data) = store.get(id).await {
                return Some(data);
            }
        }
        None
    }

    /// Scrubs every store of `region`.
    pub async fn scrub_region(&self, region: &str) -> CoreResult<Vec<ScrubReport>> {
        // One scrub of a region at a time on any node; beside content jobs, not during a collection.
        let _alone = self.cluster_lock(&format!("scrub/{region}"), galleon_store::LockMode::Exclusive).await?;
        let _shared = self.cluster_lock(crate::jobs::CONTENT_LOCK, galleon_store::LockMode::Shared).await?;
        let stores = self.region_stores(region)?.to_vec();
        let mut reports = Vec::new();
        for rs in stores {
            let store = rs.store.clone();
            let mut report = ScrubReport { store: format!("{region}/{}", rs.name), ..Default::default() };
            let ids = store.list().await.map_err(content_error)?;
            let mut needed: HashSet<ChunkId> = HashSet::new();
            for id in &ids {
                report.checked += 1;
                match store.get(*id).await {
                    Ok(data) => {
                        if let Ok(m) = Manifest::decode(&data) {
                            needed.extend(m.referenced());
                        }
                    }
                    Err(ChunkError::Corrupt(_)) => {
                        report.corrupt += 1;
                        if let Some(good) = self.good_copy(*id, &store).await {
                            store.delete(*id).await.map_err(content_error)?;
                            store.put(*id, good).await.map_err(content_error)?;
                            report.repaired += 1;
                        }
                    }
                    Err(e) => return Err(content_error(e)),
                }
            }
            for id in needed {
                if store.has(id).await.map_err(content_error)? {
                    continue;
                }
                report.missing += 1;
                if let Some(good) = self.good_copy(id, &store).await {
                    store.put(id, good).await.map_err(content_error)?;
                    report.repaired += 1;
                }
            }
            store.sync().await.map_err(content_error)?;
            tracing::info!(store = %report.store, checked = report.checked, corrupt = report.corrupt, missing = report.missing, repaired = report.repaired, "scrubbed");
            reports.push(report);
        }
        Ok(reports)
    }
}
