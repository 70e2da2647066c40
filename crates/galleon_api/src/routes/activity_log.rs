//! `GET /subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values`: the
//! activity log, with Azure's `$filter` (a time range, then one of resource group, resource,
//! provider or correlation id, and optionally caller and status), `$select` and paging.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use galleon_api_types::dates;
use galleon_core::activity::{ActivityEvent, ActivityFilter, sub_status};
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::api_version::{ApiVersion, query_param};
use crate::error::ApiError;
use crate::extract::{ArmPath, BaseUrl};

/// The api-versions of `Microsoft.Insights/eventtypes/values`.
const ACTIVITY_LOG: &[&str] = &["2015-04-01"];

/// The longest time range one query may span, as Azure allows.
const MAX_RANGE: time::Duration = time::Duration::days(90);

fn bad_filter(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "BadRequest", message.into())
}

/// Splits `a and b and c` (the keyword in any case, outside quotes).
fn clauses(filter: &str) -> Vec<String> {
    let (mut out, mut current, mut quoted) = (Vec::new(), String::new(), false);
    let words: Vec<&str> = filter.split(' ').collect();
    for word in words {
        if !quoted && word.eq_ignore_ascii_case("and") {
            out.push(std::mem::take(&mut current));
            continue;
        }
        quoted ^= word.matches('\'').count() % 2 == 1;
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    out.push(current);
    out.into_iter().map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect()
}

/// Parses `$filter`.
fn parse_filter(filter: &str) -> Result<ActivityFilter, ApiError> {
    let mut f = ActivityFilter::default();
    for clause in clauses(filter) {
        let mut parts = clause.splitn(3, ' ');
        let (field, op, value) = match (parts.next(), parts.next(), parts.next()) {
            (Some(a), Some(b), Some(c)) => (a, b.to_ascii_lowercase(), c.trim()),
            _ => return Err(bad_filter(format!("The $filter clause '{clause}' is not 'field op value'."))),
        };
        let value = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).unwrap_or(value).to_string();
        let slot = match (field.to_ascii_lowercase().as_str(), op.as_str()) {
            ("eventtimestamp", "ge") => {
                f.from = Some(dates::parse("$filter eventTimestamp", &value)?);
                continue;
            }
            ("eventtimestamp", "le") => {
                f.to = Some(dates::parse("$filter eventTimestamp", &value)?);
                continue;
            }
            ("resourcegroupname", "eq") => &mut f.resource_group,
            ("resourceid" | "resourceuri", "eq") => &mut f.resource_id,
            ("resourceprovider", "eq") => &mut f.resource_provider,
            ("correlationid", "eq") => &mut f.correlation_id,
            ("caller", "eq") => &mut f.caller,
            ("status", "eq") => &mut f.status,
            _ => {
                return Err(bad_filter(format!(
                    "The $filter clause '{clause}' is not supported: use eventTimestamp ge/le, and resourceGroupName, resourceId, resourceUri, resourceProvider, correlationId, caller or status eq."
                )));
            }
        };
        *slot = Some(value);
    }
    let Some(from) = f.from else {
        return Err(bad_filter("The $filter must give a start time: eventTimestamp ge '…'."));
    };
    let to = f.to.unwrap_or_else(time::OffsetDateTime::now_utc);
    if to < from {
        return Err(bad_filter("The $filter's end time is before its start time."));
    }
    if to - from > MAX_RANGE {
        return Err(bad_filter("The $filter's time range is longer than 90 days."));
    }
    Ok(f)
}

fn localized(value: &str) -> Value {
    json!({ "value": value, "localizedValue": value })
}

/// An event in Azure's `EventData` shape.
fn event_data(e: &ActivityEvent) -> Map<String, Value> {
    let sub = match e.status_code {
        Some(code) => {
            let name = sub_status(code);
            json!({ "value": name, "localizedValue": format!("{name} (HTTP Status Code: {code})") })
        }
        None => json!({ "value": "", "localizedValue": "" }),
    };
    let mut properties = Map::new();
    properties.insert("eventCategory".into(), "Administrative".into());
    properties.insert("entity".into(), e.resource_id.clone().into());
    properties.insert("message".into(), e.operation_name.clone().into());
    properties.insert("hierarchy".into(), format!("{}/{}", e.tenant_id, e.subscription_id).into());
    if let Some(code) = e.status_code {
        properties.insert("statusCode".into(), sub_status(code).into());
    }
    if let Some(error) = &e.error {
        properties.insert("statusMessage".into(), error.to_string().into());
    }
    let level = if e.status == "Failed" { "Error" } else { "Informational" };
    let value = json!({
        "authorization": { "action": e.operation_name, "scope": e.resource_id },
        "caller": e.caller,
        "channels": "Operation",
        "claims": {
            "appid": e.caller,
            "http://schemas.microsoft.com/identity/claims/objectidentifier": e.caller_object_id,
            "http://schemas.microsoft.com/identity/claims/tenantid": e.tenant_id,
        },
        "correlationId": e.correlation_id,
        "description": "",
        "eventDataId": e.event_data_id,
        "eventName": { "value": e.event_name, "localizedValue": if e.event_name == "BeginRequest" { "Begin request" } else { "End request" } },
        "category": localized("Administrative"),
        "eventTimestamp": dates::format(e.event_timestamp),
        "httpRequest": { "clientRequestId": e.client_request_id, "clientIpAddress": e.client_ip, "method": e.http_method },
        "id": format!("{}/events/{}/ticks/{}", e.resource_id, e.event_data_id, ticks(e.event_timestamp)),
        "level": level,
        "operationId": e.operation_id,
        "operationName": localized(&e.operation_name),
        "properties": properties,
        "resourceGroupName": e.resource_group,
        "resourceProviderName": localized(&e.resource_provider),
        "resourceType": localized(&e.resource_type),
        "resourceId": e.resource_id,
        "status": localized(&e.status),
        "subStatus": sub,
        "submissionTimestamp": dates::format(e.submission_timestamp),
        "subscriptionId": e.subscription_id,
        "tenantId": e.tenant_id,
    });
    match value {
        Value::Object(m) => m,
        _ => unreachable!("an object literal"),
    }
}

/// .NET ticks (100 ns since 0001-01-01), as Azure's event ids carry.
fn ticks(t: time::OffsetDateTime) -> i128 {
    const UNIX_EPOCH_TICKS: i128 = 621_355_968_000_000_000;
    UNIX_EPOCH_TICKS + t.unix_timestamp_nanos() / 100
}

/// Keeps the `$select`ed properties (comma-separated, any case) of an event.
fn select(mut event: Map<String, Value>, fields: &[String]) -> Map<String, Value> {
    if fields.is_empty() {
        return event;
    }
    event.retain(|k, _| fields.iter().any(|f| f.eq_ignore_ascii_case(k)));
    event
}

pub(super) async fn list(
    State(s): State<AppState>,
    api: ApiVersion,
    axum::Extension(claims): axum::Extension<galleon_core::auth::Claims>,
    ArmPath((sub, log)): ArmPath<(String, String)>,
    BaseUrl(base): BaseUrl,
    uri: Uri,
) -> Result<Response, ApiError> {
    if !log.eq_ignore_ascii_case("management") {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("The event type '{log}' is not served: use 'management'."),
        ));
    }
    api.require(ACTIVITY_LOG, "Microsoft.Insights/eventtypes/values")?;
    let query = uri.query();
    let Some(filter) = query_param(query, "$filter") else {
        return Err(bad_filter("The $filter parameter is required, with at least a start time."));
    };
    let filter = parse_filter(&filter)?;
    let fields: Vec<String> = query_param(query, "$select")
        .map(|s| s.split(',').map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect())
        .unwrap_or_default();
    let after = query_param(query, "$skipToken").map(|t| crate::skiptoken::decode(&t)).transpose()?;
    let page = s.core.list_activity(&claims, &sub, &filter, after.as_deref()).await?;
    let value: Vec<Value> = page.events.iter().map(|e| Value::Object(select(event_data(e), &fields))).collect();
    let mut body = json!({ "value": value });
    if let Some(next) = page.next {
        // The same query from the next key on.
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query.unwrap_or_default()).unwrap_or_default();
        pairs.retain(|(k, _)| !k.eq_ignore_ascii_case("$skipToken"));
        pairs.push(("$skipToken".into(), crate::skiptoken::encode(&next)));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        body["nextLink"] = format!("{base}{}?{query}", uri.path()).into();
    }
    Ok(Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::{clauses, parse_filter};

    #[test]
    fn filters_parse_as_az_and_the_portal_write_them() {
        // az: unquoted naive times, quoted values.
        let f = parse_filter(
            "eventTimestamp ge 2026-12-01T15:00:00.123456 and eventTimestamp le 2026-12-01T21:00:00.123456 and resourceGroupName eq 'my and rg'",
        )
        .unwrap();
        assert_eq!(f.resource_group.as_deref(), Some("my and rg"));
        assert!(f.from.unwrap() < f.to.unwrap());
        assert_eq!(clauses("a eq 'x' AND b eq 'y'"), vec!["a eq 'x'", "b eq 'y'"]);
        let f = parse_filter("eventTimestamp ge '2026-11-30T00:00:00Z' and correlationId eq 'c-1'").unwrap();
        assert_eq!(f.correlation_id.as_deref(), Some("c-1"));
        assert!(parse_filter("resourceGroupName eq 'rg'").is_err(), "a start time is required");
        assert!(parse_filter("eventTimestamp ge 2026-01-01 and eventTimestamp le 2026-12-01").is_err(), "over 90 days");
        assert!(parse_filter("eventTimestamp ge 2026-12-01 and level eq 'Error'").is_err(), "unsupported field");
        assert!(parse_filter("eventTimestamp ge yesterday").is_err());
    }
}
