//! The jobs that give resources content: a disk from its creation option, an upload once its
//! access URL is revoked, and an image version from its sources, copied to every target region.
//! Each is idempotent: run again after a crash, it finds what is done and does the rest.

use galleon_blob::{Manifest, vhd};
use galleon_model::ProvisioningState;
use galleon_model::disk::{Creation, Disk, DiskState};
use galleon_model::image_version::{DiskImage, ImageVersion, SourceKind};
use galleon_model::resource::Tracked;
use galleon_model::states::ReplicationState;
use galleon_store::{Batch, Expect, Kind, Operation, typed};

use crate::content_error::ContentErrorKind;
use crate::jobs::{JobError, finished};
use crate::replicate::{REGION_WORKERS, Shared};
use crate::{Core, CoreError};

const GIB: u64 = 1 << 30;

impl From<CoreError> for JobError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Store(s) => s.into(),
            // The database is away: try again once it is back (nothing was written).
            CoreError::Unavailable(reason) => JobError::Retry(reason),
            CoreError::Content(c) => match c.kind {
                ContentErrorKind::Transient => JobError::Retry(c.message),
                ContentErrorKind::Missing => JobError::Fail("ContentMissing".into(), c.message),
                ContentErrorKind::Corrupt => JobError::Fail("ContentCorrupt".into(), c.message),
                ContentErrorKind::BadInput => JobError::Fail("InvalidContent".into(), c.message),
            },
            CoreError::Invalid(i) => JobError::Fail(i.code.as_str().into(), i.message),
            CoreError::Conflict { code, message } => JobError::Fail(code.into(), message),
            other => JobError::Fail("InternalError".into(), other.to_string()),
        }
    }
}

impl Core {
    pub(crate) async fn job_build_disk(&self, op: Operation, kind: Kind) -> Result<(), JobError> {
        let Some(record) = typed::get::<Tracked<Disk>>(self.store(), kind, &op.resource_key).await? else {
            return Err(JobError::Fail("ResourceNotFound".into(), "The disk was deleted before it was built.".into()));
        };
        let mut value = record.value;
        let location = value.location.clone();
        let disk = &mut value.properties;
        let digest = match disk.creation.clone() {
            Creation::Upload { .. } => None,
            Creation::Empty => {
                let size = disk.disk_size_gb.unwrap_or(1) * GIB;
                let m = Manifest {
                    virtual_size: size,
                    footer: vhd::build(size).to_vec(),
                    chunks: vec![None; Manifest::chunk_count(size)],
                };
                Some(self.save_manifest(&location, &m).await?)
            }
            Creation::Import { source_uri, .. } => {
                let (digest, _, stats) = self.import_uri(&location, &source_uri).await?;
                tracing::info!(disk = %op.resource_key, chunks = stats.chunks, read = stats.chunks_read, written = stats.chunks_written, "imported");
                Some(digest)
            }
            Creation::Copy { source_resource_id } => {
                let (digest, source) =
                    self.content_of(&source_resource_id, &location, "properties.creationData.sourceResourceId").await?;
                disk.os_type = disk.os_type.or(source.properties.os_type);
                disk.hyper_v_generation = disk.hyper_v_generation.or(source.properties.hyper_v_generation);
                disk.purchase_plan = disk.purchase_plan.clone().or(source.properties.purchase_plan.clone());
                Some(digest)
            }
            Creation::FromImage { image_id, lun } => {
                let (version, def) = self
                    .version_by_id(&image_id, &location, "properties.creationData.galleryImageReference.id")
                    .await?;
                let digest = Self::version_disk(&version, lun, "properties.creationData.galleryImageReference.lun")?;
                // A data disk carries no OS; the OS disk takes the definition's.
                if lun.is_none() {
                    disk.os_type = Some(def.properties.os_type);
                    disk.hyper_v_generation = Some(def.properties.hyper_v_generation);
                    disk.purchase_plan = def.properties.purchase_plan.clone();
                }
                Some(digest)
            }
        };
        if let Some(digest) = &digest {
            let m = self.load_manifest(&location, digest).await?;
            disk.disk_size_bytes = Some(m.virtual_size);
            disk.disk_size_gb = Some(disk.disk_size_gb.unwrap_or(0).max(m.size_gb()));
        }
        disk.digest = digest;
        value.provisioning_state = ProvisioningState::Succeeded;
        let batch = Batch::new()
            .put(typed::doc(kind, &op.resource_key, None, &value), Expect::Rev(record.rev))
            .operation(finished(op, None));
        self.store().apply(batch).await?;
        Ok(())
    }

    pub(crate) async fn job_finish_upload(&self, op: Operation, kind: Kind) -> Result<(), JobError> {
        let Some(record) = typed::get::<Tracked<Disk>>(self.store(), kind, &op.resource_key).await? else {
            return Err(JobError::Fail(
                "ResourceNotFound".into(),
                "The disk was deleted before its upload was finished.".into(),
            ));
        };
        let mut value = record.value;
        let Creation::Upload { upload_size_bytes } = value.properties.creation else {
            return Err(JobError::Fail("InvalidUpload".into(), "The disk was not created for an upload.".into()));
        };
        let staged = self.staged_upload(&value.properties.unique_id, upload_size_bytes).await?;
        let (m, _) = self.finish_staged(&value.location, staged.clone()).await.map_err(|e| match e {
            // Only bytes that are not a fixed VHD are the uploader's fault; a store that is
            // away (or another passing fault) is retried like any job's, and reported as ours.
            CoreError::Content(c) if c.kind == ContentErrorKind::BadInput => JobError::Fail(
                "InvalidUpload".into(),
                format!("The uploaded bytes are not an acceptable fixed VHD: {}", c.message),
            ),
            other => other.into(),
        })?;
        let digest = self.save_manifest(&value.location, &m).await?;
        let disk = &mut value.properties;
        disk.digest = Some(digest);
        disk.disk_size_bytes = Some(m.virtual_size);
        disk.disk_size_gb = Some(m.size_gb());
        disk.state = DiskState::Unattached;
        disk.finishing = None;
        value.provisioning_state = ProvisioningState::Succeeded;
        let batch = Batch::new()
            .put(typed::doc(kind, &op.resource_key, None, &value), Expect::Rev(record.rev))
            .operation(finished(op, None));
        self.store().apply(batch).await?;
        let _ = tokio::task::spawn_blocking(move || staged.remove()).await;
        Ok(())
    }

    /// Resolves the content of a version's disks in its own region (once), then copies it to
    /// every target region that does not have it yet.
    pub(crate) async fn job_build_version(&self, op: Operation) -> Result<(), JobError> {
        let Some(record) = typed::get::<Tracked<ImageVersion>>(self.store(), Kind::Version, &op.resource_key).await?
        else {
            return Err(JobError::Fail(
                "ResourceNotFound".into(),
                "The image version was deleted before it was built.".into(),
            ));
        };
        let mut value = record.value;
        let location = value.location.clone();
        if value.properties.storage.os_disk.as_ref().and_then(|d| d.digest.as_ref()).is_none() {
            self.resolve_version_content(&mut value.properties, &location).await?;
        }
        let v = &value.properties;
        let digests: Vec<String> = v
            .storage
            .os_disk
            .iter()
            .chain(v.storage.data_disks.iter().map(|d| &d.disk))
            .filter_map(|d| d.digest.clone())
            .collect();
        // Regions copy concurrently, at most REGION_WORKERS at a time.
        let pending: Vec<usize> = (0..value.properties.replication.len())
            .filter(|i| value.properties.replication[*i].state != ReplicationState::Completed)
            .collect();
        let key = op.resource_key.clone();
        let shared: Shared = tokio::sync::Mutex::new((value, record.rev));
        let budget = tokio::sync::Semaphore::new(REGION_WORKERS);
        let results = futures_util::future::join_all(pending.iter().map(|&idx| {
            let (shared, budget, digests, location, key) = (&shared, &budget, &digests, &location, &key);
            async move {
                let _permit = budget.acquire().await.expect("never closed");
                let result = if digests.is_empty() {
                    Ok(())
                } else {
                    self.replicate_region(key, shared, idx, digests, location).await
                };
                (idx, result, (crate::now().unix_timestamp_nanos() / 1_000_000) as i64)
            }
        }))
        .await;
        let (mut value, rev) = shared.into_inner();
        let mut failures = Vec::new();
        for (idx, result, ended_ms) in results {
            let status = &mut value.properties.replication[idx];
            match result {
                Ok(()) => {
                    status.state = ReplicationState::Completed;
                    status.progress = 100;
                    status.details.clear();
                    if let Some(t) = &mut status.transfer {
                        // Counted when the last chunk landed, so the rate is the copy's own.
                        t.bytes_done = t.bytes_needed;
                        t.updated_ms = t.updated_ms.max(ended_ms);
                    }
                }
                // A fault that may pass retries the whole job (regions already done stay done).
                Err(e @ (CoreError::Store(_) | CoreError::Unavailable(_))) => return Err(e.into()),
                // On the last attempt a region that still fails is marked Failed with its reason,
                // and the regions that worked keep their replicas.
                Err(CoreError::Content(c))
                    if c.kind == ContentErrorKind::Transient && op.attempts < crate::jobs::MAX_ATTEMPTS =>
                {
                    return Err(JobError::Retry(c.message));
                }
                Err(e) => {
                    status.state = ReplicationState::Failed;
                    status.details = e.to_string();
                    failures.push(format!("{}: {e}", status.region));
                }
            }
        }
        value.provisioning_state =
            if failures.is_empty() { ProvisioningState::Succeeded } else { ProvisioningState::Failed };
        let error = (!failures.is_empty())
            .then(|| ("ReplicationFailed".to_string(), format!("Replication failed in {}", failures.join("; "))));
        // A version built in full is signed in the same write that says so.
        let signed = match value.provisioning_state {
            ProvisioningState::Succeeded => self.provenance_doc(&value.id, &value.properties, value.created_at).await?,
            _ => None,
        };
        let doc = typed::doc(Kind::Version, &op.resource_key, None, &value);
        let mut batch = Batch::new().put(doc, Expect::Rev(rev));
        if let Some(signed) = signed {
            batch = batch.put(signed, Expect::Any);
        }
        self.store().apply(batch.operation(finished(op, error))).await?;
        // Events, once the outcome is stored: each region that completed or failed now, then
        // the version's completion.
        for (idx, status) in value.properties.replication.iter().enumerate() {
            let kind = match status.state {
                _ if !pending.contains(&idx) => continue,
                ReplicationState::Completed => "galleon.imageVersion.regionReplicated",
                ReplicationState::Failed => "galleon.imageVersion.regionFailed",
                _ => continue,
            };
            let data = serde_json::json!({
                "region": galleon_model::region::display_name(&status.region),
                "details": status.details,
                "bytesCopied": status.transfer.map(|t| t.bytes_done),
            });
            self.emit(kind, &value.id, data).await;
        }
        if value.provisioning_state == ProvisioningState::Succeeded {
            self.emit(
                "galleon.imageVersion.completed",
                &value.id,
                serde_json::json!({ "provisioningState": "Succeeded" }),
            )
            .await;
        }
        Ok(())
    }

    async fn resolve_version_content(&self, v: &mut ImageVersion, location: &str) -> Result<(), JobError> {
        let sized = |disk: &mut DiskImage, digest: String, m: &Manifest| {
            disk.digest = Some(digest);
            disk.size_in_gb = Some(m.size_gb() as u32);
        };
        match v.source_kind {
            SourceKind::Disks => {
                let disks = v.storage.os_disk.iter_mut().chain(v.storage.data_disks.iter_mut().map(|d| &mut d.disk));
                for disk in disks {
                    let Some(id) = disk.source.as_ref().and_then(|s| s.id.clone()) else { continue };
                    let (digest, _) = self.content_of(&id, location, "storageProfile").await?;
                    let m = self.load_manifest(location, &digest).await?;
                    sized(disk, digest, &m);
                }
            }
            SourceKind::Vhds => {
                let disks = v.storage.os_disk.iter_mut().chain(v.storage.data_disks.iter_mut().map(|d| &mut d.disk));
                for disk in disks {
                    let Some(uri) = disk.source.as_ref().and_then(|s| s.uri.clone()) else { continue };
                    let (digest, m, _) = self.import_uri(location, &uri).await?;
                    sized(disk, digest, &m);
                }
            }
            SourceKind::GalleryImageVersion => {
                let id = v.storage.source_id.clone().unwrap_or_default();
                let (source, _) = self.version_by_id(&id, location, "storageProfile.source.id").await?;
                let strip = |d: &DiskImage| DiskImage { source: None, ..d.clone() };
                v.storage.os_disk = source.properties.storage.os_disk.as_ref().map(strip);
                v.storage.data_disks = source
                    .properties
                    .storage
                    .data_disks
                    .iter()
                    .map(|d| galleon_model::image_version::DataDiskImage { lun: d.lun, disk: strip(&d.disk) })
                    .collect();
            }
            SourceKind::ManagedImage => {
                let id = v.storage.source_id.clone().unwrap_or_default();
                let img = self.managed_image_by_id(&id, location, "storageProfile.source.id").await?.properties;
                let disk =
                    |d: &galleon_model::managed_image::ImageDisk,
                     caching: Option<galleon_model::image_version::HostCaching>| DiskImage {
                        host_caching: caching.or(d.caching),
                        source: None,
                        size_in_gb: d.disk_size_gb.map(|g| g as u32),
                        digest: d.digest.clone(),
                    };
                let os_caching = v.storage.os_disk.as_ref().and_then(|d| d.host_caching);
                v.storage.os_disk = Some(disk(&img.os_disk, os_caching));
                v.storage.data_disks = img
                    .data_disks
                    .iter()
                    .map(|(lun, d)| galleon_model::image_version::DataDiskImage { lun: *lun, disk: disk(d, None) })
                    .collect();
            }
            SourceKind::VirtualMachine => {
                let id = v.storage.source_id.clone().or(v.storage.virtual_machine_id.clone()).unwrap_or_default();
                let disks = self.vm_source(&id, location, "storageProfile.source.id").await?.disks;
                let image = |digest: &str, gb: u64, caching| DiskImage {
                    host_caching: caching,
                    source: None,
                    size_in_gb: Some(gb as u32),
                    digest: Some(digest.to_string()),
                };
                let os_caching = v.storage.os_disk.as_ref().and_then(|d| d.host_caching);
                v.storage.os_disk =
                    disks.iter().find(|(lun, _, _)| *lun < 0).map(|(_, d, gb)| image(d, *gb, os_caching));
                v.storage.data_disks = disks
                    .iter()
                    .filter(|(lun, _, _)| *lun >= 0)
                    .map(|(lun, d, gb)| galleon_model::image_version::DataDiskImage {
                        lun: *lun,
                        disk: image(d, *gb, None),
                    })
                    .collect();
            }
        }
        Ok(())
    }
}
