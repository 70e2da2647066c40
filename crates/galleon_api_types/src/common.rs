//! Envelopes shared by every resource.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A tracked resource: `{name, id, type, location, tags, properties}` in the order ARM writes them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Resource<P> {
    /// Last id segment (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// ARM id (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// ARM type (read-only).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Region; required on PUT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Type-specific properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<P>,
    /// Managed identity: not implemented; kept only to refuse it (see [`refuse_unsupported`]).
    #[serde(default, skip_serializing)]
    pub identity: Option<serde_json::Value>,
}

/// Refuses the first of `given` (property path, whether the request set it) that was set:
/// properties galleon does not implement yet are a 400 naming them, never silently dropped.
pub fn refuse_unsupported(given: &[(&str, bool)]) -> Result<(), galleon_model::Invalid> {
    match given.iter().find(|(_, set)| *set) {
        Some((path, _)) => Err(galleon_model::Invalid::param(
            *path,
            format!("The property '{path}' is not supported by galleon yet; remove it from the request."),
        )),
        None => Ok(()),
    }
}

/// `{"value": [...], "nextLink": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct List<T> {
    /// This page.
    pub value: Vec<T>,
    /// The next page, when there is one.
    #[serde(rename = "nextLink", default, skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// The ARM error envelope.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorBody,
}

/// `error` inside [`ErrorResponse`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorBody {
    /// PascalCase code.
    pub code: String,
    /// Message.
    pub message: String,
    /// The offending field, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Nested details.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ErrorBody>,
}

/// The body of an `Azure-AsyncOperation` status URL.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OperationStatus {
    /// Operation id.
    pub name: String,
    /// InProgress | Succeeded | Failed | Canceled.
    pub status: String,
    /// Start.
    pub start_time: String,
    /// End, once terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Error, when failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    /// `{"output": …}` for operations that return something (`beginGetAccess`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<serde_json::Value>,
}

impl OperationStatus {
    /// What the operation returned (`properties.output`), Null when nothing.
    pub fn output(&self) -> &serde_json::Value {
        static NULL: serde_json::Value = serde_json::Value::Null;
        self.properties.as_ref().and_then(|p| p.get("output")).unwrap_or(&NULL)
    }
}

/// `properties` of a resource group.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceGroupProperties {
    /// Always `Succeeded` (group writes are synchronous).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
}
