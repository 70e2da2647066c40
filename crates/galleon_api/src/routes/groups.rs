//! `Microsoft.Resources/resourceGroups`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use galleon_api_types::Resource;
use galleon_api_types::common::ResourceGroupProperties;
use galleon_model::GroupRef;
use galleon_model::resource::ResourceGroup;

use super::list_response;
use crate::AppState;
use crate::api_version::{ApiVersion, RESOURCES};
use crate::error::ApiError;
use crate::extract::{ArmJson, ArmPath, BaseUrl, ListQuery};
use crate::lro;

const TYPE: &str = "Microsoft.Resources/resourceGroups";

fn to_wire(g: &ResourceGroup) -> Resource<ResourceGroupProperties> {
    Resource {
        name: Some(g.name.clone()),
        id: Some(GroupRef::new(&g.subscription, &g.name).id()),
        kind: Some(TYPE.into()),
        location: Some(g.location.clone()),
        tags: Some(g.tags.clone()),
        properties: Some(ResourceGroupProperties { provisioning_state: Some("Succeeded".into()) }),
        identity: None,
    }
}

pub(super) async fn put(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg)): ArmPath<(String, String)>,
    ArmJson(body): ArmJson<Resource<serde_json::Value>>,
) -> Result<Response, ApiError> {
    api.require(RESOURCES, TYPE)?;
    let (group, created) = s.core.put_group(&GroupRef::new(&sub, &rg), body.location.as_deref(), body.tags).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(to_wire(&group))).into_response())
}

pub(super) async fn get(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg)): ArmPath<(String, String)>,
) -> Result<Response, ApiError> {
    api.require(RESOURCES, TYPE)?;
    Ok(Json(to_wire(&s.core.get_group(&GroupRef::new(&sub, &rg)).await?)).into_response())
}

pub(super) async fn list(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath(sub): ArmPath<String>,
    BaseUrl(base): BaseUrl,
    q: ListQuery,
    uri: Uri,
) -> Result<Response, ApiError> {
    api.require(RESOURCES, TYPE)?;
    let page = s.core.list_groups(&sub, &q.page).await?;
    Ok(list_response(&base, &uri, page, to_wire))
}

pub(super) async fn delete(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg)): ArmPath<(String, String)>,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ApiError> {
    let api = api.require(RESOURCES, TYPE)?;
    let op = s.core.delete_group(&GroupRef::new(&sub, &rg)).await?;
    Ok(lro::delete_started(&base, api, op))
}
