//! Image definitions.

use galleon_model::ImageRef;
use galleon_model::gallery::Gallery;
use galleon_model::image_definition::{DefinitionRequest, ImageDefinition};
use galleon_model::names::validate_image_definition_name;
use galleon_model::resource::Tracked;
use galleon_store::Kind;

use crate::OperationInfo;
use crate::jobs::{Accepted, Job};
use crate::resources::{Envelope, Pending};
use crate::{Core, CoreError, CoreResult, Page, PageRequest, now};

const TYPE: &str = "Microsoft.Compute/galleries/images";

pub(crate) fn not_found(r: &ImageRef) -> CoreError {
    CoreError::NotFound {
        type_path: format!("Microsoft.Compute/galleries/{}/images/{}", r.gallery.gallery, r.image),
        group: r.gallery.group.resource_group.clone(),
    }
}

fn duplicate(name: &str, d: &ImageDefinition) -> (String, String) {
    let i = &d.identifier;
    (
        i.key(),
        format!(
            "Gallery image: {name} identified by (publisher:{}, offer:{}, sku:{}) already exists. Choose a different publisher, offer, sku combination.",
            i.publisher, i.offer, i.sku
        ),
    )
}

impl Core {
    /// PUT (`patch == false`) or PATCH an image definition.
    pub async fn put_image(
        &self,
        r: &ImageRef,
        env: Envelope,
        req: DefinitionRequest,
        patch: bool,
    ) -> CoreResult<Accepted<Tracked<ImageDefinition>>> {
        self.require_group(&r.gallery.group).await?;
        validate_image_definition_name(&r.image)?;
        let gallery = self.load_parent::<Gallery>(Kind::Gallery, &r.gallery.key(), &r.gallery.gallery).await?;
        let existing = self.load::<ImageDefinition>(Kind::Image, &r.key()).await?;
        let location = if patch { None } else { Some(self.region(env.location.as_deref(), TYPE)?) };
        let (value, previous) = match existing {
            None if patch => return Err(not_found(r)),
            None => {
                let location = location.expect("PUT has a location");
                Self::check_parent_location(&location, &gallery.value.location, &r.gallery.gallery)?;
                let value = Self::creating(r.id(), &r.image, location, env.tags, ImageDefinition::create(req, now())?);
                (value, None)
            }
            Some(old) => {
                if let Some(location) = &location {
                    Self::check_same_location(&old.value, location, &r.gallery.group.resource_group)?;
                }
                let properties = old.value.properties.update(req, patch, now())?;
                let value = Self::updating(&old.value, properties, env.tags, patch)?;
                (value, Some(old.rev))
            }
        };
        let unique = Some(duplicate(&r.image, &value.properties));
        let pending = Pending {
            kind: Kind::Image,
            key: r.key(),
            unique,
            previous,
            value,
            parent: Some((Kind::Gallery, r.gallery.key(), gallery.rev)),
            job: Job::Provision { kind: Kind::Image.as_str().into() },
            subscription: &r.gallery.group.subscription,
        };
        self.commit(pending).await
    }

    /// One image definition.
    pub async fn get_image(&self, r: &ImageRef) -> CoreResult<Tracked<ImageDefinition>> {
        let explain = async {
            self.require_group(&r.gallery.group).await?;
            self.require_exists(Kind::Gallery, &r.gallery.key(), &r.gallery.gallery).await?;
            Ok(not_found(r))
        };
        self.read(Kind::Image, &r.key(), explain).await
    }

    /// The definitions of a gallery.
    pub async fn list_images(
        &self,
        gallery: &galleon_model::GalleryRef,
        page: &PageRequest,
    ) -> CoreResult<Page<Tracked<ImageDefinition>>> {
        let check = async {
            self.require_group(&gallery.group).await?;
            self.require_exists(Kind::Gallery, &gallery.key(), &gallery.gallery).await
        };
        self.list_page(Kind::Image, &format!("{}/images/", gallery.key()), page, check).await
    }

    /// Starts deleting a definition; `None` when absent. 409 while it has versions.
    pub async fn delete_image(&self, r: &ImageRef) -> CoreResult<Option<OperationInfo>> {
        self.require_group(&r.gallery.group).await?;
        let Some(existing) = self.load::<ImageDefinition>(Kind::Image, &r.key()).await? else {
            return Ok(None);
        };
        Self::check_idle(&existing.value)?;
        self.refuse_if_soft_deleted(r).await?;
        self.refuse_if_children(Kind::Version, &format!("{}/", r.key())).await?;
        let unique = Some(existing.value.properties.identifier.key());
        Ok(Some(
            self.begin_delete(
                Kind::Image,
                &r.key(),
                existing,
                unique,
                Some(Kind::Version),
                &r.gallery.group.subscription,
            )
            .await?,
        ))
    }
}
