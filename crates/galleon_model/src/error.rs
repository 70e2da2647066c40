use std::fmt;

/// Which ARM error code a broken rule answers with. The HTTP status follows from the code
/// (see `galleon_api`), so callers only decide *what* went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidCode {
    /// 400: a value is malformed, missing or out of range.
    InvalidParameter,
    /// 409: an immutable property was changed by an update.
    PropertyChangeNotAllowed,
    /// 400: an ARM resource name breaks its naming rule.
    InvalidResourceName,
    /// 400: a location that is not one of the configured regions.
    LocationNotAvailableForResourceType,
    /// 409: the request conflicts with the current state of the resource.
    OperationNotAllowed,
    /// 400: a role assignment name that is not a GUID.
    InvalidRoleAssignmentId,
    /// 400: tags beyond ARM's limits (count, name and value lengths).
    InvalidTag,
    /// 400: a tag name with a character ARM does not allow.
    InvalidTagNameCharacters,
}

impl InvalidCode {
    /// The ARM `error.code` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidParameter => "InvalidParameter",
            Self::PropertyChangeNotAllowed => "PropertyChangeNotAllowed",
            Self::InvalidResourceName => "InvalidResourceName",
            Self::LocationNotAvailableForResourceType => "LocationNotAvailableForResourceType",
            Self::OperationNotAllowed => "OperationNotAllowed",
            Self::InvalidRoleAssignmentId => "InvalidRoleAssignmentId",
            Self::InvalidTag => "InvalidTag",
            Self::InvalidTagNameCharacters => "InvalidTagNameCharacters",
        }
    }
}

/// A broken domain rule: the code, the offending field (ARM `target`) and a message that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The ARM error code.
    pub code: InvalidCode,
    /// The field the rule is about, e.g. `galleryImage.properties.identifier.publisher`.
    pub target: String,
    /// A message for people, naming the field and the rule.
    pub message: String,
}

impl Invalid {
    /// An `InvalidParameter` about `target`.
    pub fn param(target: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: InvalidCode::InvalidParameter, target: target.into(), message: message.into() }
    }

    /// A `PropertyChangeNotAllowed` for the property at `target`.
    pub fn immutable(target: impl Into<String>) -> Self {
        let target = target.into();
        let message = format!("Changing property '{target}' is not allowed.");
        Self { code: InvalidCode::PropertyChangeNotAllowed, target, message }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}) {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Invalid {}
