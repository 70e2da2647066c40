//! Disk content in the region stores: manifests are stored as chunks too (their id is their
//! digest), so a region store holds everything needed to serve a disk.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use galleon_blob::ingest::{Format, IngestStats, ingest_file, ingest_open};
use galleon_blob::staged::StagedUpload;
use galleon_blob::store::ChunkStore;
use galleon_blob::{ChunkId, Manifest};

use crate::imports::ImportSource;
use crate::jobs::JobError;
use crate::{Core, CoreError, CoreResult};

/// What an ingest reads: a file of galleon's own (staged upload or fetch) or one already opened
/// and checked.
pub(crate) enum IngestInput {
    /// A path galleon wrote itself.
    Path(PathBuf),
    /// An import source, opened when it was checked.
    Open(std::fs::File),
}

/// Downloads an image from an http(s) URL into a local file. The binary supplies one; the core
/// stays free of any HTTP client.
#[async_trait::async_trait]
pub trait Fetcher: Send + Sync {
    /// Writes the object at `url` to `dest` (sparsely: all-zero ranges may be left unwritten);
    /// returns its length.
    async fn fetch(&self, url: &str, dest: &std::path::Path) -> Result<u64, String>;
}

/// How many worker threads hash an import (this machine class has two cores).
const INGEST_WORKERS: usize = 2;

/// Content work failed: the error, with its kind.
pub(crate) fn content_error(e: impl Into<crate::content_error::ContentError>) -> CoreError {
    CoreError::Content(e.into())
}

impl Core {
    /// A region's stores seen as one (reads find a chunk in any of them; writes go to the primary).
    pub(crate) fn chunks(&self, region: &str) -> CoreResult<Arc<dyn ChunkStore>> {
        let stores = self.region_stores(region)?;
        Ok(Arc::new(crate::regions::RegionView { stores: stores.iter().map(|s| s.store.clone()).collect() }))
    }

    /// Every store, `first`'s region before the others: where replication finds a chunk (a
    /// later region may copy from any store that already holds it).
    pub(crate) fn any_store_from(&self, first: &str) -> Arc<dyn ChunkStore> {
        let stores = self.config().chunk_stores.iter();
        let (mine, others): (Vec<_>, Vec<_>) = stores.partition(|(region, _)| region.as_str() == first);
        let stores =
            mine.into_iter().chain(others).flat_map(|(_, list)| list.iter().map(|s| s.store.clone())).collect();
        Arc::new(crate::regions::RegionView { stores })
    }

    /// A region's stores.
    /// The stores that hold a target region's replicas: the first `regionalReplicaCount` of its
    /// storage type (fewer when the region no longer has that many).
    pub(crate) fn replica_stores(
        &self,
        target: &galleon_model::image_version::TargetRegion,
    ) -> CoreResult<Vec<crate::regions::RegionStore>> {
        Ok(self
            .region_stores(&target.name)?
            .iter()
            .filter(|s| s.kind == target.storage_account_type)
            .take(target.regional_replica_count as usize)
            .cloned()
            .collect())
    }

    pub(crate) fn region_stores(&self, region: &str) -> CoreResult<&[crate::regions::RegionStore]> {
        match self.config().chunk_stores.get(region) {
            Some(stores) if !stores.is_empty() => Ok(stores),
            _ => Err(CoreError::Conflict {
                code: "RegionUnavailable",
                message: format!("The region '{region}' has no store configured."),
            }),
        }
    }

    /// Stores a manifest in a region; returns its digest.
    pub(crate) async fn save_manifest(&self, region: &str, m: &Manifest) -> CoreResult<String> {
        let encoded = Bytes::from(m.encode());
        let id = ChunkId::of(&encoded);
        let store = self.chunks(region)?;
        store.put(id, encoded).await.map_err(content_error)?;
        store.sync().await.map_err(content_error)?;
        Ok(id.to_hex())
    }

    /// Reads a manifest from a region.
    pub async fn load_manifest(&self, region: &str, digest: &str) -> CoreResult<Manifest> {
        let id: ChunkId = crate::content_error::parse_digest(digest).map_err(content_error)?;
        let bytes = self.chunks(region)?.get(id).await.map_err(content_error)?;
        Manifest::decode(&bytes).map_err(content_error)
    }

    /// Checks an import URL against the allow-list; a file is opened here (see `imports`).
    pub(crate) fn allowed_import(&self, uri: &str) -> Result<ImportSource, String> {
        crate::imports::open_allowed(uri, &self.config().import_allow, self.config().fetcher.is_some())
    }

    /// Imports an image file into a region's store (on a blocking thread).
    pub(crate) async fn ingest(
        &self,
        region: &str,
        input: IngestInput,
        format: Format,
    ) -> CoreResult<(Manifest, IngestStats)> {
        let store = self.chunks(region)?;
        let rt = tokio::runtime::Handle::current();
        let (manifest, stats) = tokio::task::spawn_blocking(move || match input {
            IngestInput::Path(path) => ingest_file(&path, format, store, &rt, INGEST_WORKERS),
            IngestInput::Open(file) => ingest_open(file, format, store, &rt, INGEST_WORKERS),
        })
        .await
        .map_err(content_error)?
        .map_err(content_error)?;
        metrics::counter!("galleon_bytes_imported_total", "region" => region.to_string()).increment(stats.bytes_read);
        Ok((manifest, stats))
    }

    /// Opens a disk's staged upload of `size` bytes (an earlier release's staging file is adopted).
    pub(crate) async fn staged_upload(&self, unique_id: &str, size: u64) -> CoreResult<StagedUpload> {
        let (dir, id) = (self.config().uploads_dir.clone(), unique_id.to_string());
        tokio::task::spawn_blocking(move || StagedUpload::open(&dir, &id, size))
            .await
            .map_err(content_error)?
            .map_err(content_error)
    }

    /// Stores a staged upload in a region's store (on a blocking thread): the chunks kept as they
    /// arrived are linked or copied in; staged bytes are read and hashed.
    pub(crate) async fn finish_staged(
        &self,
        region: &str,
        staged: StagedUpload,
    ) -> CoreResult<(Manifest, IngestStats)> {
        let store = self.chunks(region)?;
        let rt = tokio::runtime::Handle::current();
        let (manifest, stats) = tokio::task::spawn_blocking(move || staged.finish(store.as_ref(), &rt, INGEST_WORKERS))
            .await
            .map_err(content_error)?
            .map_err(content_error)?;
        metrics::counter!("galleon_bytes_imported_total", "region" => region.to_string()).increment(stats.bytes_read);
        Ok((manifest, stats))
    }

    /// Removes the staged uploads no disk waits for any more (a disk deleted in the middle of
    /// its upload, or a finish whose clean-up was cut short); returns how many. The directories
    /// are listed before the disks, so an upload that begins meanwhile is never taken for one.
    pub(crate) async fn sweep_abandoned_uploads(&self) -> CoreResult<usize> {
        let dir = self.config().uploads_dir.clone();
        let listed = dir.clone();
        let staged = tokio::task::spawn_blocking(move || galleon_blob::staged::staged_ids(&listed))
            .await
            .map_err(content_error)?
            .map_err(content_error)?;
        let mut waiting = std::collections::HashSet::new();
        for kind in [galleon_store::Kind::Disk, galleon_store::Kind::Snapshot] {
            for d in self.all_of::<galleon_model::disk::Disk>(kind).await? {
                let upload = matches!(d.properties.creation, galleon_model::disk::Creation::Upload { .. });
                if upload && d.properties.digest.is_none() {
                    waiting.insert(d.properties.unique_id);
                }
            }
        }
        let abandoned: Vec<String> = staged.into_iter().filter(|id| !waiting.contains(id)).collect();
        let removed = abandoned.len();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            for id in abandoned {
                StagedUpload::open(&dir, &id, 0)?.remove()?;
            }
            Ok(())
        })
        .await
        .map_err(content_error)?
        .map_err(content_error)?;
        Ok(removed)
    }

    /// Imports the image at an allowed URL into a region's store; returns its digest and manifest.
    /// URLs are first fetched (by ranges, sparsely) into the uploads directory.
    pub(crate) async fn import_uri(
        &self,
        region: &str,
        uri: &str,
    ) -> Result<(String, Manifest, IngestStats), JobError> {
        let source = self.allowed_import(uri).map_err(|m| JobError::Fail("ImportSourceNotAllowed".into(), m))?;
        let (input, staged) = match source {
            ImportSource::File(file) => (IngestInput::Open(file), None),
            ImportSource::Url(url) => {
                let fetcher = self.config().fetcher.clone().expect("allowed_import checked it");
                let dir = self.config().uploads_dir.clone();
                tokio::fs::create_dir_all(&dir)
                    .await
                    .map_err(|e| JobError::Fail("ImportFailed".into(), e.to_string()))?;
                let dest = dir.join(format!("fetch-{}.img", uuid::Uuid::new_v4()));
                if let Err(e) = fetcher.fetch(&url, &dest).await {
                    let _ = tokio::fs::remove_file(&dest).await;
                    let url = crate::imports::redact(&url);
                    return Err(JobError::Fail("ImportFailed".into(), format!("Fetching '{url}' failed: {e}")));
                }
                (IngestInput::Path(dest.clone()), Some(dest))
            }
        };
        let result = self.ingest(region, input, Format::Detect).await;
        if let Some(path) = staged {
            let _ = tokio::fs::remove_file(&path).await;
        }
        let (m, stats) = result?;
        let digest = self.save_manifest(region, &m).await?;
        Ok((digest, m, stats))
    }
}
