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
    /// Who the gallery is shared with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_profile: Option<SharingProfile>,
    /// Read-only: how the sharing stands (a change is applied in one write, so it has always
    /// succeeded when read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_status: Option<serde_json::Value>,
    /// Soft delete of image versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_delete_policy: Option<SoftDeletePolicyWire>,
}

/// `properties.sharingProfile`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SharingProfile {
    /// `Private`, `Groups` (or `Community`, not served yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<String>,
    /// Read-only: shown with `$expand=SharingProfile/Groups`, changed only through `share`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<SharingGroup>>,
    /// The publisher's information of a community gallery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_gallery_info: Option<CommunityGalleryInfo>,
}

/// `sharingProfile.communityGalleryInfo`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CommunityGalleryInfo {
    /// The publisher's URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher_uri: Option<String>,
    /// The publisher's email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher_contact: Option<String>,
    /// End-user license agreement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eula: Option<String>,
    /// Prefix of the public name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_name_prefix: Option<String>,
    /// Read-only: whether `EnableCommunity` published it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_gallery_enabled: Option<bool>,
    /// Read-only: its public names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_names: Option<Vec<String>>,
}

/// One entry of `sharingProfile.groups` and of a `share` request's `groups`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SharingGroup {
    /// `Subscriptions` or `AADTenants`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The ids.
    #[serde(default)]
    pub ids: Vec<String>,
}

/// The body of `POST …/galleries/{g}/share`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SharingUpdate {
    /// `Add`, `Remove`, `Reset` or `EnableCommunity`.
    #[serde(default)]
    pub operation_type: Option<String>,
    /// The subscriptions and tenants to add or remove.
    #[serde(default)]
    pub groups: Vec<SharingGroup>,
}

/// Refuses what a gallery request sets that galleon does not implement.
pub fn refuse_unsupported(r: &GalleryResource) -> Result<(), galleon_model::Invalid> {
    crate::refuse_unsupported(&[("identity", r.identity.is_some())])
}

/// `properties.softDeletePolicy`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SoftDeletePolicyWire {
    /// On or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_soft_delete_enabled: Option<bool>,
    /// Days a deleted version stays listed and restorable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_period_in_days: Option<i64>,
    /// Days after that it may still be restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period_in_days: Option<i64>,
}

/// The soft-delete policy a request sets, if any.
pub fn requested_soft_delete(r: &GalleryResource) -> Option<galleon_model::soft_delete::SoftDeleteRequest> {
    let p = r.properties.as_ref()?.soft_delete_policy.as_ref()?;
    Some(galleon_model::soft_delete::SoftDeleteRequest {
        enabled: p.is_soft_delete_enabled,
        retention_days: p.retention_period_in_days,
        grace_days: p.grace_period_in_days,
    })
}

/// The community information a request sets, if any.
pub fn requested_community(r: &GalleryResource) -> Option<galleon_model::sharing::CommunityRequest> {
    let c = r.properties.as_ref()?.sharing_profile.as_ref()?.community_gallery_info.as_ref()?;
    Some(galleon_model::sharing::CommunityRequest {
        publisher_uri: c.publisher_uri.clone(),
        publisher_contact: c.publisher_contact.clone(),
        eula: c.eula.clone(),
        public_name_prefix: c.public_name_prefix.clone(),
    })
}

/// The permissions a request sets, if any.
pub fn requested_permissions(r: &GalleryResource) -> Option<String> {
    r.properties.as_ref()?.sharing_profile.as_ref()?.permissions.clone()
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
    to_wire_with(g, false)
}

/// The model as ARM shows it, with the sharing groups when `groups` (`$expand=SharingProfile/Groups`).
pub fn to_wire_with(g: &Tracked<Gallery>, groups: bool) -> GalleryResource {
    let sharing = &g.properties.sharing;
    let profile = SharingProfile {
        permissions: Some(sharing.permissions.as_str().into()),
        groups: groups.then(|| {
            sharing
                .groups
                .iter()
                .map(|grp| SharingGroup { kind: grp.kind.as_str().into(), ids: grp.ids.clone() })
                .collect()
        }),
        community_gallery_info: sharing.community.as_ref().map(|c| CommunityGalleryInfo {
            publisher_uri: Some(c.publisher_uri.clone()),
            publisher_contact: Some(c.publisher_contact.clone()),
            eula: Some(c.eula.clone()),
            public_name_prefix: Some(c.public_name_prefix.clone()),
            community_gallery_enabled: Some(c.enabled),
            public_names: Some(c.public_names.clone()),
        }),
    };
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
            sharing_profile: Some(profile),
            sharing_status: (sharing.permissions != galleon_model::sharing::Permission::Private).then(|| {
                serde_json::json!({ "aggregatedState": "Succeeded",
                    "summary": [{ "region": g.location, "state": "Succeeded", "details": "" }] })
            }),
            soft_delete_policy: g.properties.soft_delete.map(|p| SoftDeletePolicyWire {
                is_soft_delete_enabled: Some(p.enabled),
                retention_period_in_days: Some(i64::from(p.retention_days)),
                grace_period_in_days: Some(i64::from(p.grace_days)),
            }),
        }),
    }
}
