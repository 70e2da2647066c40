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
        properties: Some(GalleryProperties {
            description: g.properties.description.clone(),
            identifier: Some(GalleryIdentifier { unique_name: g.properties.unique_name.clone() }),
            provisioning_state: Some(g.provisioning_state.as_str().into()),
        }),
    }
}
