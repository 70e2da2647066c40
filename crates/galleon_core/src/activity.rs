//! The activity log: every write made through the ARM API (PUT, PATCH, DELETE, POST actions),
//! with who made it, what it was, on which resource, and how it ended, served where Azure serves
//! it (`Microsoft.Insights/eventtypes/management/values`).
//!
//! A request writes its `Started` (BeginRequest) and its outcome (EndRequest) together once it
//! is answered. A request answered with an operation to poll ends `Accepted`, and a follow-up
//! note keyed by the operation waits until the operation finishes; then its `Succeeded` or
//! `Failed` event is written with the operation's end time (by whichever node gets there first:
//! the note's revision decides). Events are keyed newest first within their subscription, so a
//! time-range query is one key-ordered scan.

use std::collections::HashMap;
use std::time::Duration;

use galleon_model::rbac::Action;
use galleon_store::typed;
use galleon_store::{Batch, Expect, Kind, OpStatus, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::auth::Claims;
use crate::{Core, CoreResult, now};

/// Where notes on accepted requests wait for their operation.
const PENDING: &str = "/galleon/activity-pending/";
/// How many events one answer holds at most.
pub const ACTIVITY_PAGE: usize = 200;
/// How many stored events one answer reads at most before it hands back a continuation.
const SCAN_LIMIT: usize = 5_000;
/// How many notes one follow-up pass looks at.
const FOLLOW_UP_BATCH: usize = 100;
/// Azure keeps the activity log for 90 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// One activity log event, as stored (the API turns it into Azure's `EventData`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityEvent {
    /// Unique id of this event.
    pub event_data_id: String,
    /// Subscription of the resource.
    pub subscription_id: String,
    /// Tenant of the caller.
    pub tenant_id: String,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub event_timestamp: OffsetDateTime,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub submission_timestamp: OffsetDateTime,
    /// `BeginRequest` or `EndRequest`.
    pub event_name: String,
    /// `Microsoft.Compute/galleries/images/versions/write`, `…/delete`, `…/beginGetAccess/action`.
    pub operation_name: String,
    /// Shared by the events of one request (and its operation, when it has one).
    pub operation_id: String,
    /// The resource written, in the caller's casing.
    pub resource_id: String,
    /// Its resource group, if it is in one.
    pub resource_group: Option<String>,
    /// `Microsoft.Compute`.
    pub resource_provider: String,
    /// `Microsoft.Compute/galleries/images/versions`.
    pub resource_type: String,
    /// `Started`, `Accepted`, `Succeeded` or `Failed`.
    pub status: String,
    /// The HTTP status of the answer (none for `Started` and for an operation's end).
    pub status_code: Option<u16>,
    /// The caller's application (client) id.
    pub caller: String,
    /// The caller's object id.
    pub caller_object_id: String,
    /// The client's `x-ms-correlation-request-id` (or the one made up for it).
    pub correlation_id: String,
    /// `PUT`, `PATCH`, `DELETE`, `POST`.
    pub http_method: String,
    /// The client's `x-ms-client-request-id`.
    pub client_request_id: String,
    /// The TCP peer the request came from.
    pub client_ip: String,
    /// The ARM error a failed request or operation answered.
    pub error: Option<serde_json::Value>,
}

/// What the API knows about a write request when it has been answered.
#[derive(Debug, Clone)]
pub struct WriteRecord {
    /// Who made it.
    pub claims: Claims,
    /// Its method.
    pub method: String,
    /// Its path, in the caller's casing, without the query.
    pub path: String,
    /// Correlation id.
    pub correlation_id: String,
    /// Client request id (empty when none).
    pub client_request_id: String,
    /// Peer address (empty when unknown).
    pub client_ip: String,
    /// When the request arrived.
    pub started: OffsetDateTime,
    /// The HTTP status answered.
    pub status_code: u16,
    /// The ARM error body of a refused request.
    pub error: Option<serde_json::Value>,
    /// The operation the answer names for polling, when it started one.
    pub operation_id: Option<String>,
}

/// What a write acts on, derived from its method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteTarget {
    /// The subscription.
    pub subscription: String,
    /// The resource id (an action's path without the action).
    pub resource_id: String,
    /// The resource group, if any.
    pub resource_group: Option<String>,
    /// Provider namespace.
    pub provider: String,
    /// Full resource type.
    pub resource_type: String,
    /// The operation name.
    pub operation_name: String,
}

/// The usual casing of the fixed words in ARM paths (the router sees them lowercased, and a
/// client may send any casing): the activity log names operations as Azure does.
const CANONICAL: &[&str] = &[
    "Microsoft.Authorization",
    "Microsoft.Compute",
    "Microsoft.Network",
    "Microsoft.Resources",
    "beginGetAccess",
    "capsOperations",
    "deployments",
    "disks",
    "endGetAccess",
    "galleries",
    "images",
    "networkInterfaces",
    "networkSecurityGroups",
    "publicIPAddresses",
    "resourceGroups",
    "roleAssignments",
    "snapshots",
    "subnets",
    "subscriptions",
    "versions",
    "virtualMachines",
    "virtualNetworks",
];

fn canonical(word: &str) -> &str {
    CANONICAL.iter().copied().find(|c| c.eq_ignore_ascii_case(word)).unwrap_or(word)
}

/// The resource and operation name of a write to `path`; `None` for paths outside a
/// subscription (galleon's own administration) and for reads.
pub fn write_target(method: &str, path: &str) -> Option<WriteTarget> {
    let verb = match method {
        "PUT" | "PATCH" => "write",
        "DELETE" => "delete",
        "POST" => "action",
        _ => return None,
    };
    // The path as sent is percent-encoded; ids in the log are not.
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let path = decoded.trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').collect();
    if segments.len() < 3 || !segments[1].eq_ignore_ascii_case("subscriptions") || segments[2].is_empty() {
        return None;
    }
    let subscription = segments[2].to_string();
    let resource_group =
        (segments.len() >= 5 && segments[3].eq_ignore_ascii_case("resourcegroups")).then(|| segments[4].to_string());
    // After the last `providers`: the namespace, then type/name pairs, then perhaps an action.
    let last_providers = segments.iter().rposition(|s| s.eq_ignore_ascii_case("providers"));
    let (provider, types, resource_end, action) = match last_providers {
        Some(p) if segments.len() > p + 1 => {
            let rest = &segments[p + 2..];
            let pairs = rest.len() / 2;
            let types: Vec<&str> = (0..pairs).map(|i| rest[2 * i]).collect();
            let action = (rest.len() % 2 == 1).then(|| rest[rest.len() - 1]);
            (canonical(segments[p + 1]).to_string(), types, p + 2 + 2 * pairs, action)
        }
        // Subscriptions and resource groups themselves.
        _ => {
            let types: Vec<&str> = segments[1..].iter().step_by(2).copied().collect();
            let action = segments.len().is_multiple_of(2).then(|| segments[segments.len() - 1]);
            let end = if action.is_some() { segments.len() - 1 } else { segments.len() };
            ("Microsoft.Resources".to_string(), types, end, action)
        }
    };
    if types.is_empty() && action.is_none() && last_providers.is_some() {
        return None;
    }
    let resource_type =
        std::iter::once(provider.as_str()).chain(types.iter().map(|t| canonical(t))).collect::<Vec<_>>().join("/");
    let action = action.map(canonical);
    let resource_id = segments[..resource_end].join("/");
    let operation_name = match (verb, action) {
        ("action", Some(a)) => format!("{resource_type}/{a}/action"),
        ("action", None) => format!("{resource_type}/action"),
        (v, _) => format!("{resource_type}/{v}"),
    };
    Some(WriteTarget { subscription, resource_id, resource_group, provider, resource_type, operation_name })
}

/// What a query asks for (`$filter`).
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Earliest event time (inclusive).
    pub from: Option<OffsetDateTime>,
    /// Latest event time (inclusive).
    pub to: Option<OffsetDateTime>,
    /// `resourceGroupName eq`.
    pub resource_group: Option<String>,
    /// `resourceId eq` / `resourceUri eq`: the resource and everything under it.
    pub resource_id: Option<String>,
    /// `resourceProvider eq`.
    pub resource_provider: Option<String>,
    /// `correlationId eq`.
    pub correlation_id: Option<String>,
    /// `caller eq` (client id or object id).
    pub caller: Option<String>,
    /// `status eq`.
    pub status: Option<String>,
}

impl ActivityFilter {
    fn matches(&self, e: &ActivityEvent) -> bool {
        let eq = |want: &Option<String>, have: &str| want.as_ref().is_none_or(|w| w.eq_ignore_ascii_case(have));
        let under = |want: &Option<String>| {
            want.as_ref().is_none_or(|w| {
                let (w, have) = (w.trim_end_matches('/').to_ascii_lowercase(), e.resource_id.to_ascii_lowercase());
                have == w || have.starts_with(&format!("{w}/"))
            })
        };
        eq(&self.resource_group, e.resource_group.as_deref().unwrap_or(""))
            && under(&self.resource_id)
            && eq(&self.resource_provider, &e.resource_provider)
            && eq(&self.correlation_id, &e.correlation_id)
            && eq(&self.status, &e.status)
            && self
                .caller
                .as_ref()
                .is_none_or(|c| c.eq_ignore_ascii_case(&e.caller) || c.eq_ignore_ascii_case(&e.caller_object_id))
    }
}

/// One page of events, newest first, and where the next one starts.
#[derive(Debug, Clone)]
pub struct ActivityPage {
    /// The events.
    pub events: Vec<ActivityEvent>,
    /// The continuation (an opaque key), when there may be more.
    pub next: Option<String>,
}

fn prefix(subscription: &str) -> String {
    format!("/subscriptions/{}/activity/", subscription.to_ascii_lowercase())
}

/// Newest first: the key's time part counts down.
fn time_part(t: OffsetDateTime) -> String {
    let nanos = u64::try_from(t.unix_timestamp_nanos()).unwrap_or(0);
    format!("{:020}", u64::MAX - nanos)
}

fn event_key(e: &ActivityEvent) -> String {
    format!("{}{}-{}", prefix(&e.subscription_id), time_part(e.event_timestamp), e.event_data_id)
}

fn pending_key(operation_id: &str) -> String {
    format!("{PENDING}{}", operation_id.to_ascii_lowercase())
}

/// The sub-status Azure shows for an HTTP status.
pub fn sub_status(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "NoContent",
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        412 => "PreconditionFailed",
        413 => "RequestEntityTooLarge",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        503 => "ServiceUnavailable",
        _ => "",
    }
}

impl Core {
    /// Records a write that has been answered: its `Started` event and its outcome, and, when it
    /// started an operation, a note that records the operation's end once it comes.
    pub async fn record_write(&self, w: WriteRecord) -> CoreResult<()> {
        let Some(target) = write_target(&w.method, &w.path) else { return Ok(()) };
        let recorded = now();
        let operation_id = w.operation_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let base = ActivityEvent {
            event_data_id: uuid::Uuid::new_v4().to_string(),
            subscription_id: target.subscription.to_ascii_lowercase(),
            tenant_id: w.claims.tid.clone(),
            event_timestamp: w.started,
            submission_timestamp: recorded,
            event_name: "BeginRequest".into(),
            operation_name: target.operation_name,
            operation_id,
            resource_id: target.resource_id,
            resource_group: target.resource_group,
            resource_provider: target.provider,
            resource_type: target.resource_type,
            status: "Started".into(),
            status_code: None,
            caller: w.claims.appid.clone(),
            caller_object_id: w.claims.oid.clone(),
            correlation_id: w.correlation_id,
            http_method: w.method,
            client_request_id: w.client_request_id,
            client_ip: w.client_ip,
            error: None,
        };
        let accepted = w.operation_id.is_some() && w.status_code < 300;
        let status = if w.status_code >= 400 {
            "Failed"
        } else if accepted {
            "Accepted"
        } else {
            "Succeeded"
        };
        // The outcome is a moment after the start even when the clock has not moved, so the two
        // keep their order newest-first.
        let ended = recorded.max(w.started + time::Duration::nanoseconds(1));
        let end = ActivityEvent {
            event_data_id: uuid::Uuid::new_v4().to_string(),
            event_timestamp: ended,
            event_name: "EndRequest".into(),
            status: status.into(),
            status_code: Some(w.status_code),
            error: w.error,
            ..base.clone()
        };
        let mut batch = Batch::new()
            .put(typed::doc(Kind::Activity, &event_key(&base), None, &base), Expect::Absent)
            .put(typed::doc(Kind::Activity, &event_key(&end), None, &end), Expect::Absent);
        if accepted {
            batch = batch.put(typed::doc(Kind::Activity, &pending_key(&end.operation_id), None, &end), Expect::Any);
        }
        self.store().apply(batch).await?;
        Ok(())
    }

    /// Writes the end of every accepted request whose operation has finished since. Returns how
    /// many it wrote. Safe on several nodes at once: a note is consumed by exactly one of them.
    pub async fn follow_up_activity(&self) -> CoreResult<usize> {
        let notes = typed::list::<ActivityEvent>(self.store(), Kind::Activity, PENDING, None, FOLLOW_UP_BATCH).await?;
        let mut written = 0;
        for (key, note) in notes {
            let op = self.store().get_operation(&note.value.operation_id).await?;
            let mut batch = Batch::new().delete(Kind::Activity, key.clone(), Expect::Rev(note.rev));
            let mut event_written = false;
            if let Some(op) = op {
                if op.status == OpStatus::InProgress {
                    continue;
                }
                let event = ActivityEvent {
                    event_data_id: uuid::Uuid::new_v4().to_string(),
                    event_timestamp: op.end_time.unwrap_or_else(now).max(note.value.event_timestamp),
                    submission_timestamp: now(),
                    status: op.status.as_str().to_string(),
                    status_code: None,
                    error: op
                        .error
                        .map(|(code, message)| serde_json::json!({"error": {"code": code, "message": message}})),
                    ..note.value
                };
                batch = batch.put(typed::doc(Kind::Activity, &event_key(&event), None, &event), Expect::Absent);
                event_written = true;
            }
            match self.store().apply(batch).await {
                Ok(()) => written += usize::from(event_written),
                // Another node wrote this one first.
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(written)
    }

    /// The events of `subscription` that match `filter` and that `claims` may see (a reader of
    /// the subscription sees all; others see the events of resources they can read), newest
    /// first, from the continuation `after`.
    pub async fn list_activity(
        &self,
        claims: &Claims,
        subscription: &str,
        filter: &ActivityFilter,
        after: Option<&str>,
    ) -> CoreResult<ActivityPage> {
        self.require_subscription(subscription).await?;
        if let Err(e) = self.follow_up_activity().await {
            tracing::warn!(error = %e, "activity log follow-up");
        }
        let prefix = prefix(subscription);
        let everything = self.authorize(claims, &format!("/subscriptions/{subscription}"), Action::Read).await.is_ok();
        let mut readable: HashMap<String, bool> = HashMap::new();
        let start = match (after, filter.to) {
            (Some(a), _) if a.starts_with(&prefix) => a.to_string(),
            (Some(_), _) => {
                return Err(galleon_model::Invalid::param("$skipToken", "The continuation token is not valid.").into());
            }
            (None, Some(to)) => format!("{prefix}{}", time_part(to)),
            (None, None) => prefix.clone(),
        };
        let stop = filter.from.map(time_part);
        let (mut events, mut scanned, mut cursor) = (Vec::new(), 0, start);
        loop {
            let docs = typed::list::<ActivityEvent>(self.store(), Kind::Activity, &prefix, Some(&cursor), 500).await?;
            let full = docs.len() == 500;
            for (key, rec) in docs {
                cursor = key.clone();
                scanned += 1;
                if stop.as_ref().is_some_and(|s| key[prefix.len()..].split('-').next().is_some_and(|t| t > s.as_str()))
                {
                    return Ok(ActivityPage { events, next: None });
                }
                let e = rec.value;
                if !filter.matches(&e) {
                    continue;
                }
                if !everything {
                    let id = e.resource_id.to_ascii_lowercase();
                    let allowed = match readable.get(&id) {
                        Some(a) => *a,
                        None => {
                            let a = self.authorize(claims, &e.resource_id, Action::Read).await.is_ok();
                            readable.insert(id, a);
                            a
                        }
                    };
                    if !allowed {
                        continue;
                    }
                }
                events.push(e);
                if events.len() == ACTIVITY_PAGE || scanned >= SCAN_LIMIT {
                    return Ok(ActivityPage { events, next: Some(cursor) });
                }
            }
            if !full {
                return Ok(ActivityPage { events, next: None });
            }
        }
    }

    /// Deletes events older than `retention`, and notes whose operations are long gone. Returns
    /// how many events it deleted.
    pub async fn prune_activity(&self, retention: Duration) -> CoreResult<usize> {
        let cutoff = now() - retention;
        let mut deleted = 0;
        let subscriptions = self.store().list(Kind::Subscription, "/subscriptions/", None, usize::MAX).await?;
        for sub in subscriptions.iter().filter_map(|d| d.key.strip_prefix("/subscriptions/")) {
            let prefix = prefix(sub);
            let from = format!("{prefix}{}", time_part(cutoff));
            loop {
                let docs = self.store().list(Kind::Activity, &prefix, Some(&from), 500).await?;
                if docs.is_empty() {
                    break;
                }
                let mut batch = Batch::new();
                for d in &docs {
                    batch = batch.delete(Kind::Activity, d.key.clone(), Expect::Any);
                }
                self.store().apply(batch).await?;
                deleted += docs.len();
            }
        }
        Ok(deleted)
    }
}

/// Keeps the activity log current on a server: follows up accepted requests every few seconds
/// and prunes events past `retention` every hour.
pub fn spawn_upkeep(core: std::sync::Arc<Core>, retention: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_prune: Option<std::time::Instant> = None;
        loop {
            if let Err(e) = core.follow_up_activity().await {
                tracing::warn!(error = %e, "activity log follow-up");
            }
            if last_prune.is_none_or(|t| t.elapsed() >= Duration::from_secs(3600)) {
                match core.prune_activity(retention).await {
                    Ok(n) if n > 0 => tracing::info!(deleted = n, "activity log pruned"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "activity log pruning"),
                }
                last_prune = Some(std::time::Instant::now());
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::write_target;

    #[test]
    fn writes_name_their_resource_and_operation() {
        let v = write_target(
            "PUT",
            "/subscriptions/s1/resourceGroups/RG/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0",
        )
        .unwrap();
        assert_eq!(v.operation_name, "Microsoft.Compute/galleries/images/versions/write");
        assert_eq!(v.resource_type, "Microsoft.Compute/galleries/images/versions");
        assert_eq!(v.resource_group.as_deref(), Some("RG"));
        assert_eq!(v.provider, "Microsoft.Compute");
        let a = write_target(
            "POST",
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/disks/d/beginGetAccess",
        )
        .unwrap();
        assert_eq!(a.operation_name, "Microsoft.Compute/disks/beginGetAccess/action");
        assert_eq!(a.resource_id, "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/disks/d");
        let g = write_target("DELETE", "/subscriptions/s1/resourcegroups/rg").unwrap();
        assert_eq!(g.operation_name, "Microsoft.Resources/subscriptions/resourceGroups/delete");
        assert_eq!(g.resource_id, "/subscriptions/s1/resourcegroups/rg");
        let r = write_target(
            "PUT",
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/providers/Microsoft.Authorization/roleAssignments/x",
        )
        .unwrap();
        assert_eq!(r.operation_name, "Microsoft.Authorization/roleAssignments/write");
        assert!(write_target("GET", "/subscriptions/s1/resourcegroups/rg").is_none());
        let named = write_target("PUT", "/subscriptions/s1/resourcegroups/r%C3%A9sum%C3%A9%20rg").unwrap();
        assert_eq!(named.resource_id, "/subscriptions/s1/resourcegroups/résumé rg");
        assert!(write_target("POST", "/galleon/gc").is_none());
    }
}
