//! The core's error type. Each variant is something a caller (the ARM layer, the portal, the
//! CLI) answers differently; `galleon_api` maps each to an HTTP status and ARM code in one place.

use galleon_model::Invalid;
use galleon_store::StoreError;

/// A use case failed.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A domain rule was broken by the request (400, or 409 for changes that are not allowed).
    #[error("{0}")]
    Invalid(#[from] Invalid),
    /// `SubscriptionNotFound` (404).
    #[error("The subscription '{0}' could not be found.")]
    SubscriptionNotFound(String),
    /// `ResourceGroupNotFound` (404).
    #[error("Resource group '{0}' could not be found.")]
    ResourceGroupNotFound(String),
    /// `ResourceNotFound` (404): `type_path` such as `Microsoft.Compute/galleries/g`.
    #[error(
        "The Resource '{type_path}' under resource group '{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
    )]
    NotFound {
        /// `Microsoft.Compute/galleries/{g}[/images/{i}[/versions/{v}]]`.
        type_path: String,
        /// Resource group name.
        group: String,
    },
    /// `ParentResourceNotFound` (404).
    #[error("Can not perform requested operation on nested resource. Parent resource '{0}' not found.")]
    ParentNotFound(String),
    /// A conflict with the current state (409), with its ARM code.
    #[error("{message}")]
    Conflict {
        /// ARM code, e.g. `InvalidResourceLocation`, `CannotDeleteResource`.
        code: &'static str,
        /// Message.
        message: String,
    },
    /// A shared gallery (or what is in it) that does not exist or is not shared with the caller
    /// (404 `ResourceNotFound`: the two are not told apart).
    #[error("The shared resource '{0}' was not found, or is not shared with this subscription or tenant.")]
    NotShared(String),
    /// The operation id is unknown (404).
    #[error("The operation '{0}' was not found.")]
    OperationNotFound(String),
    /// Authenticated, but not allowed (403 `AuthorizationFailed`).
    #[error("{0}")]
    Forbidden(String),
    /// Allowed on the target, but not to read a resource the request uses (403
    /// `LinkedAuthorizationFailed`).
    #[error("{0}")]
    LinkedForbidden(String),
    /// No valid credentials (401, or what the endpoint answers for the kind).
    #[error(transparent)]
    Unauthenticated(#[from] crate::auth::AuthError),
    /// Disk content failed (see [`crate::ContentErrorKind`] for what the caller can do).
    #[error(transparent)]
    Content(#[from] crate::content_error::ContentError),
    /// The metadata store failed (500).
    #[error(transparent)]
    Store(StoreError),
    /// The metadata store cannot be reached (503 with `Retry-After`): nothing was done.
    #[error("the metadata store is unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(reason) => Self::Unavailable(reason),
            e => Self::Store(e),
        }
    }
}

/// Result of a use case.
pub type CoreResult<T> = Result<T, CoreError>;
