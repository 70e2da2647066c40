//! The activity log: every write through the ARM routes is recorded (started, then its outcome,
//! then its operation's end) and served at `Microsoft.Insights/eventtypes/management/values`
//! with Azure's `$filter`, `$select` and paging, to the callers who may read the resources.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use super::support::*;

const LOG: &str = "providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01";

fn since_an_hour_ago() -> String {
    let t = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    format!("eventTimestamp ge '{}'", t.format(&time::format_description::well_known::Rfc3339).unwrap())
}

async fn events(app: &TestApp, filter: &str) -> Vec<Value> {
    let r = app.get(&format!("/subscriptions/{SUB}/{LOG}&$filter={}", urlencode(filter))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["value"].as_array().unwrap().clone()
}

fn summary(e: &Value) -> (String, String) {
    (e["operationName"]["value"].as_str().unwrap().to_string(), e["status"]["value"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_recorded_with_their_outcome_and_their_operations_end() {
    let app = TestApp::new().await;
    let rg = format!("/subscriptions/{SUB}/resourceGroups/logged");
    let group = Request::put(format!("{rg}?{RES}"))
        .header("authorization", format!("Bearer {}", app.token))
        .header("content-type", "application/json")
        .header("x-ms-correlation-request-id", "corr-group-1")
        .body(Body::from(json!({ "location": "westcentralus" }).to_string()))
        .unwrap();
    assert_eq!(app.send(group).await.status, StatusCode::CREATED);
    let gallery = format!("{rg}/providers/Microsoft.Compute/galleries/logged_gallery");
    let created = app.put(&format!("{gallery}?{COMPUTE}"), json!({ "location": "westcentralus" })).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let refused = app.put(&format!("{rg}/providers/Microsoft.Compute/galleries/bad-name?{COMPUTE}"), json!({})).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    // A read is not a write: nothing recorded.
    assert_eq!(app.get(&format!("{gallery}?{COMPUTE}")).await.status, StatusCode::OK);

    let filter = format!("{} and resourceGroupName eq 'logged'", since_an_hour_ago());
    let before: Vec<_> = events(&app, &filter).await.iter().map(summary).collect();
    let write = |s: &str| ("Microsoft.Compute/galleries/write".to_string(), s.to_string());
    let group_write = |s: &str| ("Microsoft.Resources/subscriptions/resourceGroups/write".to_string(), s.to_string());
    // Newest first: the refused PUT, the accepted gallery, the group.
    assert_eq!(
        before,
        vec![
            write("Failed"),
            write("Started"),
            write("Accepted"),
            write("Started"),
            group_write("Succeeded"),
            group_write("Started")
        ],
    );
    app.settle().await;
    let after = events(&app, &filter).await;
    // The operation ended when the jobs ran, after the refusal: its end is the newest event.
    assert_eq!(summary(&after[0]), write("Succeeded"));
    let ended = after.iter().find(|e| summary(e) == write("Succeeded")).expect("the operation's end is recorded");
    let accepted = after.iter().find(|e| summary(e) == write("Accepted")).unwrap();
    assert_eq!(ended["operationId"], accepted["operationId"]);
    assert_eq!(ended["correlationId"], accepted["correlationId"]);
    let op_url = created.header("azure-asyncoperation");
    assert!(op_url.contains(accepted["operationId"].as_str().unwrap()), "{op_url}");
    assert_eq!(accepted["subStatus"]["value"], "Created");
    assert_eq!(accepted["resourceId"], gallery.as_str());
    assert_eq!(accepted["resourceType"]["value"], "Microsoft.Compute/galleries");
    assert_eq!(accepted["httpRequest"]["method"], "PUT");
    assert_eq!(accepted["caller"], app.client_id.as_str());
    assert_eq!(accepted["eventName"]["value"], "EndRequest");
    assert_eq!(accepted["level"], "Informational");

    // The refusal carries the error the client got.
    let failed = after.iter().find(|e| summary(e) == write("Failed")).unwrap();
    assert_eq!(failed["level"], "Error");
    assert_eq!(failed["subStatus"]["value"], "BadRequest");
    let message: Value = serde_json::from_str(failed["properties"]["statusMessage"].as_str().unwrap()).unwrap();
    assert_eq!(message["error"]["code"], refused.code());

    // Filters: the client's correlation id, a resource (and what is under it), a status, $select.
    let by_corr = events(&app, &format!("{} and correlationId eq 'corr-group-1'", since_an_hour_ago())).await;
    assert_eq!(by_corr.iter().map(summary).collect::<Vec<_>>(), vec![group_write("Succeeded"), group_write("Started")]);
    let by_resource = events(&app, &format!("{} and resourceUri eq '{gallery}'", since_an_hour_ago())).await;
    assert_eq!(by_resource.len(), 3, "the gallery's start, acceptance and end");
    let failures = events(&app, &format!("{filter} and status eq 'Failed'")).await;
    assert_eq!(failures.len(), 1);
    let r = app
        .get(&format!(
            "/subscriptions/{SUB}/{LOG}&$filter={}&$select={}",
            urlencode(&filter),
            urlencode("operationName , status")
        ))
        .await;
    let first = r.body["value"][0].as_object().unwrap();
    assert_eq!(first.keys().collect::<Vec<_>>(), vec!["operationName", "status"], "{first:?}");

    // A time range before the writes holds none of them.
    let old = "eventTimestamp ge '2026-01-01T00:00:00Z' and eventTimestamp le '2026-01-02T00:00:00Z'";
    assert!(events(&app, old).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_are_refused_with_arm_errors() {
    let app = TestApp::new().await;
    let base = format!("/subscriptions/{SUB}/providers/Microsoft.Insights/eventtypes/management/values");
    let no_filter = app.get(&format!("{base}?api-version=2015-04-01")).await;
    assert_eq!((no_filter.status, no_filter.code()), (StatusCode::BAD_REQUEST, "BadRequest"));
    let no_start = app.get(&format!("{base}?api-version=2015-04-01&$filter={}", urlencode("status eq 'Failed'"))).await;
    assert_eq!(no_start.status, StatusCode::BAD_REQUEST);
    assert!(no_start.body["error"]["message"].as_str().unwrap().contains("start time"), "{}", no_start.body);
    let unknown = app
        .get(&format!(
            "{base}?api-version=2015-04-01&$filter={}",
            urlencode("eventTimestamp ge 2026-11-30 and level eq 'x'")
        ))
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let version = app.get(&format!("{base}?api-version=2024-03-03&$filter={}", urlencode(&since_an_hour_ago()))).await;
    assert_eq!(version.status, StatusCode::BAD_REQUEST);
    let token = app
        .get(&format!("{base}?api-version=2015-04-01&$filter={}&$skipToken=kzz", urlencode(&since_an_hour_ago())))
        .await;
    assert_eq!(token.status, StatusCode::BAD_REQUEST);
    let other_log = app
        .get(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.Insights/eventtypes/other/values?api-version=2015-04-01&$filter=x"
        ))
        .await;
    assert_eq!(other_log.status, StatusCode::NOT_FOUND);
    let unknown_sub = app
        .get(&format!(
            "/subscriptions/00000000-0000-0000-0000-0000000000ff/{LOG}&$filter={}",
            urlencode(&since_an_hour_ago())
        ))
        .await;
    assert_eq!(unknown_sub.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_see_only_the_events_of_what_they_may_read() {
    let mut app = TestApp::new().await;
    for rg in ["seen", "unseen"] {
        app.put(&format!("/subscriptions/{SUB}/resourceGroups/{rg}?{RES}"), json!({ "location": "westcentralus" }))
            .await;
    }
    let p = app.core.create_principal("rg reader").await.unwrap();
    let reader =
        app.token_request(&p.principal.client_id, &p.secret).await.body["access_token"].as_str().unwrap().to_string();
    let q = app.core.create_principal("nobody").await.unwrap();
    let nobody =
        app.token_request(&q.principal.client_id, &q.secret).await.body["access_token"].as_str().unwrap().to_string();
    let body = json!({ "properties": { "roleDefinitionId": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "principalId": p.principal.object_id, "principalType": "ServicePrincipal" } });
    let scope = format!("/subscriptions/{SUB}/resourceGroups/seen");
    let assigned = app
        .put(
            &format!(
                "{scope}/providers/Microsoft.Authorization/roleAssignments/21111111-0000-0000-0000-000000000001?api-version=2022-04-01"
            ),
            body,
        )
        .await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.body);
    let admin_view = events(&app, &since_an_hour_ago()).await;
    assert!(admin_view.iter().any(|e| e["resourceGroupName"] == "unseen"));

    app.token = reader;
    let seen = events(&app, &since_an_hour_ago()).await;
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|e| e["resourceGroupName"] == "seen"),
        "a reader of one group sees only its events: {seen:?}"
    );
    app.token = nobody;
    let r = app.get(&format!("/subscriptions/{SUB}/{LOG}&$filter={}", urlencode(&since_an_hour_ago()))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_logs_page_and_old_events_are_pruned() {
    let app = TestApp::new().await;
    // 110 writes: 220 events, more than a page.
    for i in 0..110 {
        let r = app
            .put(&format!("/subscriptions/{SUB}/resourceGroups/g{i}?{RES}"), json!({ "location": "westcentralus" }))
            .await;
        assert!(r.status.is_success());
    }
    let first = app.get(&format!("/subscriptions/{SUB}/{LOG}&$filter={}", urlencode(&since_an_hour_ago()))).await;
    let page = first.body["value"].as_array().unwrap();
    assert_eq!(page.len(), 200);
    let next = first.body["nextLink"].as_str().expect("a second page");
    let rest = app.get(next.split_once("://").map_or(next, |(_, r)| &r[r.find('/').unwrap()..])).await;
    assert_eq!(rest.status, StatusCode::OK, "{}", rest.body);
    let rest = rest.body["value"].as_array().unwrap().clone();
    assert_eq!(rest.len(), 20);
    assert!(rest.iter().all(|e| !page.iter().any(|p| p["eventDataId"] == e["eventDataId"])), "no event twice");
    assert_eq!(rest.last().unwrap()["resourceGroupName"], "g0", "the oldest comes last");

    // Retention: nothing is older than 90 days; with none kept, everything goes.
    assert_eq!(app.core.prune_activity(galleon_core::activity::DEFAULT_RETENTION).await.unwrap(), 0);
    assert_eq!(app.core.prune_activity(std::time::Duration::ZERO).await.unwrap(), 220);
    assert!(events(&app, &since_an_hour_ago()).await.is_empty());
}
