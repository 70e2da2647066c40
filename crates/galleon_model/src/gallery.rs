//! Galleries.

/// `Microsoft.Compute/galleries` properties galleon keeps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Gallery {
    /// Free text; updatable.
    pub description: Option<String>,
    /// `identifier.uniqueName`: `{subscription}-{NAME}` as Azure forms it.
    pub unique_name: String,
}

/// Azure's `identifier.uniqueName`: the subscription id, a dash and the upper-cased gallery name.
pub fn unique_name(subscription: &str, gallery: &str) -> String {
    format!("{subscription}-{}", gallery.to_ascii_uppercase())
}
