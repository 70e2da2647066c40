//! What a request links to — the sources of versions, disks and managed images, the image, disks
//! and interfaces of a VM, the subnet, public IP and security group of an interface — and the
//! check that the caller may use each. Using a resource takes read access to it (sharing a
//! gallery means Reader on it, and that is what using its versions takes); a `/SharedGalleries/…`
//! source is checked against its gallery's sharing instead. The use cases that create from other
//! resources take only a [`Checked`] request, so a route cannot forget the check.

use galleon_model::disk::DiskRequest;
use galleon_model::image_version::VersionRequest;
use galleon_model::managed_image::ImageRequest;
use galleon_model::rbac::Action;
use galleon_model::vm::VmRequest;

use crate::auth::Claims;
use crate::network::{NetworkRequest, interface_links, profile_interfaces};
use crate::sharing::{Consumer, is_shared_id};
use crate::{Core, CoreError, CoreResult};

/// A request that names other resources.
pub trait Links {
    /// The ids it names.
    fn linked(&self) -> Vec<String>;
    /// For requests that may name a shared gallery's image, the field that names it (the error
    /// that refuses one points there); `None` where shared images cannot be used.
    const SHARED_TARGET: Option<&'static str> = None;
}

impl Links for VersionRequest {
    fn linked(&self) -> Vec<String> {
        let mut ids: Vec<String> = [&self.source_id, &self.virtual_machine_id, &self.legacy_managed_image_id]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        for disk in self.os_disk.iter().chain(self.data_disks.iter().flatten().map(|(_, d)| d)) {
            ids.extend(disk.source.as_ref().and_then(|s| s.id.clone()));
        }
        ids.extend(self.community_source_id.iter().cloned());
        ids
    }
    const SHARED_TARGET: Option<&'static str> =
        Some("galleryImageVersion.properties.storageProfile.source.communityGalleryImageId");
}

impl Links for DiskRequest {
    fn linked(&self) -> Vec<String> {
        self.source_resource_id.iter().chain(self.image_id.iter()).cloned().collect()
    }
    const SHARED_TARGET: Option<&'static str> =
        Some("properties.creationData.galleryImageReference.sharedGalleryImageId");
}

impl Links for VmRequest {
    fn linked(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.image_id.iter().chain(self.os_disk_id.iter()).cloned().collect();
        ids.extend(self.data_disks.iter().filter_map(|d| d.managed_disk_id.clone()));
        ids.extend(self.network_profile.as_deref().map(profile_interfaces).unwrap_or_default());
        ids
    }
    const SHARED_TARGET: Option<&'static str> = Some("properties.storageProfile.imageReference.sharedGalleryImageId");
}

impl Links for ImageRequest {
    fn linked(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.source_virtual_machine.iter().cloned().collect();
        for disk in self.os_disk.iter().chain(self.data_disks.iter().map(|(_, d)| d)) {
            ids.extend(disk.snapshot.iter().chain(disk.managed_disk.iter()).cloned());
        }
        ids
    }
}

impl Links for NetworkRequest {
    fn linked(&self) -> Vec<String> {
        interface_links(&self.properties)
    }
}

/// A request whose linked resources the caller may use (made only by [`Core::check_links`]).
#[derive(Debug)]
pub struct Checked<T>(T);

impl<T> Checked<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl Core {
    /// Checks that `claims` may use every resource `req` links to, acting in `subscription`:
    /// read access to each (403 `LinkedAuthorizationFailed` otherwise), or for a shared image,
    /// that its gallery is shared with the subscription or the caller's tenant.
    pub async fn check_links<T: Links>(&self, claims: &Claims, subscription: &str, req: T) -> CoreResult<Checked<T>> {
        let linked = req.linked();
        let (shared, own): (Vec<&String>, Vec<&String>) =
            linked.iter().partition(|id| T::SHARED_TARGET.is_some() && is_shared_id(id));
        for id in own {
            let Some(sub) = id.strip_prefix("/subscriptions/").and_then(|p| p.split('/').next()) else { continue };
            // A source in an unknown subscription does not exist; the use case says so (404/400).
            if self.require_subscription(sub).await.is_err() {
                continue;
            }
            match self.authorize(claims, id, Action::Read).await {
                Ok(()) => {}
                Err(CoreError::Forbidden(message)) => return Err(CoreError::LinkedForbidden(message)),
                Err(other) => return Err(other),
            }
        }
        if let Some(target) = T::SHARED_TARGET {
            for id in shared {
                let who = Consumer { subscription, tenant: &claims.tid, by_tenant: false };
                self.resolve_shared_source(who, id, target).await?;
            }
        }
        Ok(Checked(req))
    }
}
