//! Galleries.

use galleon_model::gallery::{Gallery, unique_name};
use galleon_model::names::validate_gallery_name;
use galleon_model::resource::Tracked;
use galleon_model::{GalleryRef, GroupRef};
use galleon_store::Kind;

use crate::OperationInfo;
use crate::jobs::{Accepted, Job};
use crate::resources::{Envelope, Pending};
use crate::{Core, CoreError, CoreResult, Page, PageRequest};

/// What a gallery request says besides the envelope.
#[derive(Debug, Clone, Default)]
pub struct GalleryRequest {
    /// `properties.description`.
    pub description: Option<String>,
    /// `properties.sharingProfile.permissions` (kept as it is when absent; groups change only
    /// through `share`).
    pub permissions: Option<String>,
    /// `properties.sharingProfile.communityGalleryInfo`.
    pub community: Option<galleon_model::sharing::CommunityRequest>,
    /// `properties.softDeletePolicy` (kept as it is when absent).
    pub soft_delete: Option<galleon_model::soft_delete::SoftDeleteRequest>,
}

const TYPE: &str = "Microsoft.Compute/galleries";

impl GalleryRequest {
    /// The sharing permissions (and community information) the request sets, if any.
    fn apply_sharing(&self, sharing: &mut galleon_model::sharing::Sharing) -> CoreResult<()> {
        let permissions = match (&self.permissions, &self.community) {
            (Some(p), _) => p.as_str(),
            (None, Some(_)) => "Community",
            (None, None) => return Ok(()),
        };
        let guid = uuid::Uuid::new_v4().to_string();
        Ok(sharing.set_permissions(permissions, self.community.as_ref(), &guid)?)
    }
}

fn not_found(r: &GalleryRef) -> CoreError {
    CoreError::NotFound { type_path: format!("{TYPE}/{}", r.gallery), group: r.group.resource_group.clone() }
}

impl Core {
    /// PUT (`patch == false`) or PATCH a gallery.
    pub async fn put_gallery(
        &self,
        r: &GalleryRef,
        env: Envelope,
        req: GalleryRequest,
        patch: bool,
    ) -> CoreResult<Accepted<Tracked<Gallery>>> {
        self.require_group(&r.group).await?;
        validate_gallery_name(&r.gallery)?;
        let existing = self.load::<Gallery>(Kind::Gallery, &r.key()).await?;
        let (value, previous) = match existing {
            None if patch => return Err(not_found(r)),
            None => {
                let location = self.region(env.location.as_deref(), TYPE)?;
                let mut sharing = galleon_model::sharing::Sharing::default();
                req.apply_sharing(&mut sharing)?;
                let soft_delete = req
                    .soft_delete
                    .as_ref()
                    .map(|p| galleon_model::soft_delete::SoftDeletePolicy::from_request(p, None))
                    .transpose()?;
                let properties = Gallery {
                    description: req.description,
                    unique_name: unique_name(&r.group.subscription, &r.gallery),
                    sharing,
                    soft_delete,
                };
                let value = Self::creating(r.id(), &r.gallery, location, env.tags, properties);
                (value, None)
            }
            Some(old) => {
                if !patch {
                    let location = self.region(env.location.as_deref(), TYPE)?;
                    Self::check_same_location(&old.value, &location, &r.group.resource_group)?;
                }
                let mut properties = old.value.properties.clone();
                if req.description.is_some() || !patch {
                    properties.description = req.description.clone();
                }
                req.apply_sharing(&mut properties.sharing)?;
                if let Some(p) = &req.soft_delete {
                    let current = properties.soft_delete;
                    properties.soft_delete =
                        Some(galleon_model::soft_delete::SoftDeletePolicy::from_request(p, current.as_ref())?);
                }
                (Self::updating(&old.value, properties, env.tags, patch)?, Some(old.rev))
            }
        };
        let job = Job::Provision { kind: Kind::Gallery.as_str().into() };
        let pending = Pending {
            kind: Kind::Gallery,
            key: r.key(),
            unique: None,
            previous,
            value,
            parent: None,
            job,
            subscription: &r.group.subscription,
        };
        self.commit(pending).await
    }

    /// One gallery.
    pub async fn get_gallery(&self, r: &GalleryRef) -> CoreResult<Tracked<Gallery>> {
        self.read(Kind::Gallery, &r.key(), async { self.require_group(&r.group).await.map(|()| not_found(r)) }).await
    }

    /// Galleries in a group, or (when `group` is `None`) in the whole subscription.
    pub async fn list_galleries(
        &self,
        subscription: &str,
        group: Option<&GroupRef>,
        page: &PageRequest,
    ) -> CoreResult<Page<Tracked<Gallery>>> {
        self.list_scoped(Kind::Gallery, "galleries", subscription, group, page).await
    }

    /// Starts deleting a gallery; `None` when it does not exist. 409 while it has definitions.
    pub async fn delete_gallery(&self, r: &GalleryRef) -> CoreResult<Option<OperationInfo>> {
        self.require_group(&r.group).await?;
        let Some(existing) = self.load::<Gallery>(Kind::Gallery, &r.key()).await? else {
            return Ok(None);
        };
        Self::check_idle(&existing.value)?;
        self.refuse_if_children(Kind::Image, &format!("{}/", r.key())).await?;
        Ok(Some(
            self.begin_delete(Kind::Gallery, &r.key(), existing, None, Some(Kind::Image), &r.group.subscription)
                .await?,
        ))
    }
}
