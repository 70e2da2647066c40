//! `Microsoft.Resources/deployments` at resource-group scope: what `az vm create`, `az
//! deployment group create` and the SDKs use to create several resources at once. The template
//! is evaluated before anything happens (an `InvalidTemplate` changes nothing); then a run
//! PUTs each resource, in `dependsOn` order, through the ARM router with the caller's token —
//! so every resource gets the same validation and authorization as when sent alone — waiting
//! for each long-running one. Deployments are incremental, as ARM's default: a failed one
//! leaves what it made, and running it again converges. A run lives in this process; one cut
//! short by a restart reports `Failed` and is deployed again by the client.

mod jsonc;
mod writer;

pub(crate) use writer::RouterWriter;
pub(crate) mod template;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use galleon_core::{Caller, Deployment, PlannedStep, deployment_id};
use galleon_model::GroupRef;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::AppState;
use crate::api_version::{ApiVersion, RESOURCES};
use crate::error::ApiError;
use crate::extract::{ArmPath, BaseUrl};
use template::{Planned, Scope};

const TYPE: &str = "Microsoft.Resources/deployments";

/// Resource types a template may hold: the ones galleon serves.
const DEPLOYABLE: [&str; 11] = [
    "Microsoft.Network/virtualNetworks",
    "Microsoft.Network/networkSecurityGroups",
    "Microsoft.Network/publicIPAddresses",
    "Microsoft.Network/networkInterfaces",
    "Microsoft.Compute/disks",
    "Microsoft.Compute/snapshots",
    "Microsoft.Compute/images",
    "Microsoft.Compute/virtualMachines",
    "Microsoft.Compute/galleries",
    "Microsoft.Compute/galleries/images",
    "Microsoft.Compute/galleries/images/versions",
];

fn invalid_template(message: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "InvalidTemplate",
        format!("Deployment template validation failed: '{message}'."),
    )
}

/// The state and error clients see.
fn effective(d: &Deployment) -> (String, Option<(String, String, String)>) {
    (d.state.clone(), d.error.clone())
}

fn error_wire(e: &(String, String, String)) -> Value {
    json!({
        "code": "DeploymentFailed",
        "message": "At least one resource deployment operation failed. Please list deployment operations for details.",
        "details": [{ "code": e.0, "message": e.1, "target": e.2 }],
    })
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn to_wire(d: &Deployment) -> Value {
    let (state, error) = effective(d);
    let end = d.ended.unwrap_or_else(OffsetDateTime::now_utc);
    let mut props = json!({
        "provisioningState": state,
        "mode": d.mode,
        "timestamp": rfc3339(d.ended.unwrap_or(d.started)),
        "duration": format!("PT{:.3}S", (end - d.started).as_seconds_f64()),
        "correlationId": d.correlation_id,
        "outputResources": d.output_resources.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>(),
        "outputs": {},
        "dependencies": [],
        "providers": [],
        "templateHash": "",
    });
    if let Some(e) = &error {
        props["error"] = error_wire(e);
    }
    json!({ "id": d.id, "name": d.name, "type": TYPE, "properties": props })
}

type DeploymentPath = ArmPath<(String, String, String)>;

/// A deployment body: JSON, or the JSONC `az deployment group create` sends.
fn parse_body(bytes: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|_| invalid_content("the body is not UTF-8".into()))?;
    serde_json::from_str(text)
        .or_else(|_| serde_json::from_str(&jsonc::to_json(text)))
        .map_err(|e| invalid_content(e.to_string()))
}

fn invalid_content(reason: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "InvalidRequestContent",
        format!("The request content was invalid and could not be deserialized: '{reason}'."),
    )
}

/// Checks a deployment request and evaluates its template: what `PUT` and `validate` share.
/// Nothing is written.
async fn prepare(s: &AppState, group: &GroupRef, body: &Value) -> Result<Vec<Planned>, ApiError> {
    let location = s.core.get_group(group).await?.location;
    let props = &body["properties"];
    if props.get("templateLink").is_some_and(|v| !v.is_null())
        || props.get("parametersLink").is_some_and(|v| !v.is_null())
    {
        return Err(invalid_template(
            "Linked templates and parameter files are not supported; send the template inline".into(),
        ));
    }
    let mode = props["mode"].as_str().unwrap_or("Incremental");
    if !mode.eq_ignore_ascii_case("Incremental") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidDeploymentMode",
            format!("The deployment mode '{mode}' is not supported: galleon runs Incremental deployments only."),
        ));
    }
    if !props["template"].is_object() {
        return Err(invalid_template("The request has no template".into()));
    }
    let scope = Scope { subscription: &group.subscription, resource_group: &group.resource_group, location: &location };
    let plan = template::plan(&props["template"], &props["parameters"], &scope).map_err(|e| invalid_template(e.0))?;
    if let Some(p) = plan.iter().find(|p| !DEPLOYABLE.iter().any(|t| t.eq_ignore_ascii_case(&p.resource_type))) {
        return Err(invalid_template(format!(
            "The resource type '{}' of '{}' is not served by galleon",
            p.resource_type, p.name
        )));
    }
    Ok(plan)
}

/// `POST …/deployments/{name}/validate`: the checks a deployment starts with, nothing written
/// (`az deployment group create` asks this first).
pub(crate) async fn validate(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, name)): DeploymentPath,
    body: Bytes,
) -> Result<Response, ApiError> {
    api.require(RESOURCES, TYPE)?;
    let group = GroupRef::new(&sub, &rg);
    let body = parse_body(&body)?;
    let plan = prepare(&s, &group, &body).await?;
    Ok(Json(json!({
        "id": deployment_id(&group, &name),
        "name": name,
        "type": TYPE,
        "properties": {
            "provisioningState": "Succeeded",
            "mode": "Incremental",
            "timestamp": rfc3339(OffsetDateTime::now_utc()),
            "validatedResources": plan.iter().map(|p| json!({ "id": p.id })).collect::<Vec<_>>(),
        },
    }))
    .into_response())
}

/// `PUT …/deployments/{name}`: evaluate, record, start the run; 201 with the operation URL.
pub(crate) async fn put(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, name)): DeploymentPath,
    BaseUrl(base): BaseUrl,
    headers: HeaderMap,
    axum::Extension(claims): axum::Extension<galleon_core::auth::Claims>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let api = api.require(RESOURCES, TYPE)?.to_string();
    let group = GroupRef::new(&sub, &rg);
    let body = parse_body(&body)?;
    let plan = prepare(&s, &group, &body).await?;
    if let Ok(existing) = s.core.get_deployment(&group, &name).await
        && matches!(existing.state.as_str(), "Accepted" | "Running")
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "DeploymentActive",
            format!("The deployment '{name}' is still running. Wait for it to finish before deploying it again."),
        ));
    }
    let record = Deployment {
        id: deployment_id(&group, &name),
        name: name.clone(),
        state: "Accepted".into(),
        run: uuid::Uuid::new_v4().to_string(),
        mode: "Incremental".into(),
        started: OffsetDateTime::now_utc(),
        ended: None,
        output_resources: vec![],
        planned: plan.iter().map(|p| p.id.clone()).collect(),
        error: None,
        correlation_id: headers
            .get("x-ms-correlation-request-id")
            .and_then(|h| h.to_str().ok())
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string),
        plan: plan.into_iter().map(|p| PlannedStep { id: p.id, api_version: p.api_version, body: p.body }).collect(),
        caller: Some(Caller { appid: claims.appid.clone(), oid: claims.oid.clone() }),
        waiting_on: None,
    };
    // A durable job runs it (and resumes it after a restart), acting as the caller.
    s.core.start_deployment(&group, &record).await?;
    let operation = format!("{base}{}/operationStatuses/{}?api-version={api}", record.id, record.run);
    let mut resp = (StatusCode::CREATED, Json(to_wire(&record))).into_response();
    if let Ok(v) = HeaderValue::from_str(&operation) {
        resp.headers_mut().insert("azure-asyncoperation", v);
    }
    resp.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
    Ok(resp)
}

pub(crate) async fn get(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, name)): DeploymentPath,
) -> Result<Response, ApiError> {
    api.require(RESOURCES, TYPE)?;
    Ok(Json(to_wire(&s.core.get_deployment(&GroupRef::new(&sub, &rg), &name).await?)).into_response())
}

pub(crate) async fn list(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg)): ArmPath<(String, String)>,
) -> Result<Response, ApiError> {
    api.require(RESOURCES, TYPE)?;
    let all = s.core.list_deployments(&GroupRef::new(&sub, &rg)).await?;
    Ok(Json(json!({ "value": all.iter().map(to_wire).collect::<Vec<_>>() })).into_response())
}

pub(crate) async fn delete(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, name)): DeploymentPath,
) -> Result<Response, ApiError> {
    api.require(RESOURCES, TYPE)?;
    let group = GroupRef::new(&sub, &rg);
    if let Ok(d) = s.core.get_deployment(&group, &name).await
        && matches!(d.state.as_str(), "Accepted" | "Running")
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "DeploymentActive",
            format!("The deployment '{name}' is still running."),
        ));
    }
    // ARM answers 202 then 204; the record goes at once, so 204 (as for one that is absent).
    s.core.delete_deployment(&group, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET …/deployments/{name}/operationStatuses/{run}`.
pub(crate) async fn operation(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, name, run)): ArmPath<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    api.require(RESOURCES, TYPE)?;
    let d = s.core.get_deployment(&GroupRef::new(&sub, &rg), &name).await?;
    if d.run != run {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "OperationNotFound",
            format!("The operation '{run}' was not found."),
        ));
    }
    let (state, error) = effective(&d);
    let status = if matches!(state.as_str(), "Accepted" | "Running") { "Running".to_string() } else { state };
    let running = status == "Running";
    let mut body = json!({ "status": status });
    if let Some(e) = &error {
        body["error"] = error_wire(e);
    }
    let mut resp = Json(body).into_response();
    if running {
        resp.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
    }
    Ok(resp)
}
