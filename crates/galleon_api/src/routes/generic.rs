//! What ARM serves over every provider: `…/resources` lists, `/providers` metadata (which
//! `az resource show --ids` reads to pick an api-version) and a subscription's locations.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use galleon_core::generic::GenericResource;
use serde_json::{Value, json};

use super::list_response;
use crate::AppState;
use crate::api_version::{
    ApiVersion, COMPUTE_GALLERY, COMPUTE_RP, DISKS, NETWORK, RESOURCES, SUBSCRIPTIONS, query_param,
};
use crate::error::ApiError;
use crate::extract::{ArmPath, BaseUrl, ListQuery, ListScope};

fn wire(r: &GenericResource) -> Value {
    json!({ "id": r.id, "name": r.name, "type": r.resource_type, "location": r.location, "tags": r.tags })
}

/// The one `$filter` galleon answers: `resourceType eq 'Namespace/type'`.
fn resource_type_filter(uri: &Uri) -> Result<Option<String>, ApiError> {
    let Some(filter) = query_param(uri.query(), "$filter") else { return Ok(None) };
    let parsed = filter.trim().split_once(' ').and_then(|(field, rest)| {
        let value = rest.trim_start().strip_prefix("eq")?.trim();
        let value = value.strip_prefix('\'')?.strip_suffix('\'')?;
        field.eq_ignore_ascii_case("resourceType").then(|| value.to_string())
    });
    parsed.map(Some).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidFilterInQueryString",
            format!("The $filter '{filter}' is not supported; galleon filters on resourceType eq '<type>'."),
        )
    })
}

/// A subscription's or a group's resources.
pub(super) async fn list(
    State(s): State<AppState>,
    api: ApiVersion,
    scope: ListScope,
    BaseUrl(base): BaseUrl,
    q: ListQuery,
    uri: Uri,
) -> Result<Response, ApiError> {
    api.require(RESOURCES, "resources")?;
    let filter = resource_type_filter(&uri)?;
    let page = s.core.list_resources(&scope.sub, scope.group.as_ref(), filter.as_deref(), &q.page).await?;
    Ok(list_response(&base, &uri, page, wire))
}

/// The subscription's locations: the regions this deployment serves.
pub(super) async fn locations(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(sub): ArmPath<String>,
) -> Result<Response, ApiError> {
    api.require(SUBSCRIPTIONS, "locations")?;
    s.core.require_subscription(&sub).await?;
    let value: Vec<Value> = s
        .core
        .config()
        .regions
        .iter()
        .map(|name| {
            let display = galleon_model::region::display_name(name);
            json!({ "id": format!("/subscriptions/{sub}/locations/{name}"), "name": name, "type": "Region",
                "displayName": display, "regionalDisplayName": display,
                "metadata": { "regionType": "Physical", "regionCategory": "Recommended" } })
        })
        .collect();
    Ok(Json(json!({ "value": value })).into_response())
}

/// A resource type and the api-versions it takes.
type TypeVersions = (&'static str, &'static [&'static str]);

/// The namespaces galleon serves, with their resource types and the api-versions each takes.
fn catalogue() -> Vec<(&'static str, Vec<TypeVersions>)> {
    vec![
        (
            "Microsoft.Compute",
            vec![
                ("galleries", COMPUTE_GALLERY),
                ("galleries/images", COMPUTE_GALLERY),
                ("galleries/images/versions", COMPUTE_GALLERY),
                ("disks", DISKS),
                ("snapshots", DISKS),
                ("images", COMPUTE_RP),
                ("virtualMachines", COMPUTE_RP),
                ("locations", COMPUTE_RP),
                ("locations/capsOperations", COMPUTE_GALLERY),
            ],
        ),
        (
            "Microsoft.Network",
            vec![
                ("virtualNetworks", NETWORK),
                ("networkInterfaces", NETWORK),
                ("networkSecurityGroups", NETWORK),
                ("publicIPAddresses", NETWORK),
            ],
        ),
        (
            "Microsoft.Resources",
            vec![("resourceGroups", RESOURCES), ("deployments", RESOURCES), ("resources", RESOURCES)],
        ),
        ("Microsoft.Authorization", vec![("roleAssignments", AUTHORIZATION), ("roleDefinitions", AUTHORIZATION)]),
    ]
}

/// Role assignment and definition api-versions the clients send.
const AUTHORIZATION: &[&str] = &["2018-01-01-preview", "2020-04-01-preview", "2022-04-01"];

fn provider_wire(prefix: &str, namespace: &str, types: &[TypeVersions], regions: &[String]) -> Value {
    let locations: Vec<String> = regions.iter().map(|r| galleon_model::region::display_name(r)).collect();
    json!({
        "id": format!("{prefix}/providers/{namespace}"),
        "namespace": namespace,
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": types.iter().map(|(t, versions)| json!({
            "resourceType": t,
            "locations": locations,
            "apiVersions": versions.iter().rev().collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn providers(s: &AppState, prefix: &str, namespace: Option<&str>) -> Result<Response, ApiError> {
    let regions = &s.core.config().regions;
    let all = catalogue();
    match namespace {
        None => {
            let value: Vec<Value> = all.iter().map(|(ns, types)| provider_wire(prefix, ns, types, regions)).collect();
            Ok(Json(json!({ "value": value })).into_response())
        }
        Some(ns) => {
            let found = all.iter().find(|(name, _)| name.eq_ignore_ascii_case(ns)).ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "InvalidResourceNamespace",
                    format!("The resource namespace '{ns}' is invalid."),
                )
            })?;
            Ok(Json(provider_wire(prefix, found.0, &found.1, regions)).into_response())
        }
    }
}

pub(super) async fn tenant_providers(State(s): State<AppState>, api: ApiVersion) -> Result<Response, ApiError> {
    api.require(RESOURCES, "providers")?;
    providers(&s, "", None)
}

pub(super) async fn tenant_provider(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(ns): ArmPath<String>,
) -> Result<Response, ApiError> {
    api.require(RESOURCES, "providers")?;
    providers(&s, "", Some(&ns))
}

pub(super) async fn subscription_providers(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(sub): ArmPath<String>,
) -> Result<Response, ApiError> {
    api.require(RESOURCES, "providers")?;
    s.core.require_subscription(&sub).await?;
    providers(&s, &format!("/subscriptions/{sub}"), None)
}

pub(super) async fn subscription_provider(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, ns)): ArmPath<(String, String)>,
) -> Result<Response, ApiError> {
    api.require(RESOURCES, "providers")?;
    s.core.require_subscription(&sub).await?;
    providers(&s, &format!("/subscriptions/{sub}"), Some(&ns))
}
