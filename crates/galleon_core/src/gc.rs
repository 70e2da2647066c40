//! Garbage collection: chunks no manifest references are deleted, once older than a grace
//! period.
//!
//! What is referenced: every manifest named by a disk, snapshot, managed image or image version,
//! and the chunks those manifests list, per region. A manifest in a region reads its chunks
//! through every store of the region (a disk made from a version shares the version's manifest,
//! wherever the replica is), so a chunk is kept in *every* store of a region when any manifest of
//! that region names it, whichever store the manifest itself sits in. Two rules keep live data
//! safe:
//! - the collector holds the content lock exclusively, so no content job runs meanwhile on any
//!   node (a job that dedupes against an old unreferenced chunk cannot have it deleted under it);
//! - chunks younger than the grace period are kept, which protects what an interrupted or queued
//!   import wrote before its manifest exists.
//!
//! The content lock is the metadata store's: in-process for SQLite (one server owns it), a
//! PostgreSQL advisory lock held by a session when several nodes share a database.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use galleon_blob::{ChunkId, Manifest};
use galleon_model::disk::Disk;
use galleon_model::image_version::ImageVersion;
use galleon_model::managed_image::ManagedImage;
use galleon_model::resource::Tracked;
use galleon_store::{Kind, typed};
use serde::de::DeserializeOwned;

use crate::content::content_error;
use crate::{Core, CoreResult};

/// What one collection did in one store.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GcReport {
    /// Region and store (`eastus/standard_lrs-1`).
    pub store: String,
    /// Chunks in the store before.
    pub chunks: usize,
    /// Chunks referenced (manifests included).
    pub referenced: usize,
    /// Unreferenced chunks deleted.
    pub deleted: usize,
    /// Their bytes.
    pub bytes_deleted: u64,
    /// Unreferenced chunks kept because they are younger than the grace period.
    pub young: usize,
}

impl Core {
    pub(crate) async fn all_of<T: DeserializeOwned>(&self, kind: Kind) -> CoreResult<Vec<Tracked<T>>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = typed::list::<Tracked<T>>(self.store(), kind, "/subscriptions/", after.as_deref(), 500).await?;
            let last = page.last().map(|(k, _)| k.clone());
            let full = page.len() == 500;
            out.extend(page.into_iter().map(|(_, r)| r.value));
            match last {
                Some(k) if full => after = Some(k),
                _ => return Ok(out),
            }
        }
    }

    /// Per region, every manifest digest something there needs: disks, snapshots and managed
    /// images in their location; image versions in each of their current target regions (so the
    /// replicas of a removed region become garbage).
    async fn referenced_digests(&self) -> CoreResult<HashMap<String, HashSet<String>>> {
        let mut by_region: HashMap<String, HashSet<String>> = HashMap::new();
        for kind in [Kind::Disk, Kind::Snapshot] {
            for d in self.all_of::<Disk>(kind).await? {
                by_region.entry(d.location).or_default().extend(d.properties.digest);
            }
        }
        for img in self.all_of::<ManagedImage>(Kind::ManagedImage).await? {
            let p = img.properties;
            let digests =
                std::iter::once(p.os_disk).chain(p.data_disks.into_iter().map(|(_, d)| d)).filter_map(|d| d.digest);
            by_region.entry(img.location).or_default().extend(digests);
        }
        for v in self.all_of::<ImageVersion>(Kind::Version).await? {
            let p = v.properties;
            let digests: Vec<String> = p
                .storage
                .os_disk
                .into_iter()
                .chain(p.storage.data_disks.into_iter().map(|d| d.disk))
                .filter_map(|d| d.digest)
                .collect();
            for region in std::iter::once(v.location).chain(p.publishing.target_regions.into_iter().map(|t| t.name)) {
                by_region.entry(region).or_default().extend(digests.iter().cloned());
            }
        }
        Ok(by_region)
    }

    /// Deletes unreferenced chunks older than `grace` in every region store.
    pub async fn collect_garbage(&self, grace: Duration) -> CoreResult<Vec<GcReport>> {
        let _exclusive = self.cluster_lock(crate::jobs::CONTENT_LOCK, galleon_store::LockMode::Exclusive).await?;
        let by_region = self.referenced_digests().await?;
        let none = HashSet::new();
        let cutoff = SystemTime::now() - grace;
        let mut reports = Vec::new();
        for (region, stores) in &self.config().chunk_stores {
            // Every chunk any manifest of the region names, read through the region's stores.
            let view = self.chunks(region)?;
            let mut referenced: HashSet<ChunkId> = HashSet::new();
            for digest in by_region.get(region).unwrap_or(&none) {
                let Ok(id) = digest.parse::<ChunkId>() else { continue };
                let bytes = match view.get(id).await {
                    Ok(bytes) => bytes,
                    // Not in this region (yet): nothing here to keep for it.
                    Err(galleon_blob::store::ChunkError::NotFound(_)) => continue,
                    Err(e) => return Err(content_error(e)),
                };
                referenced.insert(id);
                referenced.extend(Manifest::decode(&bytes).map_err(content_error)?.referenced());
            }
            for rs in stores {
                let store = &rs.store;
                let all = store.list().await.map_err(content_error)?;
                let mut report = GcReport {
                    store: format!("{region}/{}", rs.name),
                    chunks: all.len(),
                    referenced: all.iter().filter(|id| referenced.contains(id)).count(),
                    ..Default::default()
                };
                for id in all.into_iter().filter(|id| !referenced.contains(id)) {
                    match store.written_at(id).await.map_err(content_error)? {
                        Some(t) if t <= cutoff => {
                            let size = store.size(id).await.map_err(content_error)?.unwrap_or(0);
                            store.delete(id).await.map_err(content_error)?;
                            report.deleted += 1;
                            report.bytes_deleted += size;
                        }
                        Some(_) => report.young += 1,
                        None => {}
                    }
                }
                store.sync().await.map_err(content_error)?;
                reports.push(report);
            }
        }
        Ok(reports)
    }
}
