//! Why a caller was not authenticated: one kind per case a caller (or the HTTP layer choosing a
//! status and an OAuth/ARM code) acts on. Messages are Microsoft Entra's and ARM's wording.

use super::tokens::TokenError;

/// A refused authentication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A bearer token that does not verify (malformed, bad signature, expired, wrong audience).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// An unknown client id or a wrong secret (the same answer for both).
    #[error("AADSTS7000215: Invalid client secret provided, or the application was not found in the tenant.")]
    InvalidClient,
    /// Too many failed attempts from this client id or address.
    #[error("AADSTS50196: Too many failed sign-in attempts. Wait a minute and try again.")]
    RateLimited,
    /// A token was asked for a resource galleon does not serve.
    #[error(
        "AADSTS500011: The resource principal named {0} was not found in the tenant. Request a token for https://management.azure.com/.default."
    )]
    UnknownResource(String),
    /// A disk access URL whose secret does not match or has expired.
    #[error("Server failed to authenticate the request. The access URL is invalid or has expired.")]
    InvalidAccessUrl,
    /// No bearer token where one is required.
    #[error("Access token is empty.")]
    MissingToken,
}

impl AuthError {
    /// Whether the refusal is an expired token (ARM answers `ExpiredAuthenticationToken`).
    pub fn is_expired(&self) -> bool {
        matches!(self, Self::Token(TokenError::Expired))
    }
}
