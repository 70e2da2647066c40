//! Replicating an image version to one target region: its manifests and every chunk they name,
//! onto `regionalReplicaCount` distinct stores of the requested storage type. Only chunks a
//! store lacks are copied (a version that mostly matches an earlier one moves only the delta);
//! a chunk is hard-linked when source and target keep files on one filesystem (unless real
//! copies are configured), copied server-side between stores of one object-store container or
//! bucket, and streamed otherwise, verified on read; a few at a time. Progress (bytes done
//! over bytes needed) is written to the version as chunks land, so pollers see it move.

use std::sync::Arc;

use futures_util::StreamExt;

use galleon_blob::store::ChunkStore;
use galleon_blob::{CHUNK_SIZE, ChunkId, Manifest};
use galleon_model::image_version::{ImageVersion, TransferProgress};
use galleon_model::resource::Tracked;
use galleon_model::states::ReplicationState;
use galleon_store::{Batch, Expect, Kind, typed};

use crate::content::content_error;
use crate::{Core, CoreError, CoreResult};

/// A version being replicated, with its revision, shared by the regions copying it.
pub(crate) type Shared = tokio::sync::Mutex<(Tracked<ImageVersion>, i64)>;

/// How many regions of one version copy at once.
pub(crate) const REGION_WORKERS: usize = 3;

/// How many chunk copies of one region are in flight at once (object stores answer each in a
/// round trip, so one at a time would leave the link idle).
const COPY_WORKERS: usize = 8;

/// One chunk copy in flight.
type CopyFuture = std::pin::Pin<Box<dyn Future<Output = Result<bool, galleon_blob::store::ChunkError>> + Send>>;

/// How many chunks between two progress writes, at most.
const PROGRESS_EVERY: usize = 64;
/// How long between two progress writes, at most (so small or slow copies show a rate too).
const PROGRESS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

fn now_ms() -> i64 {
    (crate::now().unix_timestamp_nanos() / 1_000_000) as i64
}

impl Core {
    /// Sets region `idx`'s state and progress and writes the version (the regions of one version
    /// replicate concurrently, so they share it behind a lock).
    async fn save_progress(
        &self,
        key: &str,
        shared: &Shared,
        idx: usize,
        state: ReplicationState,
        progress: u8,
        transfer: Option<TransferProgress>,
    ) -> CoreResult<()> {
        let mut guard = shared.lock().await;
        let (value, rev) = &mut *guard;
        let status = &mut value.properties.replication[idx];
        (status.state, status.progress, status.transfer) = (state, progress, transfer);
        status.details.clear();
        self.store().apply(Batch::new().put(typed::doc(Kind::Version, key, None, &*value), Expect::Rev(*rev))).await?;
        // Revisions come from a store-wide counter: read the one this write got (no one else
        // writes the version while this job holds it Creating/Updating).
        *rev = self.store().get(Kind::Version, key).await?.map_or(*rev, |d| d.rev);
        Ok(())
    }

    /// Replicates the version's content (`digests`, held in `location`) to target region `idx`.
    pub(crate) async fn replicate_region(
        &self,
        key: &str,
        shared: &Shared,
        idx: usize,
        digests: &[String],
        location: &str,
    ) -> CoreResult<()> {
        let (region, target) = {
            let guard = shared.lock().await;
            let v = &guard.0.properties;
            let region = v.replication[idx].region.clone();
            (region.clone(), v.publishing.target_regions.iter().find(|t| t.name == region).cloned())
        };
        let Some(target) = target else {
            return Ok(());
        };
        let stores: Vec<Arc<dyn ChunkStore>> = self.replica_stores(&target)?.into_iter().map(|s| s.store).collect();
        if stores.len() < target.regional_replica_count as usize {
            return Err(CoreError::Conflict {
                code: "RegionUnavailable",
                message: format!(
                    "Region '{region}' no longer has {} stores of type {}.",
                    target.regional_replica_count,
                    target.storage_account_type.as_str()
                ),
            });
        }
        let source = self.any_store_from(location);

        // What each replica store lacks.
        let mut manifests = Vec::new();
        for digest in digests {
            let id: ChunkId = crate::content_error::parse_digest(digest).map_err(content_error)?;
            let m = Manifest::decode(&source.get(id).await.map_err(content_error)?).map_err(content_error)?;
            manifests.push((id, m));
        }
        let mut referenced: Vec<ChunkId> = manifests.iter().flat_map(|(_, m)| m.referenced()).collect();
        referenced.sort();
        referenced.dedup();
        let mut work = Vec::new();
        for (si, store) in stores.iter().enumerate() {
            work.extend(store.lacking(&referenced).await.map_err(content_error)?.into_iter().map(|id| (si, id)));
        }
        work.sort();

        let total = work.len().max(1) as u64 * CHUNK_SIZE;
        let started = now_ms();
        let mut transfer = (!work.is_empty()).then_some(TransferProgress {
            bytes_done: 0,
            bytes_needed: work.len() as u64 * CHUNK_SIZE,
            started_ms: started,
            updated_ms: started,
        });
        self.save_progress(
            key,
            shared,
            idx,
            ReplicationState::Replicating,
            if work.is_empty() { 99 } else { 0 },
            transfer,
        )
        .await?;
        let mut saved = std::time::Instant::now();
        let link = self.config().link_copies;
        let copy = |store: Arc<dyn ChunkStore>, id: ChunkId| {
            let source = source.clone();
            let fut: CopyFuture = Box::pin(async move {
                match source.local_path(id).filter(|_| link) {
                    Some(path) => store.put_file(id, &path).await,
                    // Server-side when both stores live in one object-store service; streamed
                    // (and verified) otherwise.
                    None => store.copy_from(&*source, id).await,
                }
            });
            fut
        };
        let jobs: Vec<CopyFuture> = work.iter().map(|&(si, id)| copy(stores[si].clone(), id)).collect();
        let mut copies = futures_util::stream::iter(jobs).buffer_unordered(COPY_WORKERS);
        let mut copied = 0usize;
        let replicated = metrics::counter!("galleon_bytes_replicated_total", "region" => region.clone());
        while let Some(result) = copies.next().await {
            result.map_err(content_error)?;
            copied += 1;
            // Chunk bytes (a chunk is at most CHUNK_SIZE; server-side copies report no length).
            replicated.increment(CHUNK_SIZE);
            if copied.is_multiple_of(PROGRESS_EVERY) || saved.elapsed() >= PROGRESS_INTERVAL {
                let progress = ((copied as u64 * CHUNK_SIZE) * 100 / total).min(99) as u8;
                if let Some(t) = &mut transfer {
                    (t.bytes_done, t.updated_ms) = (copied as u64 * CHUNK_SIZE, now_ms());
                }
                self.save_progress(key, shared, idx, ReplicationState::Replicating, progress, transfer).await?;
                saved = std::time::Instant::now();
            }
        }
        drop(copies);
        // Manifests last: a store names a disk only once it holds every chunk of it.
        for store in &stores {
            store.sync().await.map_err(content_error)?;
            for (id, _) in &manifests {
                if !store.has(*id).await.map_err(content_error)? {
                    store.put(*id, source.get(*id).await.map_err(content_error)?).await.map_err(content_error)?;
                }
            }
            store.sync().await.map_err(content_error)?;
        }
        Ok(())
    }
}
