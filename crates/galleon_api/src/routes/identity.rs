//! What clients call before ARM: health, cloud metadata (`az cloud register`), and an
//! OpenID/OAuth2 issuer for the client-credentials grant (MSAL, azure-identity, `az login
//! --service-principal`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use galleon_core::CoreError;
use galleon_core::auth::{AUDIENCES, GRAPH_PATH};
use serde_json::{Value, json};

use crate::AppState;
use crate::api_version::query_param;
use crate::extract::{ArmPath, BaseUrl};

pub(super) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 when the metadata store and every region store answer, else 503 naming
/// what does not (no token: load balancers probe it).
pub(super) async fn readyz(State(s): State<AppState>) -> Response {
    let readiness = s.core.readiness().await;
    let status = if readiness.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(serde_json::to_value(readiness).unwrap_or_default())).into_response()
}

/// ARM cloud metadata. From 2022-09-01 one object; before, an array of clouds (the form
/// `ARM_CLOUD_METADATA_URL` expects).
pub(super) async fn metadata_endpoints(BaseUrl(base): BaseUrl, uri: Uri) -> Json<Value> {
    let cloud = json!({
        "name": "galleon",
        "portal": format!("{base}/portal"),
        "resourceManager": format!("{base}/"),
        "authentication": {
            "loginEndpoint": format!("{base}/"),
            "audiences": AUDIENCES[..2],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": format!("{base}/"),
        "graphAudience": format!("{base}{GRAPH_PATH}/"),
        "graph": format!("{base}{GRAPH_PATH}/"),
        "gallery": format!("{base}/"),
        "batch": format!("{base}/"),
        "sqlManagement": format!("{base}/"),
        "vmImageAliasDoc": format!("{base}/"),
        "microsoftGraphResourceId": format!("{base}{GRAPH_PATH}/"),
        "suffixes": { "storage": "core.windows.net", "keyVaultDns": "vault.azure.net", "sqlServerHostname": "database.windows.net" },
    });
    let version = query_param(uri.query(), "api-version").unwrap_or_default();
    if version.as_str() >= "2022-09-01" { Json(cloud) } else { Json(json!([cloud])) }
}

pub(super) async fn openid_configuration(ArmPath(tenant): ArmPath<String>, BaseUrl(base): BaseUrl) -> Json<Value> {
    Json(json!({
        "issuer": format!("{base}/{tenant}/v2.0"),
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "response_types_supported": ["token"],
        "grant_types_supported": ["client_credentials"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "tenant_region_scope": null,
        "cloud_instance_name": "galleon",
    }))
}

pub(super) async fn jwks(State(s): State<AppState>) -> Json<Value> {
    Json(s.core.tokens().jwks())
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({ "error": error, "error_description": description }))).into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token`, client-credentials grant, form-encoded.
pub(super) async fn token(
    State(s): State<AppState>,
    ArmPath(tenant): ArmPath<String>,
    BaseUrl(base): BaseUrl,
    peer: Option<axum::Extension<crate::PeerAddr>>,
    body: Bytes,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS900144: The request body must be application/x-www-form-urlencoded.",
        );
    };
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if field("grant_type") != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "AADSTS70003: Only the client_credentials grant is supported.",
        );
    }
    let (Some(client_id), Some(secret)) = (field("client_id"), field("client_secret")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS900144: The request body must contain client_id and client_secret.",
        );
    };
    let scope = field("scope").unwrap_or("https://management.azure.com/.default");
    let source = peer.map_or_else(|| "unknown".to_string(), |p| p.0.0.ip().to_string());
    match s.core.issue_token(&tenant, client_id, secret, scope, &format!("{base}/{tenant}/v2.0"), &source).await {
        Ok((access_token, expires_in)) => Json(json!({
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": access_token,
        }))
        .into_response(),
        Err(CoreError::Unauthenticated(kind)) => {
            let (status, code) = crate::error::oauth_status(&kind);
            metrics::counter!("galleon_token_failures_total", "error" => code).increment(1);
            oauth_error(status, code, &kind.to_string())
        }
        Err(e) => {
            tracing::error!(error = %e, "token endpoint");
            let (status, retry_after) = crate::error::oauth_failure_status(&e);
            let mut resp = oauth_error(status, "temporarily_unavailable", "The token service is unavailable. Retry.");
            if let Some(seconds) = retry_after {
                resp.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
            }
            resp
        }
    }
}

/// `GET /galleon/regions`: the regions served and their stores (tenant administrators only).
pub(super) async fn regions(State(s): State<AppState>) -> Json<Value> {
    Json(json!({ "value": s.core.list_regions() }))
}

/// `GET /galleon/regions/{region}`: a region's stores with what each holds (walks every store).
pub(super) async fn region(
    State(s): State<AppState>,
    ArmPath(region): ArmPath<String>,
) -> Result<Json<Value>, crate::error::ApiError> {
    let info = s.core.show_region(&galleon_model::region::canonical(&region)).await?;
    Ok(Json(serde_json::to_value(info).unwrap_or_default()))
}

/// `POST /galleon/regions/{region}/scrub`: re-hash a region's stores and repair what can be
/// repaired (galleon's own operation; not part of ARM).
pub(super) async fn scrub(
    State(s): State<AppState>,
    ArmPath(region): ArmPath<String>,
    BaseUrl(base): BaseUrl,
) -> Result<Response, crate::error::ApiError> {
    let op = s.core.start_scrub(&galleon_model::region::canonical(&region)).await?;
    Ok(maintenance_accepted(&base, &op))
}

/// `GET /galleon/regions/{region}/scrub`: how far the latest scrub of the region got (the store
/// it is in, chunks re-hashed of how many, stores done), so a caller can draw its progress.
pub(super) async fn scrub_progress(
    State(s): State<AppState>,
    ArmPath(region): ArmPath<String>,
) -> Result<Json<Value>, crate::error::ApiError> {
    let progress = s.core.scrub_progress(&galleon_model::region::canonical(&region)).await?;
    Ok(Json(serde_json::to_value(progress).unwrap_or_default()))
}

/// `POST /galleon/gc[?graceSeconds=N]`: collect garbage, sparing chunks younger than the grace
/// period (default one hour, as the background collector). 202 with the operation to poll.
/// `POST /galleon/keys/rotate`: a new token signing key, published now and signing a minute
/// later on every node (galleon's own operation; tenant administrators only).
pub(super) async fn rotate_keys(State(s): State<AppState>) -> Result<Json<Value>, crate::error::ApiError> {
    let rotation = s.core.rotate_signing_key().await?;
    Ok(Json(serde_json::to_value(rotation).unwrap_or_default()))
}

/// `GET /galleon/nodes`: the nodes serving from this metadata store and whether they are heard
/// from (tenant administrators only).
pub(super) async fn nodes(State(s): State<AppState>) -> Result<Json<Value>, crate::error::ApiError> {
    let nodes = s.core.list_nodes().await?;
    Ok(Json(json!({ "value": nodes })))
}

pub(super) async fn gc(
    State(s): State<AppState>,
    BaseUrl(base): BaseUrl,
    uri: axum::http::Uri,
) -> Result<Response, crate::error::ApiError> {
    let grace = match crate::api_version::query_param(uri.query(), "graceSeconds") {
        None => 3600,
        Some(v) => v.parse::<u64>().map_err(|_| {
            crate::error::ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "InvalidParameter",
                format!("graceSeconds must be a whole number of seconds, not '{v}'."),
            )
        })?,
    };
    let op = s.core.start_gc(grace).await?;
    Ok(maintenance_accepted(&base, &op))
}

/// `GET /galleon/gc`: whether a collection runs, the periodic schedule, and what the last one did.
pub(super) async fn gc_status(State(s): State<AppState>) -> Result<Json<Value>, crate::error::ApiError> {
    Ok(Json(serde_json::to_value(s.core.gc_status().await?).unwrap_or_default()))
}

/// 202 with the maintenance operation's status URL.
fn maintenance_accepted(base: &str, op: &galleon_core::OperationInfo) -> Response {
    let url = format!("{base}/galleon/operations/{}", op.id);
    crate::lro::started(&url, &url)
}

/// `GET /galleon/operations/{id}`: a maintenance operation's status; its result (the reports)
/// is `properties.output` once it succeeded.
pub(super) async fn maintenance_operation(
    State(s): State<AppState>,
    ArmPath(id): ArmPath<String>,
) -> Result<Response, crate::error::ApiError> {
    let op = s.core.get_maintenance_operation(&id).await?;
    Ok(super::operations::status_response(&op))
}
