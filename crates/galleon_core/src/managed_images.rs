//! Managed images (`Microsoft.Compute/images`): disks and snapshots (or VHD blobs) gathered as
//! an OS disk and data disks. The build job records their content digests; the chunks are
//! shared, never copied.

use galleon_model::GroupRef;
use galleon_model::Invalid;
use galleon_model::ProvisioningState;
use galleon_model::managed_image::{ImageDisk, ImageDiskSource, ImageRequest, ManagedImage};
use galleon_model::names::validate_disk_name;
use galleon_model::resource::Tracked;
use galleon_store::{Batch, Expect, Kind, Operation, typed};

use crate::OperationInfo;
use crate::jobs::{Accepted, Job, JobError, finished};
use crate::resources::{Envelope, Pending};
use crate::{Core, CoreError, CoreResult, Page, PageRequest};

/// ARM type of managed images.
pub const IMAGE_TYPE: &str = "Microsoft.Compute/images";

fn key(group: &GroupRef, name: &str) -> String {
    group.compute_id("images", name).to_ascii_lowercase()
}

fn not_found(group: &GroupRef, name: &str) -> CoreError {
    CoreError::NotFound { type_path: format!("{IMAGE_TYPE}/{name}"), group: group.resource_group.clone() }
}

impl Core {
    /// Creates a managed image (or updates an existing one's tags).
    pub async fn put_managed_image(
        &self,
        group: &GroupRef,
        name: &str,
        env: Envelope,
        req: crate::links::Checked<ImageRequest>,
    ) -> CoreResult<Accepted<Tracked<ManagedImage>>> {
        let req = req.into_inner();
        self.require_group(group).await?;
        validate_disk_name(name)?;
        let location = self.region(env.location.as_deref(), IMAGE_TYPE)?;
        let k = key(group, name);
        if let Some(old) = self.load::<ManagedImage>(Kind::ManagedImage, &k).await? {
            return self.retag(Kind::ManagedImage, k, old, &location, group, env.tags).await;
        }
        let mut image = ManagedImage::create(req)?;
        if let Some(vm) = image.source_virtual_machine.clone() {
            // Azure captures managed images only from generalized VMs.
            let source = self.vm_source(&vm, &location, "properties.sourceVirtualMachine.id").await?;
            if source.state != galleon_model::image_definition::OsState::Generalized {
                return Err(CoreError::Conflict {
                    code: "OperationNotAllowed",
                    message: format!(
                        "The virtual machine {vm} must be generalized before an image can be captured from it."
                    ),
                });
            }
            let disk = |digest: &str, gb: u64| ImageDisk {
                source: ImageDiskSource::FromVirtualMachine,
                caching: None,
                disk_size_gb: Some(gb),
                digest: Some(digest.to_string()),
            };
            image.os_type = source.os_type.unwrap_or(image.os_type);
            image.purchase_plan = source.plan.clone();
            for (lun, digest, gb) in source.disks {
                if lun < 0 {
                    image.os_disk = disk(&digest, gb);
                } else {
                    image.data_disks.push((lun, disk(&digest, gb)));
                }
            }
        }
        let disks = std::iter::once(("properties.storageProfile.osDisk".to_string(), &image.os_disk)).chain(
            image.data_disks.iter().map(|(lun, d)| (format!("properties.storageProfile.dataDisks[lun {lun}]"), d)),
        );
        let mut plan = image.purchase_plan.clone();
        for (i, (target, disk)) in disks.enumerate() {
            let is_os = i == 0;
            match &disk.source {
                ImageDiskSource::Snapshot(id) | ImageDiskSource::ManagedDisk(id) => {
                    let (_, disk) = self.content_of(id, &location, &target).await?;
                    if is_os {
                        plan = disk.properties.purchase_plan.clone();
                    }
                }
                ImageDiskSource::BlobUri(uri) => {
                    self.allowed_import(uri).map_err(|m| Invalid::param(format!("{target}.blobUri"), m))?;
                }
                ImageDiskSource::FromVirtualMachine => {}
            }
        }
        image.purchase_plan = plan;
        let value = Self::creating(group.compute_id("images", name), name, location, env.tags, image);
        let job = Job::BuildManagedImage;
        let pending = Pending {
            kind: Kind::ManagedImage,
            key: k,
            unique: None,
            previous: None,
            value,
            parent: None,
            job,
            subscription: &group.subscription,
        };
        self.commit(pending).await
    }

    /// One managed image.
    pub async fn get_managed_image(&self, group: &GroupRef, name: &str) -> CoreResult<Tracked<ManagedImage>> {
        self.read(Kind::ManagedImage, &key(group, name), async {
            self.require_group(group).await.map(|()| not_found(group, name))
        })
        .await
    }

    /// Managed images of a group, or of the subscription.
    pub async fn list_managed_images(
        &self,
        subscription: &str,
        group: Option<&GroupRef>,
        page: &PageRequest,
    ) -> CoreResult<Page<Tracked<ManagedImage>>> {
        self.list_scoped(Kind::ManagedImage, "images", subscription, group, page).await
    }

    /// Starts deleting a managed image; `None` when absent.
    pub async fn delete_managed_image(&self, group: &GroupRef, name: &str) -> CoreResult<Option<OperationInfo>> {
        self.require_group(group).await?;
        let k = key(group, name);
        let Some(existing) = self.load::<ManagedImage>(Kind::ManagedImage, &k).await? else {
            return Ok(None);
        };
        Self::check_idle(&existing.value)?;
        Ok(Some(self.begin_delete(Kind::ManagedImage, &k, existing, None, None, &group.subscription).await?))
    }

    /// A managed image with content, by id, in `location`.
    pub(crate) async fn managed_image_by_id(
        &self,
        id: &str,
        location: &str,
        target: &str,
    ) -> CoreResult<Tracked<ManagedImage>> {
        let parsed = galleon_model::resource_id::ResourceId::parse(id)
            .filter(|r| r.kind() == Some(galleon_model::resource_id::ResourceKind::ManagedImage))
            .ok_or_else(|| Invalid::param(target, format!("The source id: {id} must either be a managed image, virtual machine or another gallery image version")))?;
        let group = GroupRef::new(&parsed.subscription, &parsed.resource_group);
        let found = self.load::<ManagedImage>(Kind::ManagedImage, &key(&group, parsed.name())).await?.ok_or_else(|| {
            Invalid::param(target, format!("Source {id} is not found. Please check source exists, and is in the same region as gallery image version being created."))
        })?;
        if found.value.location != location {
            return Err(Invalid::param(target, format!("Source {id} is not found. Please check source exists, and is in the same region as gallery image version being created.")).into());
        }
        if found.value.provisioning_state != ProvisioningState::Succeeded
            || found.value.properties.os_disk.digest.is_none()
        {
            return Err(CoreError::Conflict {
                code: "OperationNotAllowed",
                message: format!(
                    "The managed image {id} is still being created ({}); retry when it has succeeded.",
                    found.value.provisioning_state.as_str()
                ),
            });
        }
        Ok(found.value)
    }

    pub(crate) async fn job_build_managed_image(&self, op: Operation) -> Result<(), JobError> {
        let Some(record) =
            typed::get::<Tracked<ManagedImage>>(self.store(), Kind::ManagedImage, &op.resource_key).await?
        else {
            return Err(JobError::Fail("ResourceNotFound".into(), "The image was deleted before it was built.".into()));
        };
        let mut value = record.value;
        let location = value.location.clone();
        let img = &mut value.properties;
        for disk in std::iter::once(&mut img.os_disk).chain(img.data_disks.iter_mut().map(|(_, d)| d)) {
            self.resolve_image_disk(disk, &location).await?;
        }
        value.provisioning_state = ProvisioningState::Succeeded;
        let doc = typed::doc(Kind::ManagedImage, &op.resource_key, None, &value);
        self.store().apply(Batch::new().put(doc, Expect::Rev(record.rev)).operation(finished(op, None))).await?;
        Ok(())
    }

    async fn resolve_image_disk(&self, disk: &mut ImageDisk, location: &str) -> Result<(), JobError> {
        if disk.digest.is_some() {
            return Ok(());
        }
        let digest = match &disk.source {
            ImageDiskSource::Snapshot(id) | ImageDiskSource::ManagedDisk(id) => {
                self.content_of(id, location, "storageProfile").await?.0
            }
            ImageDiskSource::BlobUri(uri) => self.import_uri(location, uri).await?.0,
            // Filled in from the VM when the image was accepted (the digest is already set).
            ImageDiskSource::FromVirtualMachine => return Ok(()),
        };
        disk.disk_size_gb = Some(self.load_manifest(location, &digest).await?.size_gb());
        disk.digest = Some(digest);
        Ok(())
    }
}
