//! Scrub: re-hash every chunk in a region's stores, find chunks a stored manifest names but the
//! store lacks, and repair both from a good copy in any other store (of any region).
//!
//! Hard-linked replicas share one file, so bit rot in it affects every store linking it; a copy
//! on another filesystem (or made with `--replication-copy copy`) is what scrub can repair from.

use std::collections::HashSet;
use std::sync::Arc;

use galleon_blob::store::{ChunkError, ChunkStore};
use galleon_blob::{ChunkId, Manifest};

use galleon_store::{Batch, Expect, Kind, typed};

use crate::content::content_error;
use crate::{Core, CoreResult};

/// How far the latest scrub of a region got: written when it starts each store, about once a
/// second while it re-hashes, and when it ends (one document per region, any node answers).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScrubProgress {
    /// The scrub's operation.
    pub operation_id: String,
    /// The store being re-hashed (`region/store`).
    pub store: String,
    /// Stores finished, and in all.
    pub stores_done: usize,
    #[allow(missing_docs)]
    pub stores: usize,
    /// Chunks re-hashed in this store, and in it in all.
    pub checked: usize,
    #[allow(missing_docs)]
    pub chunks: usize,
    /// Whether the scrub has ended.
    pub done: bool,
}

fn progress_key(region: &str) -> String {
    format!("scrub-progress-{region}")
}

/// How often a running scrub records its progress.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

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

    /// The progress of the latest scrub of `region` (404 before the first).
    pub async fn scrub_progress(&self, region: &str) -> CoreResult<ScrubProgress> {
        self.region_stores(region)?;
        let found = typed::get::<ScrubProgress>(self.store(), Kind::Setting, &progress_key(region)).await?;
        found.map(|r| r.value).ok_or_else(|| crate::CoreError::OperationNotFound(format!("scrub of {region}")))
    }

    async fn record_progress(&self, region: &str, progress: &ScrubProgress) -> CoreResult<()> {
        let doc = typed::doc(Kind::Setting, &progress_key(region), None, progress);
        self.store().apply(Batch::new().put(doc, Expect::Any)).await?;
        Ok(())
    }

    /// Scrubs every store of `region` for operation `operation_id`, recording its progress.
    pub async fn scrub_region(&self, region: &str, operation_id: &str) -> CoreResult<Vec<ScrubReport>> {
        // One scrub of a region at a time on any node; beside content jobs, not during a collection.
        let _alone = self.cluster_lock(&format!("scrub/{region}"), galleon_store::LockMode::Exclusive).await?;
        let _shared = self.cluster_lock(crate::jobs::CONTENT_LOCK, galleon_store::LockMode::Shared).await?;
        let stores = self.region_stores(region)?.to_vec();
        let mut progress =
            ScrubProgress { operation_id: operation_id.to_string(), stores: stores.len(), ..Default::default() };
        let mut reports = Vec::new();
        for rs in stores {
            let store = rs.store.clone();
            let mut report = ScrubReport { store: format!("{region}/{}", rs.name), ..Default::default() };
            let ids = store.list().await.map_err(content_error)?;
            (progress.store, progress.checked, progress.chunks) = (report.store.clone(), 0, ids.len());
            self.record_progress(region, &progress).await?;
            let mut recorded = std::time::Instant::now();
            let mut needed: HashSet<ChunkId> = HashSet::new();
            for id in &ids {
                report.checked += 1;
                if recorded.elapsed() >= PROGRESS_EVERY {
                    progress.checked = report.checked;
                    self.record_progress(region, &progress).await?;
                    recorded = std::time::Instant::now();
                }
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
            let needed: Vec<ChunkId> = needed.into_iter().collect();
            for id in store.lacking(&needed).await.map_err(content_error)? {
                report.missing += 1;
                if let Some(good) = self.good_copy(id, &store).await {
                    store.put(id, good).await.map_err(content_error)?;
                    report.repaired += 1;
                }
            }
            store.sync().await.map_err(content_error)?;
            tracing::info!(store = %report.store, checked = report.checked, corrupt = report.corrupt, missing = report.missing, repaired = report.repaired, "scrubbed");
            (progress.checked, progress.stores_done) = (report.checked, progress.stores_done + 1);
            reports.push(report);
        }
        progress.done = true;
        self.record_progress(region, &progress).await?;
        Ok(reports)
    }
}
