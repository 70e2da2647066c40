//! Event subscriptions (a galleon extension; any api-version), on a subscription or a gallery:
//! `{scope}/providers/Galleon.Events/eventSubscriptions[/{name}]` (GET, PUT, DELETE; a list),
//! `POST …/{name}/test` and `GET …/{name}/deadLetters`. The body is Event Grid's shape:
//! `properties.destination.endpointUrl`, `properties.filter.includedEventTypes`, and an optional
//! `properties.secret` (made when absent, answered by the create only). Reads need read access
//! to the scope, the rest write access.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use galleon_core::events::{EventScope, EventSubscription};
use galleon_model::GroupRef;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ArmJson, ArmPath};

type Params = ArmPath<HashMap<String, String>>;

fn scope(p: &HashMap<String, String>) -> EventScope {
    let sub = p.get("sub").cloned().unwrap_or_default();
    match (p.get("rg"), p.get("gallery")) {
        (Some(rg), Some(g)) => EventScope::Gallery(GroupRef::new(&sub, rg).gallery(g)),
        _ => EventScope::Subscription(sub),
    }
}

fn name(p: &HashMap<String, String>) -> String {
    p.get("name").cloned().unwrap_or_default()
}

fn wire(s: &EventSubscription, secret: Option<&str>) -> Value {
    let mut properties = json!({
        "destination": { "endpointType": "WebHook", "endpointUrl": s.endpoint },
        "filter": { "includedEventTypes": s.event_types },
        "provisioningState": "Succeeded",
        "createdTime": s.created,
        "pendingEvents": s.pending,
        "deadLetters": s.dead_letters,
    });
    if let Some(secret) = secret {
        properties["secret"] = json!(secret);
    }
    json!({ "id": s.id, "name": s.name, "type": "Galleon.Events/eventSubscriptions", "properties": properties })
}

#[derive(Deserialize)]
pub(super) struct Body {
    properties: Properties,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Properties {
    destination: Destination,
    #[serde(default)]
    filter: Option<Filter>,
    #[serde(default)]
    secret: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Destination {
    endpoint_url: String,
    #[serde(default)]
    #[allow(dead_code)] // Event Grid's field, accepted for its clients' sake
    endpoint_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(default)]
    included_event_types: Option<Vec<String>>,
}

pub(super) async fn put(
    State(s): State<AppState>,
    ArmPath(p): Params,
    ArmJson(body): ArmJson<Body>,
) -> Result<Response, ApiError> {
    let b = body.properties;
    let types = b.filter.and_then(|f| f.included_event_types);
    let created =
        s.core.put_event_subscription(&scope(&p), &name(&p), &b.destination.endpoint_url, types, b.secret).await?;
    Ok((StatusCode::CREATED, Json(wire(&created.subscription, Some(&created.secret)))).into_response())
}

pub(super) async fn get(State(s): State<AppState>, ArmPath(p): Params) -> Result<Json<Value>, ApiError> {
    Ok(Json(wire(&s.core.get_event_subscription(&scope(&p), &name(&p)).await?, None)))
}

pub(super) async fn list(State(s): State<AppState>, ArmPath(p): Params) -> Result<Json<Value>, ApiError> {
    let subs = s.core.list_event_subscriptions(&scope(&p)).await?;
    Ok(Json(json!({ "value": subs.iter().map(|x| wire(x, None)).collect::<Vec<_>>() })))
}

pub(super) async fn delete(State(s): State<AppState>, ArmPath(p): Params) -> Result<StatusCode, ApiError> {
    let had = s.core.delete_event_subscription(&scope(&p), &name(&p)).await?;
    Ok(if had { StatusCode::OK } else { StatusCode::NO_CONTENT })
}

/// `POST …/{name}/test`: a `galleon.test` event through the outbox; answers the event.
pub(super) async fn test(State(s): State<AppState>, ArmPath(p): Params) -> Result<Response, ApiError> {
    let event = s.core.test_event_subscription(&scope(&p), &name(&p)).await?;
    Ok((StatusCode::ACCEPTED, Json(event)).into_response())
}

/// `GET …/{name}/deadLetters`: events given up on, with their attempts and last error.
pub(super) async fn dead_letters(State(s): State<AppState>, ArmPath(p): Params) -> Result<Json<Value>, ApiError> {
    let dead = s.core.dead_letters(&scope(&p), &name(&p)).await?;
    Ok(Json(json!({ "value": dead })))
}
