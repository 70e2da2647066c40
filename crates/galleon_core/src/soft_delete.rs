//! Soft-deleted image versions. With the gallery's `softDeletePolicy` on, deleting a version
//! moves its document from `{definition}/versions/{v}` to `{definition}/softdeleted/{v}` (one
//! atomic write): nothing that reads versions (GET, lists, `latest`, sources, shared views) sees
//! it, garbage collection still counts its chunks, and its definition cannot be deleted. A PUT of
//! the same name (az's `undelete`) or a PATCH with `restore: true` moves it back before its hard
//! deletion time; after that, garbage collection removes it for good.

use std::sync::Arc;

use galleon_model::image_version::ImageVersion;
use galleon_model::resource::Tracked;
use galleon_model::soft_delete::SoftDeletePolicy;
use galleon_model::{GalleryRef, ImageRef, ProvisioningState, VersionRef};
use galleon_store::typed::{self, Record};
use galleon_store::{Batch, Expect, Kind};

use crate::jobs::Accepted;
use crate::{Core, CoreError, CoreResult, OperationInfo, now};

/// Where a soft-deleted version is kept.
pub(crate) fn soft_key(r: &VersionRef) -> String {
    format!("{}/softdeleted/{}", r.image.key(), r.version.to_ascii_lowercase())
}

/// Whether a version document is a soft-deleted one.
pub(crate) fn is_soft_key(key: &str) -> bool {
    key.contains("/softdeleted/")
}

impl Core {
    /// The gallery's soft-delete policy, when it is on.
    pub(crate) async fn soft_delete_policy(&self, g: &GalleryRef) -> CoreResult<Option<SoftDeletePolicy>> {
        let gallery = self.load::<galleon_model::gallery::Gallery>(Kind::Gallery, &g.key()).await?;
        Ok(gallery.and_then(|g| g.value.properties.soft_delete).filter(|p| p.enabled))
    }

    /// Soft-deletes a version: moved aside with its deletion times, content kept. The answer is
    /// an operation that has already succeeded.
    pub(crate) async fn soft_delete_version(
        &self,
        r: &VersionRef,
        existing: Record<Tracked<ImageVersion>>,
        policy: SoftDeletePolicy,
    ) -> CoreResult<OperationInfo> {
        let mut value = existing.value;
        value.properties.soft_deleted = Some(policy.deletion(now()));
        let op = self.finished_operation(&r.image.gallery.group.subscription, &value.location, &r.key(), Kind::Version);
        let batch = Batch::new()
            .delete(Kind::Version, r.key(), Expect::Rev(existing.rev))
            .put(typed::doc(Kind::Version, &soft_key(r), None, &value), Expect::Any)
            .operation(op.clone());
        self.store().apply(batch).await?;
        Ok(op.into())
    }

    /// Restores a soft-deleted version named by a PUT (in `location`, when given) or a PATCH
    /// with `restore`; `None` when there is none to restore.
    pub(crate) async fn restore_version(
        &self,
        r: &VersionRef,
        location: Option<&str>,
        tags: Option<galleon_model::Tags>,
    ) -> CoreResult<Option<Accepted<Tracked<ImageVersion>>>> {
        let Some(found) = self.load::<ImageVersion>(Kind::Version, &soft_key(r)).await? else { return Ok(None) };
        let deletion = found.value.properties.soft_deleted;
        if deletion.is_none_or(|d| !d.restorable(now())) {
            return Ok(None);
        }
        if let Some(location) = location {
            Self::check_same_location(&found.value, location, &r.image.gallery.group.resource_group)?;
        }
        let mut value = found.value;
        value.properties.soft_deleted = None;
        value.provisioning_state = ProvisioningState::Succeeded;
        if let Some(tags) = tags {
            value.tags = tags;
        }
        let op = self.finished_operation(&r.image.gallery.group.subscription, &value.location, &r.key(), Kind::Version);
        let batch = Batch::new()
            .delete(Kind::Version, soft_key(r), Expect::Rev(found.rev))
            .put(typed::doc(Kind::Version, &r.key(), None, &value), Expect::Absent)
            .operation(op.clone());
        self.store().apply(batch).await?;
        Ok(Some(Accepted { resource: value, created: false, operation: op.into() }))
    }

    /// The soft-deleted versions of a definition (`…/softDeletedArtifactTypes/Images/artifacts/{i}/versions`).
    pub async fn list_soft_deleted_versions(&self, image: &ImageRef) -> CoreResult<Vec<Arc<Tracked<ImageVersion>>>> {
        self.require_group(&image.gallery.group).await?;
        self.require_exists(Kind::Gallery, &image.gallery.key(), &image.gallery.gallery).await?;
        let prefix = format!("{}/softdeleted/", image.key());
        let rows = typed::list::<Tracked<ImageVersion>>(self.store(), Kind::Version, &prefix, None, usize::MAX).await?;
        Ok(rows.into_iter().map(|(_, r)| Arc::new(r.value)).collect())
    }

    /// Deletes a soft-deleted version for good; false when there was none.
    pub async fn hard_delete_version(&self, r: &VersionRef) -> CoreResult<bool> {
        self.require_group(&r.image.gallery.group).await?;
        let Some(found) = self.load::<ImageVersion>(Kind::Version, &soft_key(r)).await? else { return Ok(false) };
        self.store().apply(Batch::new().delete(Kind::Version, soft_key(r), Expect::Rev(found.rev))).await?;
        Ok(true)
    }

    /// Removes the soft-deleted versions past their hard deletion time (garbage collection then
    /// takes their chunks). Returns how many.
    pub(crate) async fn purge_soft_deleted(&self) -> CoreResult<usize> {
        self.purge_soft_deleted_at(now()).await
    }

    /// As the garbage collection does it, as if it were `at` (tests look into the future).
    pub async fn purge_soft_deleted_at(&self, at: time::OffsetDateTime) -> CoreResult<usize> {
        let mut purged = 0;
        let mut after: Option<String> = None;
        loop {
            let page = self.store().list(Kind::Version, "/subscriptions/", after.as_deref(), 500).await?;
            let full = page.len() == 500;
            after = page.last().map(|d| d.key.clone());
            for doc in page.iter().filter(|d| is_soft_key(&d.key)) {
                let v = typed::decode_ref::<Tracked<ImageVersion>>(doc)?;
                if v.value.properties.soft_deleted.is_some_and(|d| !d.restorable(at)) {
                    let batch = Batch::new().delete(Kind::Version, doc.key.clone(), Expect::Rev(doc.rev));
                    match self.store().apply(batch).await {
                        Ok(()) => purged += 1,
                        Err(galleon_store::StoreError::Conflict { .. }) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            if !full {
                return Ok(purged);
            }
        }
    }

    /// A definition with soft-deleted versions cannot go (Azure's rule): the 409 names them.
    pub(crate) async fn refuse_if_soft_deleted(&self, image: &ImageRef) -> CoreResult<()> {
        let prefix = format!("{}/softdeleted/", image.key());
        let found = self.store().list(Kind::Version, &prefix, None, 3).await?;
        if found.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = found.iter().filter_map(|d| d.body.get("name").and_then(|n| n.as_str())).collect();
        Err(CoreError::Conflict {
            code: "CannotDeleteResource",
            message: format!(
                "The image definition '{}' has soft-deleted versions ({}): restore or hard-delete them, or wait until their hard deletion time, before deleting it.",
                image.image,
                names.join(", ")
            ),
        })
    }
}
