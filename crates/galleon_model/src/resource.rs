//! The tracked-resource envelope every galleon resource shares.

use time::OffsetDateTime;

use crate::{ProvisioningState, Tags};

/// A tracked ARM resource: name, location, tags, provisioning state and typed properties.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Tracked<P> {
    /// The ARM id, in the casing the resource was created with.
    pub id: String,
    /// The name, in the casing it was created with.
    pub name: String,
    /// Canonical region name (`westus2`).
    pub location: String,
    /// Tags.
    pub tags: Tags,
    /// Where its last operation stands.
    pub provisioning_state: ProvisioningState,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// Type-specific properties.
    pub properties: P,
}

/// A resource group.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ResourceGroup {
    /// Subscription id.
    pub subscription: String,
    /// Name as created.
    pub name: String,
    /// Canonical region.
    pub location: String,
    /// Tags.
    pub tags: Tags,
}
