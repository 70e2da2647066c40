//! Managed disks and snapshots: create (Empty, Import, Upload, Copy, FromImage), read, list,
//! delete. Content is built by the `BuildDisk` job; a Copy in the same region, or a disk from an
//! image version, is a metadata write that shares the source's chunks.

use galleon_model::disk::{Creation, Disk, DiskRequest};
use galleon_model::names::validate_disk_name;
use galleon_model::resource::Tracked;
use galleon_model::resource_id::{ResourceId, ResourceKind};
use galleon_model::{GroupRef, Invalid};
use galleon_store::Kind;

use crate::OperationInfo;
use crate::jobs::{Accepted, Job};
use crate::resources::{Envelope, Pending};
use crate::{Core, CoreError, CoreResult, Page, PageRequest};

/// Disk or snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskKind {
    /// `Microsoft.Compute/disks`
    Disk,
    /// `Microsoft.Compute/snapshots`
    Snapshot,
}

impl DiskKind {
    /// The ARM type.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Disk => "Microsoft.Compute/disks",
            Self::Snapshot => "Microsoft.Compute/snapshots",
        }
    }
    fn segment(self) -> &'static str {
        match self {
            Self::Disk => "disks",
            Self::Snapshot => "snapshots",
        }
    }
    pub(crate) fn store_kind(self) -> Kind {
        match self {
            Self::Disk => Kind::Disk,
            Self::Snapshot => Kind::Snapshot,
        }
    }
}

/// A disk or snapshot reference.
#[derive(Debug, Clone)]
pub struct DiskRef {
    /// Its group.
    pub group: GroupRef,
    /// Its name.
    pub name: String,
    /// Which of the two.
    pub kind: DiskKind,
}

impl DiskRef {
    /// The ARM id.
    pub fn id(&self) -> String {
        self.group.compute_id(self.kind.segment(), &self.name)
    }
    /// Canonical key.
    pub fn key(&self) -> String {
        self.id().to_ascii_lowercase()
    }
    /// The reference an id names, if it is a disk or snapshot id.
    pub fn parse(id: &str) -> Option<Self> {
        let parsed = ResourceId::parse(id)?;
        let kind = match parsed.kind()? {
            ResourceKind::Disk => DiskKind::Disk,
            ResourceKind::Snapshot => DiskKind::Snapshot,
            _ => return None,
        };
        Some(Self {
            group: GroupRef::new(&parsed.subscription, &parsed.resource_group),
            name: parsed.name().to_string(),
            kind,
        })
    }
    fn not_found(&self) -> CoreError {
        CoreError::NotFound {
            type_path: format!("{}/{}", self.kind.type_name(), self.name),
            group: self.group.resource_group.clone(),
        }
    }
}

impl Core {
    /// Creates a disk or snapshot (or, for an existing one, updates its tags).
    pub async fn put_disk(
        &self,
        r: &DiskRef,
        env: Envelope,
        req: crate::links::Checked<DiskRequest>,
    ) -> CoreResult<Accepted<Tracked<Disk>>> {
        let req = req.into_inner();
        self.require_group(&r.group).await?;
        validate_disk_name(&r.name)?;
        let location = self.region(env.location.as_deref(), r.kind.type_name())?;
        let kind = r.kind.store_kind();
        if let Some(old) = self.load::<Disk>(kind, &r.key()).await? {
            return self.retag(kind, r.key(), old, &location, &r.group, env.tags).await;
        }
        let disk = Disk::create(req, uuid::Uuid::new_v4().to_string(), r.kind == DiskKind::Snapshot)?;
        self.check_disk_source(&disk.creation, &location).await?;
        let value = Self::creating(r.id(), &r.name, location, env.tags, disk);
        let job = Job::BuildDisk { kind: kind.as_str().into() };
        let pending = Pending {
            kind,
            key: r.key(),
            unique: None,
            previous: None,
            value,
            parent: None,
            job,
            subscription: &r.group.subscription,
        };
        self.commit(pending).await
    }

    /// What can be checked about the source before accepting the request.
    async fn check_disk_source(&self, creation: &Creation, location: &str) -> CoreResult<()> {
        match creation {
            Creation::Import { source_uri, .. } => {
                self.allowed_import(source_uri).map_err(|m| Invalid::param("properties.creationData.sourceUri", m))?;
            }
            Creation::Copy { source_resource_id } => {
                self.content_of(source_resource_id, location, "properties.creationData.sourceResourceId").await?;
            }
            Creation::FromImage { image_id, lun } => {
                let (version, _) =
                    self.version_by_id(image_id, location, "properties.creationData.galleryImageReference.id").await?;
                Self::version_disk(&version, *lun, "properties.creationData.galleryImageReference.lun")?;
            }
            Creation::Empty | Creation::Upload { .. } => {}
        }
        Ok(())
    }

    /// The digest and size of an existing disk or snapshot with content, in `location`.
    pub(crate) async fn content_of(
        &self,
        id: &str,
        location: &str,
        target: &str,
    ) -> CoreResult<(String, Tracked<Disk>)> {
        let source = DiskRef::parse(id).ok_or_else(|| {
            Invalid::param(target, format!("The source id: {id} must be a managed disk or snapshot."))
        })?;
        let found = self.load::<Disk>(source.kind.store_kind(), &source.key()).await?.ok_or_else(|| {
            Invalid::param(target, format!("Source {id} is not found. Please check source exists, and is in the same region as the resource being created."))
        })?;
        if found.value.location != location {
            return Err(Invalid::param(
                target,
                format!("Source {id} is in '{}'; it must be in the same region as the resource being created ('{location}').", found.value.location),
            )
            .into());
        }
        let digest = found.value.properties.digest.clone().ok_or_else(|| {
            Invalid::param(
                target,
                format!("Source {id} has no content yet (state {}).", found.value.provisioning_state.as_str()),
            )
        })?;
        Ok((digest, found.value))
    }

    /// One disk or snapshot.
    pub async fn get_disk(&self, r: &DiskRef) -> CoreResult<Tracked<Disk>> {
        self.read(r.kind.store_kind(), &r.key(), async { self.require_group(&r.group).await.map(|()| r.not_found()) })
            .await
    }

    /// Disks or snapshots of a group, or (`group` = `None`) of the subscription.
    pub async fn list_disks(
        &self,
        subscription: &str,
        group: Option<&GroupRef>,
        kind: DiskKind,
        page: &PageRequest,
    ) -> CoreResult<Page<Tracked<Disk>>> {
        self.list_scoped(kind.store_kind(), kind.segment(), subscription, group, page).await
    }

    /// Starts deleting a disk or snapshot; `None` when absent.
    pub async fn delete_disk(&self, r: &DiskRef) -> CoreResult<Option<OperationInfo>> {
        self.require_group(&r.group).await?;
        let kind = r.kind.store_kind();
        let Some(existing) = self.load::<Disk>(kind, &r.key()).await? else {
            return Ok(None);
        };
        Self::check_idle(&existing.value)?;
        Ok(Some(self.begin_delete(kind, &r.key(), existing, None, None, &r.group.subscription).await?))
    }
}
