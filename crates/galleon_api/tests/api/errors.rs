//! Every failure is the ARM envelope, and request ids are set and echoed.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use super::support::*;

#[tokio::test]
async fn api_version_is_required_and_checked() {
    let app = TestApp::new().await;
    let g = gallery_path("rg", "g");
    let r = app.get(&g).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "MissingApiVersionParameter"));
    let r = app.get(&format!("{g}?api-version=2017-01-01")).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "NoRegisteredProviderFound"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("2026-03-03"));
    let r = app.get(&format!("/subscriptions/{SUB}/resourcegroups/x?api-version=1999-01-01")).await;
    assert_eq!(r.code(), "InvalidApiVersionParameter");
    // Every version the clients send is accepted.
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/rg?{RES}"), json!({ "location": "eastus" })).await;
    for v in ["2018-06-01", "2019-03-01", "2019-07-01", "2021-10-01", "2024-03-03", "2025-03-03", "2026-03-03"] {
        let r = app.put(&format!("{g}?api-version={v}"), json!({ "location": "eastus" })).await;
        assert!(r.status.is_success(), "{v}: {}", r.body);
        app.settle().await;
    }
}

#[tokio::test]
async fn malformed_bodies_are_arm_errors_and_change_nothing() {
    let app = TestApp::new().await;
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/rg?{RES}"), json!({ "location": "eastus" })).await;
    let uri = format!("{}?{COMPUTE}", gallery_path("rg", "g"));
    let req = |body: &str| {
        Request::put(&uri)
            .header("authorization", format!("Bearer {}", app.token))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    for bad in ["{", "", "[1,2]", r#"{"location": 5}"#, r#"{"location":"eastus","properties":{"description":7}}"#] {
        let r = app.send(req(bad)).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "InvalidRequestContent"), "{bad}: {}", r.body);
    }
    let big = format!(r#"{{"location":"eastus","properties":{{"description":"{}"}}}}"#, "x".repeat(2 << 20));
    let r = app.send(req(&big)).await;
    assert_eq!((r.status, r.code()), (StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge"));
    assert_eq!(app.get(&uri).await.code(), "ResourceNotFound");
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_arm_errors() {
    let app = TestApp::new().await;
    let r = app.get(&format!("/subscriptions/{SUB}/providers/Microsoft.Compute/widgets?{COMPUTE}")).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "NotFound"));
    let r = app.send(Request::get("/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(r.code(), "NotFound");
    let r = app.call(Method::POST, &format!("{}?{COMPUTE}", gallery_path("rg", "g")), Some(json!({}))).await;
    assert_eq!((r.status, r.code()), (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"));
}

#[tokio::test]
async fn request_ids_are_set_and_echoed() {
    let app = TestApp::new().await;
    let req = Request::get(format!("/subscriptions/{SUB}/resourcegroups?{RES}"))
        .header("authorization", format!("Bearer {}", app.token))
        .header("x-ms-client-request-id", "client-1")
        .header("x-ms-correlation-request-id", "corr-1")
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.header("x-ms-client-request-id"), "client-1");
    assert_eq!(r.header("x-ms-correlation-request-id"), "corr-1");
    assert_eq!(r.header("x-ms-request-id").len(), 36);
    let r = app.send(Request::get("/nope").body(Body::empty()).unwrap()).await;
    assert!(!r.header("x-ms-request-id").is_empty(), "errors carry a request id too");
}
