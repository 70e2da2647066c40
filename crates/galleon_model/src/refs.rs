//! Typed references to the resources galleon owns, each able to print its ARM id and its
//! canonical (lowercase) key. The casing given at construction is what ids show.

use std::fmt::Write;

use crate::names::key;

/// A resource group: `/subscriptions/{sub}/resourceGroups/{rg}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupRef {
    /// Subscription id.
    pub subscription: String,
    /// Resource group name.
    pub resource_group: String,
}

/// A gallery in a resource group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GalleryRef {
    /// The resource group holding the gallery.
    pub group: GroupRef,
    /// Gallery name.
    pub gallery: String,
}

/// An image definition in a gallery.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// The gallery holding the definition.
    pub gallery: GalleryRef,
    /// Image definition name.
    pub image: String,
}

/// An image version of a definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionRef {
    /// The definition holding the version.
    pub image: ImageRef,
    /// Version name (`Major.Minor.Patch`).
    pub version: String,
}

impl GroupRef {
    /// Builds a reference.
    pub fn new(subscription: &str, resource_group: &str) -> Self {
        Self { subscription: subscription.to_string(), resource_group: resource_group.to_string() }
    }
    /// `/subscriptions/{sub}/resourceGroups/{rg}`.
    pub fn id(&self) -> String {
        format!("/subscriptions/{}/resourceGroups/{}", self.subscription, self.resource_group)
    }
    /// Canonical key.
    pub fn key(&self) -> String {
        key(&self.id())
    }
    /// A gallery in this group.
    pub fn gallery(&self, name: &str) -> GalleryRef {
        GalleryRef { group: self.clone(), gallery: name.to_string() }
    }
    /// `…/providers/Microsoft.Compute/{kind}/{name}` for a source resource in this group.
    pub fn compute_id(&self, kind: &str, name: &str) -> String {
        self.provider_id("Microsoft.Compute", kind, name)
    }
    /// `…/providers/{namespace}/{kind}/{name}` for a resource in this group.
    pub fn provider_id(&self, namespace: &str, kind: &str, name: &str) -> String {
        format!("{}/providers/{namespace}/{kind}/{name}", self.id())
    }
}

impl GalleryRef {
    /// The gallery's ARM id.
    pub fn id(&self) -> String {
        self.group.compute_id("galleries", &self.gallery)
    }
    /// Canonical key.
    pub fn key(&self) -> String {
        key(&self.id())
    }
    /// An image definition in this gallery.
    pub fn image(&self, name: &str) -> ImageRef {
        ImageRef { gallery: self.clone(), image: name.to_string() }
    }
}

impl ImageRef {
    /// The definition's ARM id.
    pub fn id(&self) -> String {
        let mut id = self.gallery.id();
        let _ = write!(id, "/images/{}", self.image);
        id
    }
    /// Canonical key.
    pub fn key(&self) -> String {
        key(&self.id())
    }
    /// A version of this definition.
    pub fn version(&self, name: &str) -> VersionRef {
        VersionRef { image: self.clone(), version: name.to_string() }
    }
}

impl VersionRef {
    /// The version's ARM id.
    pub fn id(&self) -> String {
        format!("{}/versions/{}", self.image.id(), self.version)
    }
    /// Canonical key.
    pub fn key(&self) -> String {
        key(&self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_keys() {
        let v = GroupRef::new("SUB", "RG").gallery("G").image("Img").version("1.0.0");
        assert_eq!(
            v.id(),
            "/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Compute/galleries/G/images/Img/versions/1.0.0"
        );
        assert_eq!(v.key(), v.id().to_ascii_lowercase());
    }
}
