//! Direct sharing: the `share` action on a gallery, and the consumer's read-only view of the
//! galleries shared with its subscription or tenant (`…/locations/{l}/sharedGalleries/…`), whose
//! `/SharedGalleries/{u}/Images/{i}[/Versions/{v}]` ids disks and VMs are made from.
//!
//! Visibility is decided here, by [`Sharing::shared_with`], and nowhere else: a gallery is seen
//! through these paths only by a caller acting in a subscription in its groups, or whose tenant
//! is in them, and only in the gallery's own region. Anything else is "not found", so probing
//! names reveals nothing.

use std::sync::Arc;

use galleon_model::gallery::{Gallery, publisher_of};
use galleon_model::image_definition::ImageDefinition;
use galleon_model::image_version::ImageVersion;
use galleon_model::resource::Tracked;
use galleon_model::resource_id::ResourceId;
use galleon_model::sharing::{ShareOperation, Sharing};
use galleon_model::{GalleryRef, GroupRef, Invalid};
use galleon_store::{Batch, Expect, Kind, typed};

use crate::{Core, CoreError, CoreResult, OperationInfo, Page, PageRequest};

/// Who is asking through the shared paths: the subscription in the URL (or the disk's), and
/// the caller's tenant.
#[derive(Debug, Clone, Copy)]
pub struct Consumer<'a> {
    /// The subscription the caller acts in.
    pub subscription: &'a str,
    /// The caller's tenant.
    pub tenant: &'a str,
    /// `sharedTo=tenant`: list what is shared with the tenant instead of the subscription.
    pub by_tenant: bool,
}

impl Consumer<'_> {
    fn sees(&self, sharing: &Sharing) -> bool {
        if self.by_tenant {
            sharing.shared_with(None, Some(self.tenant))
        } else {
            sharing.shared_with(Some(self.subscription), Some(self.tenant))
        }
    }
}

/// How a shared id names its gallery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// `/SharedGalleries/{uniqueName}`: direct sharing.
    Shared,
    /// `/CommunityGalleries/{publicName}`: a community gallery.
    Community,
}

/// A `/SharedGalleries/{u}/Images/{i}[/Versions/{v}]` or `/CommunityGalleries/…` id, split.
fn parse_shared_id(id: &str) -> Option<(Via, String, String, Option<String>)> {
    let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
    let via = match parts.first() {
        Some(g) if g.eq_ignore_ascii_case("SharedGalleries") => Via::Shared,
        Some(g) if g.eq_ignore_ascii_case("CommunityGalleries") => Via::Community,
        _ => return None,
    };
    match parts.as_slice() {
        [_, u, i, img] if i.eq_ignore_ascii_case("Images") => Some((via, u.to_string(), img.to_string(), None)),
        [_, u, i, img, v, ver] if i.eq_ignore_ascii_case("Images") && v.eq_ignore_ascii_case("Versions") => {
            Some((via, u.to_string(), img.to_string(), Some(ver.to_string())))
        }
        _ => None,
    }
}

/// Whether `id` names an image through sharing (`/SharedGalleries/…` or `/CommunityGalleries/…`).
pub fn is_shared_id(id: &str) -> bool {
    let p = id.trim_start_matches('/');
    p.get(..15).is_some_and(|x| x.eq_ignore_ascii_case("SharedGalleries"))
        || p.get(..18).is_some_and(|x| x.eq_ignore_ascii_case("CommunityGalleries"))
}

fn not_shared(what: &str) -> CoreError {
    CoreError::NotShared(what.to_string())
}

fn gallery_ref_of(g: &Tracked<Gallery>) -> Option<GalleryRef> {
    let id = ResourceId::parse(&g.id)?;
    Some(GroupRef::new(&id.subscription, &id.resource_group).gallery(&g.name))
}

impl Core {
    /// `POST …/galleries/{g}/share`: changes who the gallery is shared with. Answered with an
    /// operation that has already succeeded (the change is one write).
    pub async fn share_gallery(
        &self,
        r: &GalleryRef,
        operation_type: Option<&str>,
        groups: &[(String, Vec<String>)],
    ) -> CoreResult<OperationInfo> {
        let op = operation_type.ok_or_else(|| {
            Invalid::param(
                "sharingUpdate.operationType",
                "'operationType' is required: Add, Remove, Reset or EnableCommunity.",
            )
        })?;
        let op = ShareOperation::parse("sharingUpdate.operationType", op)?;
        let record = self.load::<Gallery>(Kind::Gallery, &r.key()).await?.ok_or_else(|| CoreError::NotFound {
            type_path: format!("Microsoft.Compute/galleries/{}", r.gallery),
            group: r.group.resource_group.clone(),
        })?;
        Self::check_idle(&record.value)?;
        let mut value = record.value;
        value.properties.sharing.apply(op, groups)?;
        let operation = self.finished_operation(&r.group.subscription, &value.location, &r.key(), Kind::Gallery);
        let batch = Batch::new()
            .put(typed::doc(Kind::Gallery, &r.key(), None, &value), Expect::Rev(record.rev))
            .operation(operation.clone());
        self.store().apply(batch).await?;
        Ok(operation.into())
    }

    /// Every gallery (all subscriptions), for the consumer's scan.
    async fn all_galleries(&self) -> CoreResult<Vec<Tracked<Gallery>>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page =
                typed::list::<Tracked<Gallery>>(self.store(), Kind::Gallery, "/subscriptions/", after.as_deref(), 500)
                    .await?;
            let full = page.len() == 500;
            after = page.last().map(|(k, _)| k.clone());
            out.extend(page.into_iter().map(|(_, r)| r.value));
            if !full {
                return Ok(out);
            }
        }
    }

    /// The gallery with `unique_name`, whoever may see it.
    async fn gallery_by_unique_name(&self, unique_name: &str) -> CoreResult<Option<Tracked<Gallery>>> {
        let Some(publisher) = publisher_of(unique_name) else { return Ok(None) };
        let prefix = format!("/subscriptions/{}/", publisher.to_ascii_lowercase());
        let mut after: Option<String> = None;
        loop {
            let page =
                typed::list::<Tracked<Gallery>>(self.store(), Kind::Gallery, &prefix, after.as_deref(), 500).await?;
            let full = page.len() == 500;
            after = page.last().map(|(k, _)| k.clone());
            if let Some((_, g)) =
                page.into_iter().find(|(_, g)| g.value.properties.unique_name.eq_ignore_ascii_case(unique_name))
            {
                return Ok(Some(g.value));
            }
            if !full {
                return Ok(None);
            }
        }
    }

    /// The galleries shared with the consumer in `location`.
    pub async fn shared_galleries(&self, who: Consumer<'_>, location: &str) -> CoreResult<Vec<Arc<Tracked<Gallery>>>> {
        self.require_subscription(who.subscription).await?;
        let location = galleon_model::region::canonical(location);
        let mut out: Vec<Arc<Tracked<Gallery>>> = self
            .all_galleries()
            .await?
            .into_iter()
            .filter(|g| g.location == location && who.sees(&g.properties.sharing))
            .map(Arc::new)
            .collect();
        out.sort_by(|a, b| a.properties.unique_name.cmp(&b.properties.unique_name));
        Ok(out)
    }

    /// One gallery shared with the consumer, in its region.
    pub async fn shared_gallery(
        &self,
        who: Consumer<'_>,
        location: &str,
        unique_name: &str,
    ) -> CoreResult<Tracked<Gallery>> {
        self.require_subscription(who.subscription).await?;
        let location = galleon_model::region::canonical(location);
        match self.gallery_by_unique_name(unique_name).await? {
            Some(g) if g.location == location && who.sees(&g.properties.sharing) => Ok(g),
            _ => Err(not_shared(&format!("Microsoft.Compute/locations/{location}/sharedGalleries/{unique_name}"))),
        }
    }

    async fn shared_gallery_ref(&self, who: Consumer<'_>, location: &str, unique_name: &str) -> CoreResult<GalleryRef> {
        let g = self.shared_gallery(who, location, unique_name).await?;
        gallery_ref_of(&g).ok_or_else(|| not_shared(unique_name))
    }

    /// The definitions of a shared gallery.
    pub async fn shared_images(
        &self,
        who: Consumer<'_>,
        location: &str,
        unique_name: &str,
        page: &PageRequest,
    ) -> CoreResult<Page<Tracked<ImageDefinition>>> {
        let g = self.shared_gallery_ref(who, location, unique_name).await?;
        self.list_images(&g, page).await
    }

    /// One definition of a shared gallery.
    pub async fn shared_image(
        &self,
        who: Consumer<'_>,
        location: &str,
        unique_name: &str,
        image: &str,
    ) -> CoreResult<Tracked<ImageDefinition>> {
        let g = self.shared_gallery_ref(who, location, unique_name).await?;
        self.get_image(&g.image(image)).await.map_err(|e| hide(e, unique_name, image))
    }

    /// The versions of a shared definition.
    pub async fn shared_versions(
        &self,
        who: Consumer<'_>,
        location: &str,
        unique_name: &str,
        image: &str,
        page: &PageRequest,
    ) -> CoreResult<Page<Tracked<ImageVersion>>> {
        let g = self.shared_gallery_ref(who, location, unique_name).await?;
        self.list_versions(&g.image(image), page).await.map_err(|e| hide(e, unique_name, image))
    }

    /// One version of a shared definition.
    pub async fn shared_version(
        &self,
        who: Consumer<'_>,
        location: &str,
        unique_name: &str,
        image: &str,
        version: &str,
    ) -> CoreResult<Tracked<ImageVersion>> {
        let g = self.shared_gallery_ref(who, location, unique_name).await?;
        self.get_version(&g.image(image).version(version)).await.map_err(|e| hide(e, unique_name, image))
    }

    /// The gallery behind a shared or community id, and whether the consumer may see it.
    async fn gallery_behind(
        &self,
        via: Via,
        name: &str,
        who: Option<Consumer<'_>>,
    ) -> CoreResult<Option<Tracked<Gallery>>> {
        let g = match via {
            Via::Shared => self.gallery_by_unique_name(name).await?,
            Via::Community => self.gallery_by_public_name(name).await?,
        };
        Ok(g.filter(|g| match (via, who) {
            (Via::Community, _) => g.properties.sharing.public(),
            (Via::Shared, Some(who)) => who.sees(&g.properties.sharing),
            (Via::Shared, None) => true,
        }))
    }

    /// The gallery id behind a `/SharedGalleries/…` or `/CommunityGalleries/…` id when the
    /// consumer may use it: what disks, VMs and versions made from a shared image are built
    /// from. Refused like a missing source otherwise.
    pub async fn resolve_shared_source(&self, who: Consumer<'_>, shared_id: &str, target: &str) -> CoreResult<String> {
        let refused = || {
            Invalid::param(
                target,
                format!(
                    "The shared gallery image '{shared_id}' was not found, or is not shared with this subscription or tenant."
                ),
            )
        };
        let (via, name, image, version) = parse_shared_id(shared_id).ok_or_else(refused)?;
        let g = self.gallery_behind(via, &name, Some(who)).await?.ok_or_else(refused)?;
        Ok(private_id(&g, &image, version.as_deref()))
    }

    /// The gallery id behind a shared or community id, without an access check (the request
    /// that named it was checked when it was accepted; jobs building from it resolve it again).
    pub(crate) async fn private_id_of_shared(&self, shared_id: &str) -> CoreResult<Option<String>> {
        let Some((via, name, image, version)) = parse_shared_id(shared_id) else { return Ok(None) };
        let g = self.gallery_behind(via, &name, None).await?;
        Ok(g.map(|g| private_id(&g, &image, version.as_deref())))
    }

    /// The gallery with community public name `name`.
    async fn gallery_by_public_name(&self, name: &str) -> CoreResult<Option<Tracked<Gallery>>> {
        Ok(self
            .all_galleries()
            .await?
            .into_iter()
            .find(|g| g.properties.sharing.community.as_ref().is_some_and(|c| c.named(name))))
    }

    /// Every published community gallery (in `location`, when given), by public name.
    pub async fn community_galleries(&self, location: Option<&str>) -> CoreResult<Vec<(String, Tracked<Gallery>)>> {
        let location = location.map(galleon_model::region::canonical);
        let mut out: Vec<(String, Tracked<Gallery>)> = self
            .all_galleries()
            .await?
            .into_iter()
            .filter(|g| g.properties.sharing.public() && location.as_ref().is_none_or(|l| &g.location == l))
            .filter_map(|g| Some((g.properties.sharing.community.as_ref()?.public_names.first()?.clone(), g)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// A published community gallery, in its region (anyone signed in may read it).
    pub async fn community_gallery(&self, location: &str, public_name: &str) -> CoreResult<Tracked<Gallery>> {
        let location = galleon_model::region::canonical(location);
        match self.gallery_behind(Via::Community, public_name, None).await? {
            Some(g) if g.location == location => Ok(g),
            _ => Err(not_shared(&format!("Microsoft.Compute/locations/{location}/communityGalleries/{public_name}"))),
        }
    }

    async fn community_gallery_ref(&self, location: &str, public_name: &str) -> CoreResult<GalleryRef> {
        let g = self.community_gallery(location, public_name).await?;
        gallery_ref_of(&g).ok_or_else(|| not_shared(public_name))
    }

    /// The definitions of a community gallery.
    pub async fn community_images(
        &self,
        location: &str,
        public_name: &str,
        page: &PageRequest,
    ) -> CoreResult<Page<Tracked<ImageDefinition>>> {
        let g = self.community_gallery_ref(location, public_name).await?;
        self.list_images(&g, page).await
    }

    /// One definition of a community gallery.
    pub async fn community_image(
        &self,
        location: &str,
        public_name: &str,
        image: &str,
    ) -> CoreResult<Tracked<ImageDefinition>> {
        let g = self.community_gallery_ref(location, public_name).await?;
        self.get_image(&g.image(image)).await.map_err(|e| hide(e, public_name, image))
    }

    /// The versions of a community definition.
    pub async fn community_versions(
        &self,
        location: &str,
        public_name: &str,
        image: &str,
        page: &PageRequest,
    ) -> CoreResult<Page<Tracked<ImageVersion>>> {
        let g = self.community_gallery_ref(location, public_name).await?;
        self.list_versions(&g.image(image), page).await.map_err(|e| hide(e, public_name, image))
    }

    /// One version of a community definition.
    pub async fn community_version(
        &self,
        location: &str,
        public_name: &str,
        image: &str,
        version: &str,
    ) -> CoreResult<Tracked<ImageVersion>> {
        let g = self.community_gallery_ref(location, public_name).await?;
        self.get_version(&g.image(image).version(version)).await.map_err(|e| hide(e, public_name, image))
    }
}

fn private_id(g: &Tracked<Gallery>, image: &str, version: Option<&str>) -> String {
    let mut id = format!("{}/images/{image}", g.id);
    if let Some(v) = version {
        id.push_str(&format!("/versions/{v}"));
    }
    id
}

/// Errors about what is inside a shared gallery name the shared path, never the publisher's
/// resource group.
fn hide(e: CoreError, unique_name: &str, image: &str) -> CoreError {
    match e {
        CoreError::NotFound { .. } | CoreError::ParentNotFound(_) => {
            not_shared(&format!("sharedGalleries/{unique_name}/images/{image}"))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::{Via, is_shared_id, parse_shared_id};

    #[test]
    fn shared_ids_parse_in_any_casing() {
        assert_eq!(
            parse_shared_id("/SharedGalleries/s-G/Images/img/Versions/1.0.0"),
            Some((Via::Shared, "s-G".into(), "img".into(), Some("1.0.0".into())))
        );
        assert_eq!(
            parse_shared_id("/sharedgalleries/s-G/images/img"),
            Some((Via::Shared, "s-G".into(), "img".into(), None))
        );
        assert_eq!(
            parse_shared_id("/communityGalleries/p-1/images/img"),
            Some((Via::Community, "p-1".into(), "img".into(), None))
        );
        assert_eq!(parse_shared_id("/SharedGalleries/s-G"), None);
        assert!(is_shared_id("/sharedGalleries/x/Images/y") && !is_shared_id("/subscriptions/x"));
        assert!(is_shared_id("/CommunityGalleries/x/Images/y"));
    }
}
