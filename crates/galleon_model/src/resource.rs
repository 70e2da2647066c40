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

/// ARM's limits on tags: how many a resource may have.
pub const MAX_TAGS: usize = 50;
/// The longest tag name.
pub const MAX_TAG_NAME: usize = 512;
/// The longest tag value.
pub const MAX_TAG_VALUE: usize = 256;

/// Checks tags against ARM's limits (every resource type has them).
pub fn validate_tags(tags: &Tags) -> Result<(), crate::Invalid> {
    use crate::{Invalid, InvalidCode};
    let invalid = |code, message: String| Invalid { code, target: "tags".into(), message };
    if tags.len() > MAX_TAGS {
        return Err(invalid(
            InvalidCode::InvalidTag,
            format!("A resource may have at most {MAX_TAGS} tags; the request has {}.", tags.len()),
        ));
    }
    for (name, value) in tags {
        if name.is_empty() || name.chars().count() > MAX_TAG_NAME {
            return Err(invalid(
                InvalidCode::InvalidTag,
                format!("The tag name '{name}' must be 1 to {MAX_TAG_NAME} characters long."),
            ));
        }
        if let Some(bad) = name.chars().find(|c| "<>%&\\?/".contains(*c)) {
            return Err(invalid(
                InvalidCode::InvalidTagNameCharacters,
                format!(
                    "The tag name '{name}' has the invalid character '{bad}' (tag names may not contain <, >, %, &, \\, ? or /)."
                ),
            ));
        }
        if value.chars().count() > MAX_TAG_VALUE {
            return Err(invalid(
                InvalidCode::InvalidTag,
                format!("The value of tag '{name}' is longer than {MAX_TAG_VALUE} characters."),
            ));
        }
    }
    Ok(())
}
