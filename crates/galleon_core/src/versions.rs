//! Image versions.

use galleon_model::image_definition::ImageDefinition;
use galleon_model::image_version::{ImageVersion, VersionRequest};
use galleon_model::resource::Tracked;
use galleon_model::{ImageRef, Invalid, VersionNumber, VersionRef};
use galleon_store::Kind;

use crate::OperationInfo;
use crate::jobs::{Accepted, Job};
use crate::resources::{Envelope, Pending};
use crate::{Core, CoreError, CoreResult, Page, PageRequest, now};

const TYPE: &str = "Microsoft.Compute/galleries/images/versions";

pub(crate) fn not_found(r: &VersionRef) -> CoreError {
    let i = &r.image;
    CoreError::NotFound {
        type_path: format!(
            "Microsoft.Compute/galleries/{}/images/{}/versions/{}",
            i.gallery.gallery, i.image, r.version
        ),
        group: i.gallery.group.resource_group.clone(),
    }
}

fn parent_display(i: &ImageRef) -> String {
    format!("{}/{}", i.gallery.gallery, i.image)
}

impl Core {
    /// PUT (`patch == false`) or PATCH an image version.
    pub async fn put_version(
        &self,
        r: &VersionRef,
        env: Envelope,
        req: crate::links::Checked<VersionRequest>,
        patch: bool,
        created_by: Option<&str>,
    ) -> CoreResult<Accepted<Tracked<ImageVersion>>> {
        let req = req.into_inner();
        self.require_group(&r.image.gallery.group).await?;
        r.version.parse::<VersionNumber>()?;
        self.require_exists(Kind::Gallery, &r.image.gallery.key(), &r.image.gallery.gallery).await?;
        let image = self.load_parent::<ImageDefinition>(Kind::Image, &r.image.key(), &parent_display(&r.image)).await?;
        let existing = self.load::<ImageVersion>(Kind::Version, &r.key()).await?;
        let location = if patch { None } else { Some(self.region(env.location.as_deref(), TYPE)?) };
        // A soft-deleted version of this name: a PUT (az's undelete) or a PATCH with `restore`
        // brings it back as it was.
        if existing.is_none()
            && (!patch || req.restore == Some(true))
            && let Some(restored) = self.restore_version(r, location.as_deref(), env.tags.clone()).await?
        {
            return Ok(restored);
        }
        if req.restore == Some(true) && existing.is_none() {
            return Err(galleon_model::Invalid::param(
                "galleryImageVersion.properties.restore",
                format!(
                    "There is no soft-deleted version '{}' to restore (or its hard deletion time has passed).",
                    r.version
                ),
            )
            .into());
        }
        let (value, previous) = match existing {
            None if patch => return Err(not_found(r)),
            None => {
                let location = location.expect("PUT has a location");
                Self::check_parent_location(&location, &image.value.location, &r.image.image)?;
                let mut properties = ImageVersion::create(req, &location, now())?;
                properties.created_by = created_by.map(str::to_string);
                if properties.uefi.is_some() {
                    galleon_model::uefi::UefiSettings::check_definition(&image.value.properties.features)?;
                }
                self.check_version_sources(&properties, &image.value.properties, &location).await?;
                let value = Self::creating(r.id(), &r.version, location, env.tags, properties);
                (value, None)
            }
            Some(old) => {
                if let Some(location) = &location {
                    Self::check_same_location(&old.value, location, &r.image.gallery.group.resource_group)?;
                }
                let properties = old.value.properties.update(req, &old.value.location, patch, now())?;
                let value = Self::updating(&old.value, properties, env.tags, patch)?;
                (value, Some(old.rev))
            }
        };
        self.check_target_regions(&value.properties)?;
        let pending = Pending {
            kind: Kind::Version,
            key: r.key(),
            unique: None,
            previous,
            value,
            parent: Some((Kind::Image, r.image.key(), image.rev)),
            job: Job::BuildVersion,
            subscription: &r.image.gallery.group.subscription,
        };
        let accepted = self.commit(pending).await?;
        if accepted.created {
            let regions: Vec<String> =
                accepted.resource.properties.publishing.target_regions.iter().map(|t| t.name.clone()).collect();
            let data = serde_json::json!({ "targetRegions": regions, "operationId": accepted.operation.id });
            self.emit("galleon.imageVersion.created", &accepted.resource.id, data).await;
        }
        Ok(accepted)
    }

    /// Every target region must be one this deployment serves, with enough stores of the
    /// requested storage type for its replica count.
    fn check_target_regions(&self, v: &ImageVersion) -> CoreResult<()> {
        for (i, region) in v.publishing.target_regions.iter().enumerate() {
            let target = format!("galleryImageVersion.properties.publishingProfile.targetRegions[{i}]");
            let Some(stores) = self.config().chunk_stores.get(&region.name) else {
                return Err(Invalid::param(
                    format!("{target}.name"),
                    format!(
                        "The target region '{}' is not available. Available regions are '{}'.",
                        region.name,
                        self.config().regions.join(",")
                    ),
                )
                .into());
            };
            let kind = region.storage_account_type;
            let available = stores.iter().filter(|s| s.kind == kind).count();
            if available == 0 {
                return Err(Invalid::param(
                    format!("{target}.storageAccountType"),
                    format!("{} storage account type is not supported in region '{}'.", kind.as_str(), region.name),
                )
                .into());
            }
            if (region.regional_replica_count as usize) > available {
                return Err(Invalid::param(
                    format!("{target}.regionalReplicaCount"),
                    format!(
                        "Region '{}' cannot hold {} replicas of type {}: it has {available} store(s) of that type.",
                        region.name,
                        region.regional_replica_count,
                        kind.as_str()
                    ),
                )
                .into());
            }
        }
        Ok(())
    }

    /// One version.
    pub async fn get_version(&self, r: &VersionRef) -> CoreResult<Tracked<ImageVersion>> {
        let explain = async {
            self.require_group(&r.image.gallery.group).await?;
            self.require_exists(Kind::Image, &r.image.key(), &parent_display(&r.image)).await?;
            Ok(not_found(r))
        };
        self.read(Kind::Version, &r.key(), explain).await
    }

    /// The versions of a definition.
    pub async fn list_versions(&self, image: &ImageRef, page: &PageRequest) -> CoreResult<Page<Tracked<ImageVersion>>> {
        let check = async {
            self.require_group(&image.gallery.group).await?;
            self.require_exists(Kind::Image, &image.key(), &parent_display(image)).await
        };
        self.list_page(Kind::Version, &format!("{}/versions/", image.key()), page, check).await
    }

    /// Starts deleting a version; `None` when absent. Refused before its end of life when the
    /// safety profile says so.
    pub async fn delete_version(&self, r: &VersionRef) -> CoreResult<Option<OperationInfo>> {
        self.require_group(&r.image.gallery.group).await?;
        let Some(existing) = self.load::<ImageVersion>(Kind::Version, &r.key()).await? else {
            return Ok(None);
        };
        Self::check_idle(&existing.value)?;
        existing.value.properties.check_delete(now())?;
        let id = existing.value.id.clone();
        if let Some(policy) = self.soft_delete_policy(&r.image.gallery).await? {
            let op = self.soft_delete_version(r, existing, policy).await?;
            self.emit("galleon.imageVersion.deleted", &id, serde_json::json!({ "softDeleted": true })).await;
            return Ok(Some(op));
        }
        let op = self
            .begin_delete(Kind::Version, &r.key(), existing, None, None, &r.image.gallery.group.subscription)
            .await?;
        self.emit("galleon.imageVersion.deleted", &id, serde_json::json!({ "softDeleted": false })).await;
        Ok(Some(op))
    }
}
