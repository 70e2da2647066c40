//! The `api-version` query parameter: required everywhere under `/subscriptions`, and checked
//! against the versions the official clients send for each family of resource types.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use crate::error::ApiError;

/// Gallery, image and version api-versions (arm-api.md §1; clients.md §3.5).
pub const COMPUTE_GALLERY: &[&str] = &[
    "2018-06-01",
    "2019-03-01",
    "2019-07-01",
    "2019-12-01",
    "2020-09-30",
    "2021-07-01",
    "2021-10-01",
    "2022-01-03",
    "2022-03-03",
    "2022-08-03",
    "2023-07-03",
    "2024-03-03",
    "2025-03-03",
    "2025-12-03",
    "2026-03-03",
];

/// Compute resource provider api-versions (managed images, and later virtual machines).
pub const COMPUTE_RP: &[&str] = &[
    "2015-06-15",
    "2016-03-30",
    "2016-04-30-preview",
    "2017-03-30",
    "2017-12-01",
    "2018-04-01",
    "2018-06-01",
    "2018-10-01",
    "2019-03-01",
    "2019-07-01",
    "2019-12-01",
    "2020-06-01",
    "2020-12-01",
    "2021-03-01",
    "2021-04-01",
    "2021-07-01",
    "2021-11-01",
    "2022-03-01",
    "2022-08-01",
    "2022-11-01",
    "2023-03-01",
    "2023-07-01",
    "2023-09-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-04-01",
    "2025-11-01",
    "2026-03-01",
    "2026-04-01",
];

/// Disk and snapshot api-versions.
pub const DISKS: &[&str] = &[
    "2016-04-30-preview",
    "2017-03-30",
    "2018-04-01",
    "2018-06-01",
    "2018-09-30",
    "2019-03-01",
    "2019-07-01",
    "2019-11-01",
    "2020-05-01",
    "2020-06-30",
    "2020-09-30",
    "2020-12-01",
    "2021-04-01",
    "2021-08-01",
    "2021-12-01",
    "2022-03-02",
    "2022-07-02",
    "2023-01-02",
    "2023-04-02",
    "2023-10-02",
    "2024-03-02",
    "2025-01-02",
    "2026-03-02",
];

/// `Microsoft.Resources` api-versions (resource groups).
pub const RESOURCES: &[&str] = &[
    "2014-04-01",
    "2015-11-01",
    "2016-02-01",
    "2016-06-01",
    "2016-07-01",
    "2016-09-01",
    "2017-05-10",
    "2018-02-01",
    "2018-05-01",
    "2019-03-01",
    "2019-05-01",
    "2019-05-10",
    "2019-07-01",
    "2019-08-01",
    "2019-10-01",
    "2020-06-01",
    "2020-08-01",
    "2020-10-01",
    "2021-01-01",
    "2021-04-01",
    "2022-09-01",
    "2023-07-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-03-01",
    "2025-04-01",
];

/// Subscription and tenant api-versions.
pub const SUBSCRIPTIONS: &[&str] = &[
    "2014-04-01",
    "2015-01-01",
    "2016-06-01",
    "2018-06-01",
    "2019-06-01",
    "2019-11-01",
    "2020-01-01",
    "2021-01-01",
    "2022-01-01",
    "2022-09-01",
    "2022-12-01",
    "2023-07-01",
    "2024-08-01",
    "2025-03-01",
];

/// Network resource provider api-versions (virtual networks, security groups, public IPs,
/// interfaces), as the SDKs and `az` send them.
pub const NETWORK: &[&str] = &[
    "2015-05-01-preview",
    "2015-06-15",
    "2016-03-30",
    "2016-06-01",
    "2016-07-01",
    "2016-08-01",
    "2016-09-01",
    "2016-10-01",
    "2016-11-01",
    "2016-12-01",
    "2017-03-01",
    "2017-06-01",
    "2017-08-01",
    "2017-09-01",
    "2018-01-01",
    "2018-02-01",
    "2018-04-01",
    "2018-06-01",
    "2018-07-01",
    "2018-08-01",
    "2018-10-01",
    "2018-11-01",
    "2018-12-01",
    "2019-02-01",
    "2019-04-01",
    "2019-06-01",
    "2019-07-01",
    "2019-08-01",
    "2019-09-01",
    "2019-11-01",
    "2019-12-01",
    "2020-03-01",
    "2020-04-01",
    "2020-05-01",
    "2020-06-01",
    "2020-07-01",
    "2020-08-01",
    "2020-11-01",
    "2021-02-01",
    "2021-03-01",
    "2021-05-01",
    "2021-08-01",
    "2022-01-01",
    "2022-05-01",
    "2022-07-01",
    "2022-09-01",
    "2022-11-01",
    "2023-02-01",
    "2023-04-01",
    "2023-05-01",
    "2023-06-01",
    "2023-09-01",
    "2023-11-01",
    "2024-01-01",
    "2024-03-01",
    "2024-05-01",
    "2024-07-01",
    "2024-10-01",
    "2025-01-01",
    "2025-03-01",
    "2025-05-01",
    "2025-07-01",
];

/// The `api-version` a request carries (any value; see [`ApiVersion::require`]).
#[derive(Debug, Clone)]
pub struct ApiVersion(pub String);

impl ApiVersion {
    /// Checks the version against a family; `resource_type` names the type in the error.
    pub fn require(&self, family: &[&str], resource_type: &str) -> Result<&str, ApiError> {
        if family.contains(&self.0.as_str()) {
            return Ok(&self.0);
        }
        let supported = family.iter().rev().copied().collect::<Vec<_>>().join(", ");
        let (code, message) = if family == RESOURCES || family == SUBSCRIPTIONS {
            (
                "InvalidApiVersionParameter",
                format!("The api-version '{}' is invalid. The supported versions are '{supported}'.", self.0),
            )
        } else {
            (
                "NoRegisteredProviderFound",
                format!(
                    "No registered resource provider found for location 'global' and API version '{}' for type '{resource_type}'. The supported api-versions are '{supported}'.",
                    self.0
                ),
            )
        };
        Err(ApiError::new(StatusCode::BAD_REQUEST, code, message))
    }
}

/// The value of one query parameter, decoded (its name matched without regard to case). Reads
/// the query lazily: every ARM request asks for its api-version this way.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.into_owned())
}

impl<S: Send + Sync> FromRequestParts<S> for ApiVersion {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match query_param(parts.uri.query(), "api-version") {
            Some(v) if !v.is_empty() => Ok(Self(v)),
            _ => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::query_param;

    #[test]
    fn a_query_parameter_is_found_by_name_in_any_case_and_decoded() {
        let q = Some("api-version=2024-03-03&%24expand=ReplicationStatus&%24filter=name+eq+%27a%26b%27&API-Version=x");
        assert_eq!(query_param(q, "api-version").as_deref(), Some("2024-03-03"), "the first one wins");
        assert_eq!(query_param(q, "$Expand").as_deref(), Some("ReplicationStatus"));
        assert_eq!(query_param(q, "$filter").as_deref(), Some("name eq 'a&b'"));
        assert_eq!(query_param(q, "missing"), None);
        assert_eq!(query_param(None, "api-version"), None);
        assert_eq!(query_param(Some("api-version"), "api-version").as_deref(), Some(""));
    }
}
