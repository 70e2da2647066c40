//! Event subscriptions over ARM: refused bodies change nothing, the secret is answered once,
//! and a version's events wait in the subscription's outbox (this in-process server has no
//! webhook sender; delivery is tested end to end in the CLI tests).

use axum::http::StatusCode;
use serde_json::json;

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_subscriptions_are_checked_and_queue_a_versions_events() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let sub = format!("/subscriptions/{SUB}/providers/Galleon.Events/eventSubscriptions");
    let body = |url: &str, extra: serde_json::Value| {
        let mut b = json!({ "properties": { "destination": { "endpointUrl": url } } });
        b["properties"].as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    for (bad, why) in [
        (body("http://example.org/h", json!({})), "must use https"),
        (body("https://u:p@example.org/h", json!({})), "user information"),
        (body("https://example.org/h", json!({ "filter": { "includedEventTypes": ["x.y"] } })), "not an event type"),
        (body("https://example.org/h", json!({ "secret": "short" })), "at least 16"),
        (body("https://example.org/h", json!({ "surprise": 1 })), "unknown field"),
    ] {
        let r = app.put(&format!("{sub}/hooks?{COMPUTE}"), bad).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{why}: {}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains(why), "{}", r.body);
    }
    assert_eq!(app.get(&format!("{sub}?{COMPUTE}")).await.body, json!({ "value": [] }));
    let r = app.put(&format!("{sub}/hooks?{COMPUTE}"), body("https://hooks.example.org/in", json!({}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let secret = r.body["properties"]["secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 48, "a random secret, answered once");
    let shown = app.get(&format!("{sub}/hooks?{COMPUTE}")).await.body;
    assert!(shown["properties"]["secret"].is_null() && !shown.to_string().contains(&secret), "{shown}");

    // A version: created, replicated in its one region, completed.
    app.put(
        &format!("{i}/versions/1.0.0?{COMPUTE}"),
        json!({ "location": "westcentralus", "properties": {
        "publishingProfile": { "targetRegions": [{ "name": "westcentralus" }] },
        "storageProfile": { "source": { "id": MANAGED_IMAGE } } } }),
    )
    .await;
    app.settle().await;
    let shown = app.get(&format!("{sub}/hooks?{COMPUTE}")).await.body;
    assert_eq!(shown["properties"]["pendingEvents"], 3, "{shown}");
    assert_eq!(app.delete(&format!("{sub}/hooks?{COMPUTE}")).await.status, StatusCode::OK);
    assert_eq!(app.delete(&format!("{sub}/hooks?{COMPUTE}")).await.status, StatusCode::NO_CONTENT);
}
