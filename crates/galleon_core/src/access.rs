//! Disk access URLs (`beginGetAccess` / `endGetAccess`): a Read URL serves the disk as a fixed
//! VHD with Range support; a Write URL (for `createOption: Upload`) takes the page-blob writes
//! azcopy and the storage SDKs send. URLs carry a random secret (only its hash is stored), need
//! no bearer token, and expire.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use bytes::Bytes;
use galleon_blob::Manifest;
use galleon_blob::aligned::BufPool;
use galleon_blob::staged::{Pages, StagedUpload};
use galleon_blob::store::ChunkStore;
use galleon_model::ProvisioningState;
use galleon_model::disk::{AccessGrant, Creation, Disk, DiskState};
use galleon_model::resource::Tracked;
use galleon_store::{Batch, Expect, OpStatus, Operation, typed};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::json;

use crate::OperationInfo;
use crate::content::content_error;
use crate::disks::{DiskKind, DiskRef};
use crate::jobs::Job;
use crate::{Core, CoreError, CoreResult, now};

/// Longest access Azure grants (and galleon allows).
const MAX_ACCESS_SECONDS: i64 = 7 * 24 * 3600;

/// What an access URL opens.
pub enum AccessTarget {
    /// Read the disk's VHD.
    Read(ReadHandle),
    /// Upload pages into the disk's staged upload.
    Write(WriteHandle),
}

/// A disk's upload, open for page writes.
pub struct WriteHandle {
    unique_id: String,
    size: u64,
}

impl WriteHandle {
    /// The blob's length (the disk's `uploadSizeBytes`).
    pub fn len(&self) -> u64 {
        self.size
    }
    /// Never empty (an upload has at least 1 MiB and a footer).
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// One `PUT ?comp=page`.
pub enum PageWrite {
    /// `x-ms-page-write: update` with these bytes.
    Update(Bytes),
    /// `x-ms-page-write: clear` of this many bytes.
    Clear(u64),
}

impl PageWrite {
    fn len(&self) -> u64 {
        match self {
            PageWrite::Update(b) => b.len() as u64,
            PageWrite::Clear(n) => *n,
        }
    }
}

/// A disk's content, readable by range.
pub struct ReadHandle {
    manifest: Manifest,
    store: Arc<dyn ChunkStore>,
    modified: time::OffsetDateTime,
    region: String,
}

impl ReadHandle {
    /// Length of the VHD.
    pub fn len(&self) -> u64 {
        self.manifest.file_len()
    }
    /// Never empty (a disk has at least 1 MiB and a footer).
    pub fn is_empty(&self) -> bool {
        false
    }
    /// The digest of the content.
    pub fn digest(&self) -> String {
        self.manifest.digest()
    }
    /// When the content was made (it never changes after).
    pub fn modified(&self) -> time::OffsetDateTime {
        self.modified
    }
    /// The ranges `[start, end)` that hold data (the page list).
    pub fn data_ranges(&self) -> Vec<(u64, u64)> {
        self.manifest.data_ranges()
    }
    /// Bytes `[start, start + len)` (clamped to the end).
    pub async fn range(&self, start: u64, len: u64) -> CoreResult<Bytes> {
        let bytes = galleon_blob::export::read_range(&self.manifest, self.store.as_ref(), start, len)
            .await
            .map_err(content_error)?;
        metrics::counter!("galleon_bytes_served_total", "region" => self.region.clone()).increment(bytes.len() as u64);
        Ok(bytes)
    }
}

/// The largest page write Azure accepts (one `PUT ?comp=page`).
pub const MAX_PAGE_WRITE: usize = galleon_blob::aligned::PAGE_WRITE;

/// Warm 4 KiB-aligned buffers of [`MAX_PAGE_WRITE`] bytes for the transport to read page-write
/// bodies into: an upload hashes a page from one and writes it to disk with O_DIRECT, with no
/// other copy.
pub fn page_buffers() -> &'static BufPool {
    galleon_blob::aligned::page_buffers()
}

fn unauthorized() -> CoreError {
    crate::auth::AuthError::InvalidAccessUrl.into()
}

/// The disk kind a key names.
fn kind_of_key(key: &str) -> Option<DiskKind> {
    if key.contains("/providers/microsoft.compute/disks/") {
        Some(DiskKind::Disk)
    } else if key.contains("/providers/microsoft.compute/snapshots/") {
        Some(DiskKind::Snapshot)
    } else {
        None
    }
}

/// The path segment that names a disk in its access URL.
pub fn encode_key(key: &str) -> String {
    B64.encode(key)
}

impl Core {
    /// Grants a Read or Write URL for `seconds`; `make_url(encoded_key, secret)` builds it. The
    /// returned operation has already succeeded with `{"accessSAS": url}` as its result.
    pub async fn begin_get_access(
        &self,
        r: &DiskRef,
        access: Option<&str>,
        seconds: i64,
        make_url: impl FnOnce(&str, &str) -> String,
    ) -> CoreResult<OperationInfo> {
        let kind = r.kind.store_kind();
        let record = self.load::<Disk>(kind, &r.key()).await?.ok_or_else(|| CoreError::NotFound {
            type_path: format!("{}/{}", r.kind.type_name(), r.name),
            group: r.group.resource_group.clone(),
        })?;
        let Some(access) = access else {
            return Err(
                galleon_model::Invalid::param("access", "The 'access' parameter is required: Read or Write.").into()
            );
        };
        let write = match access.to_ascii_lowercase().as_str() {
            "read" => false,
            "write" => true,
            _ => {
                return Err(galleon_model::Invalid::param(
                    "access",
                    format!("access '{access}' must be Read or Write."),
                )
                .into());
            }
        };
        if !(1..=MAX_ACCESS_SECONDS).contains(&seconds) {
            return Err(galleon_model::Invalid::param(
                "durationInSeconds",
                format!("durationInSeconds must be between 1 and {MAX_ACCESS_SECONDS}."),
            )
            .into());
        }
        let mut value = record.value;
        let disk = &mut value.properties;
        let state_error = |why: &str| CoreError::Conflict { code: "OperationNotAllowed", message: why.to_string() };
        if write {
            if !matches!(disk.creation, Creation::Upload { .. })
                || !matches!(disk.state, DiskState::ReadyToUpload | DiskState::ActiveUpload)
            {
                return Err(state_error(
                    "Write access is only granted to a disk created with createOption Upload that is ready to upload.",
                ));
            }
            let Creation::Upload { upload_size_bytes } = disk.creation else { unreachable!() };
            let (dir, id) = (self.config().uploads_dir.clone(), disk.unique_id.clone());
            tokio::task::spawn_blocking(move || StagedUpload::create(&dir, &id, upload_size_bytes))
                .await
                .map_err(content_error)?
                .map_err(content_error)?;
            disk.state = DiskState::ActiveUpload;
        } else {
            if disk.digest.is_none() {
                return Err(state_error("The disk has no content to read yet."));
            }
            disk.state = DiskState::ActiveSas;
        }
        let mut secret = [0u8; 32];
        SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| content_error(crate::content_error::ContentError::transient("no randomness")))?;
        let secret = B64.encode(secret);
        disk.access = Some(AccessGrant {
            token_hash: blake3::hash(secret.as_bytes()).to_hex().to_string(),
            write,
            expires_at: now().unix_timestamp() + seconds,
        });
        let url = make_url(&encode_key(&r.key()), &secret);
        let mut op = self.done_operation(r, &value.location);
        op.result = Some(json!({ "accessSAS": url }));
        let batch =
            Batch::new().put(typed::doc(kind, &r.key(), None, &value), Expect::Rev(record.rev)).operation(op.clone());
        self.store().apply(batch).await?;
        Ok(op.into())
    }

    /// An operation on the disk that has already succeeded (access grants and no-op ends
    /// finish in the request itself).
    fn done_operation(&self, r: &DiskRef, location: &str) -> Operation {
        self.finished_operation(&r.group.subscription, location, &r.key(), r.kind.store_kind())
    }

    /// Revokes the access URL. For an upload, the staged bytes become the disk's content (a
    /// job validates and imports them); the returned operation finishes when that is done.
    pub async fn end_get_access(&self, r: &DiskRef) -> CoreResult<OperationInfo> {
        let kind = r.kind.store_kind();
        let record = self.load::<Disk>(kind, &r.key()).await?.ok_or_else(|| CoreError::NotFound {
            type_path: format!("{}/{}", r.kind.type_name(), r.name),
            group: r.group.resource_group.clone(),
        })?;
        let mut value = record.value;
        // An upload already being finished: this call follows that operation (one finish).
        if let Some(id) = &value.properties.finishing
            && let Some(op) = self.store().get_operation(id).await?
            && op.status == OpStatus::InProgress
        {
            return Ok(op.into());
        }
        let upload = value.properties.access.as_ref().is_some_and(|a| a.write);
        if !upload && value.properties.access.is_none() {
            // Nothing to end: answer Succeeded without touching the disk.
            let op = self.done_operation(r, &value.location);
            self.store().apply(Batch::new().operation(op.clone())).await?;
            return Ok(op.into());
        }
        value.properties.access = None;
        let job = if upload {
            Job::FinishUpload { kind: kind.as_str().into() }
        } else {
            Job::Provision { kind: kind.as_str().into() }
        };
        let mut op = self.new_operation(&r.group.subscription, &value.location, &r.key(), &job);
        if upload {
            value.provisioning_state = ProvisioningState::Updating;
            value.properties.finishing = Some(op.id.clone());
        } else {
            if value.properties.state == DiskState::ActiveSas {
                value.properties.state = DiskState::Unattached;
            }
            op.status = OpStatus::Succeeded;
            op.end_time = Some(now());
        }
        let batch =
            Batch::new().put(typed::doc(kind, &r.key(), None, &value), Expect::Rev(record.rev)).operation(op.clone());
        self.store().apply(batch).await?;
        self.wake.notify_one();
        Ok(op.into())
    }

    /// Opens an access URL: checks its secret and expiry.
    pub async fn open_access(&self, encoded_key: &str, secret: &str) -> CoreResult<AccessTarget> {
        let key = B64.decode(encoded_key).ok().and_then(|k| String::from_utf8(k).ok()).ok_or_else(unauthorized)?;
        let kind = kind_of_key(&key).ok_or_else(unauthorized)?;
        let record: Tracked<Disk> = self.load::<Disk>(kind.store_kind(), &key).await?.ok_or_else(unauthorized)?.value;
        let grant = record.properties.access.as_ref().ok_or_else(unauthorized)?;
        let presented = blake3::hash(secret.as_bytes());
        let stored = blake3::Hash::from_hex(&grant.token_hash).map_err(|_| unauthorized())?;
        if presented != stored || now().unix_timestamp() >= grant.expires_at {
            return Err(unauthorized());
        }
        if grant.write {
            let Creation::Upload { upload_size_bytes } = record.properties.creation else { return Err(unauthorized()) };
            let unique_id = record.properties.unique_id.clone();
            return Ok(AccessTarget::Write(WriteHandle { unique_id, size: upload_size_bytes }));
        }
        let digest = record.properties.digest.as_deref().ok_or_else(unauthorized)?;
        let manifest = self.load_manifest(&record.location, digest).await?;
        let modified = record.created_at;
        let store = self.chunks(&record.location)?;
        Ok(AccessTarget::Read(ReadHandle { manifest, store, modified, region: record.location.clone() }))
    }

    /// Writes uploaded pages at `offset` of a disk's upload (512-byte aligned, within its size).
    pub async fn write_pages(&self, upload: &WriteHandle, offset: u64, pages: PageWrite) -> CoreResult<()> {
        let (size, end) = (upload.size, offset + pages.len());
        if !offset.is_multiple_of(512) || !pages.len().is_multiple_of(512) || end > size {
            return Err(galleon_model::Invalid::param(
                "x-ms-range",
                format!(
                    "The page range {offset}-{} must be 512-byte aligned and within the {size}-byte blob.",
                    end.saturating_sub(1)
                ),
            )
            .into());
        }
        let (dir, id) = (self.config().uploads_dir.clone(), upload.unique_id.clone());
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let staged = StagedUpload::open(&dir, &id, size)?;
            match &pages {
                PageWrite::Update(data) => staged.write(offset, Pages::Data(data)),
                PageWrite::Clear(len) => staged.write(offset, Pages::Zeros(*len)),
            }
        })
        .await
        .map_err(content_error)?
        .map_err(content_error)
    }
}
