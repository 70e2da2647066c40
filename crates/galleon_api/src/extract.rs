//! Extractors whose failures are ARM errors: JSON bodies, path parameters, list paging and the
//! server's own base URL (for absolute operation URLs).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use galleon_core::PageRequest;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::api_version::query_param;
use crate::error::ApiError;

/// A JSON body parsed with ARM errors: malformed JSON and wrong types are 400
/// `InvalidRequestContent`, an oversize body 413. The content type is not required.
pub(crate) struct ArmJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ArmJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                "The request content is larger than the limit of 1 MiB.",
            )
        };
        // An announced length over the limit is refused before any of the body is read.
        if crate::limits::content_length(req.headers()).is_some_and(|n| n > crate::MAX_BODY_BYTES as u64) {
            return Err(too_large());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e: BytesRejection| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE { too_large() } else { ApiError::bad_content(e.body_text()) }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_content("the request body is empty"));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = crate::objects_only::deserialize(&mut de).map_err(ApiError::bad_content)?;
        de.end().map_err(ApiError::bad_content)?;
        Ok(ArmJson(value))
    }
}

/// Path parameters with ARM errors.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub(crate) struct ArmPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "InvalidParameter", e.body_text())
    }
}

/// Where a list is taken: a subscription, or one of its resource groups (the `{sub}` and
/// optional `{rg}` of the route), so one handler serves both list routes of a type.
pub(crate) struct ListScope {
    /// The subscription.
    pub sub: String,
    /// The resource group, for a group's list.
    pub group: Option<galleon_model::GroupRef>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListScope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(params): axum::extract::Path<std::collections::HashMap<String, String>> =
            axum::extract::Path::from_request_parts(parts, state).await?;
        let sub = params.get("sub").cloned().unwrap_or_default();
        let group = params.get("rg").map(|rg| galleon_model::GroupRef::new(&sub, rg));
        Ok(Self { sub, group })
    }
}

/// `$top`, `$skiptoken` and `$expand` of a GET.
pub(crate) struct ListQuery {
    /// Paging.
    pub page: PageRequest,
    /// `$expand`, if any.
    pub expand: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query();
        let top = match query_param(q, "$top") {
            None => None,
            Some(t) => Some(t.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameter",
                    format!("The value '{t}' of '$top' is not a positive integer."),
                )
            })?),
        };
        let after = query_param(q, "$skiptoken").map(|t| crate::skiptoken::decode(&t)).transpose()?;
        Ok(Self { page: PageRequest { after, top }, expand: query_param(q, "$expand") })
    }
}

/// The absolute base URL clients reach this server at (no trailing slash).
pub(crate) struct BaseUrl(pub String);

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(url) = &state.public_url {
            return Ok(Self(url.trim_end_matches('/').to_string()));
        }
        Ok(Self(format!("{}://{}", state.scheme, host_of(&parts.headers, &parts.uri))))
    }
}

/// The host a request was sent to: `Host` (HTTP/1.1) or the URI's authority (HTTP/2).
pub(crate) fn host_of<'a>(headers: &'a axum::http::HeaderMap, uri: &'a axum::http::Uri) -> &'a str {
    headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("127.0.0.1")
}
