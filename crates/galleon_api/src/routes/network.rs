//! `Microsoft.Network`: virtual networks, network security groups, public IP addresses and
//! network interfaces, the records a VM's `networkProfile` refers to. Writes are synchronous
//! (201 created / 200 replaced, `provisioningState` Succeeded).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use galleon_core::Envelope;
use galleon_core::network::{NetworkRequest, NetworkResource};
use galleon_model::network::NetworkType;
use galleon_model::resource::Tracked;
use galleon_model::{GroupRef, Tags};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api_version::{ApiVersion, NETWORK};
use crate::error::ApiError;
use crate::extract::{ArmJson, ArmPath};

/// A PUT body.
#[derive(Deserialize)]
pub(super) struct Body {
    location: Option<String>,
    tags: Option<Tags>,
    #[serde(default)]
    properties: Value,
    sku: Option<Value>,
    zones: Option<Value>,
}

fn network_type(segment: &str) -> Result<NetworkType, ApiError> {
    NetworkType::from_segment(segment).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "InvalidResourceType",
            format!("The resource type '{segment}' could not be found in the namespace 'Microsoft.Network'. galleon serves virtualNetworks, networkSecurityGroups, publicIPAddresses and networkInterfaces."),
        )
    })
}

/// The wire form of a network resource.
pub(crate) fn to_wire(r: &Tracked<NetworkResource>) -> Value {
    let mut v = json!({
        "id": r.id,
        "name": r.name,
        "type": r.properties.ty.arm_type(),
        "location": r.location,
        "tags": r.tags,
        "etag": format!("W/\"{}\"", r.created_at.unix_timestamp()),
        "properties": r.properties.properties,
    });
    if let Some(sku) = &r.properties.sku {
        v["sku"] = sku.clone();
    }
    if let Some(zones) = &r.properties.zones {
        v["zones"] = zones.clone();
    }
    v
}

/// A list answer: every item in one page (network lists are not paged).
fn listed(items: &[Tracked<NetworkResource>]) -> Response {
    Json(galleon_api_types::List { value: items.iter().map(to_wire).collect(), next_link: None }).into_response()
}

pub(super) async fn put(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, ty, name)): ArmPath<(String, String, String, String)>,
    axum::Extension(claims): axum::Extension<galleon_core::auth::Claims>,
    ArmJson(body): ArmJson<Body>,
) -> Result<Response, ApiError> {
    let ty = network_type(&ty)?;
    api.require(NETWORK, &ty.arm_type())?;
    // Using a subnet, public IP or security group takes read access to it.
    let req = NetworkRequest { properties: body.properties, sku: body.sku, zones: body.zones };
    let req = s.core.check_links(&claims, &sub, req).await?;
    let env = Envelope::new(body.location, body.tags)?;
    let (r, created) = s.core.put_network(&GroupRef::new(&sub, &rg), ty, &name, env, req).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(to_wire(&r))).into_response())
}

pub(super) async fn get(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, ty, name)): ArmPath<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let ty = network_type(&ty)?;
    api.require(NETWORK, &ty.arm_type())?;
    Ok(Json(to_wire(&s.core.get_network(&GroupRef::new(&sub, &rg), ty, &name).await?)).into_response())
}

pub(super) async fn list_by_group(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, ty)): ArmPath<(String, String, String)>,
) -> Result<Response, ApiError> {
    let ty = network_type(&ty)?;
    api.require(NETWORK, &ty.arm_type())?;
    Ok(listed(&s.core.list_network(&sub, Some(&GroupRef::new(&sub, &rg)), ty).await?))
}

pub(super) async fn list_by_subscription(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, ty)): ArmPath<(String, String)>,
) -> Result<Response, ApiError> {
    let ty = network_type(&ty)?;
    api.require(NETWORK, &ty.arm_type())?;
    Ok(listed(&s.core.list_network(&sub, None, ty).await?))
}

pub(super) async fn delete(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, ty, name)): ArmPath<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let ty = network_type(&ty)?;
    api.require(NETWORK, &ty.arm_type())?;
    let deleted = s.core.delete_network(&GroupRef::new(&sub, &rg), ty, &name).await?;
    Ok(if deleted { StatusCode::OK } else { StatusCode::NO_CONTENT }.into_response())
}
