//! Galleries.

/// `Microsoft.Compute/galleries` properties galleon keeps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Gallery {
    /// Free text; updatable.
    pub description: Option<String>,
    /// `identifier.uniqueName`: `{subscription}-{NAME}` as Azure forms it.
    pub unique_name: String,
    /// `sharingProfile` (private for galleries stored before sharing existed).
    #[cfg_attr(feature = "serde", serde(default))]
    pub sharing: crate::sharing::Sharing,
    /// `softDeletePolicy`, once set.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub soft_delete: Option<crate::soft_delete::SoftDeletePolicy>,
}

/// Azure's `identifier.uniqueName`: the subscription id, a dash and the upper-cased gallery name.
pub fn unique_name(subscription: &str, gallery: &str) -> String {
    format!("{subscription}-{}", gallery.to_ascii_uppercase())
}

/// The publisher subscription a unique name starts with (a 36-character id and a dash).
pub fn publisher_of(unique_name: &str) -> Option<&str> {
    let (sub, name) = (unique_name.get(..36)?, unique_name.get(36..)?);
    (name.len() > 1 && name.starts_with('-')).then_some(sub)
}
