//! `Microsoft.Compute/galleries`.

use galleon_model::gallery::Gallery;
use galleon_model::resource::Tracked;
use serde::{Deserialize, Serialize};

use crate::Resource;

/// ARM type name.
pub const TYPE: &str = "Microsoft.Compute/galleries";

/// `properties` of a gallery.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GalleryProperties {
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `identifier.uniqueName` (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<GalleryIdentifier>,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// Not implemented yet: refused.
    #[serde(default, skip_serializing)]
    pub sharing_profile: Option<serde_json::Value>,
    /// Not implemented yet: refused.
    #[serde(default, skip_serializing)]
    pub soft_delete_policy: Option<serde_json::Value>,
}

/// Refuses what a gallery request sets that galleon does not implement.
pub fn refuse_unsupported(r: &GalleryResource) -> Result<(), galleon_model::Invalid> {
    let p = r.properties.as_ref();
    crate::refuse_unsupported(&[
        ("identity", r.identity.is_some()),
        ("properties.sharingProfile", p.is_some_and(|p| p.sharing_profile.is_some())),
        ("properties.softDeletePolicy", p.is_some_and(|p| p.soft_delete_policy.is_some())),
    ])
}

/// `identifier` of a gallery.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GalleryIdentifier {
    /// `{subscription}-{NAME}`.
    #[serde(default)]
    pub unique_name: String,
}

/// A gallery on the wire.
pub type GalleryResource = Resource<GalleryProperties>;

/// The model as ARM shows it.
pub fn to_wire(g: &Tracked<Gallery>) -> GalleryResource {
    Resource {
        name: Some(g.name.clone()),
        id: Some(g.id.clone()),
        kind: Some(TYPE.into()),
        location: Some(g.location.clone()),
        tags: Some(g.tags.clone()),
        identity: None,
        properties: Some(GalleryProperties {
            description: g.properties.description.clone(),
            identifier: Some(GalleryIdentifier { unique_name: g.properties.unique_name.clone() }),
            provisioning_state: Some(g.provisioning_state.as_str().into()),
            ..Default::default()
        }),
    }
}
