//! Resource groups.

use axum::http::StatusCode;
use serde_json::json;

use super::support::*;

#[tokio::test]
async fn create_read_list_delete_in_any_path_casing() {
    let app = TestApp::new().await;
    let r = app
        .put(
            &format!("/subscriptions/{SUB}/resourcegroups/MyGalleryRG?{RES}"),
            json!({ "location": "westcentralus", "tags": { "a": "b" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["id"], format!("/subscriptions/{SUB}/resourceGroups/MyGalleryRG"));
    assert_eq!(r.body["location"], "westcentralus");
    let r = app
        .put(
            &format!("/subscriptions/{SUB}/resourcegroups/mygalleryrg?{RES}"),
            json!({ "location": "West Central US" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["name"], "MyGalleryRG", "case-preserving");

    let r = app.get(&format!("/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/MYGALLERYRG?{RES}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["name"], "MyGalleryRG");
    assert_eq!(
        app.get(&format!("/subscriptions/{SUB}/resourceGroups?{RES}")).await.body["value"].as_array().unwrap().len(),
        1
    );

    let r = app
        .put(&format!("/subscriptions/{SUB}/resourcegroups/MyGalleryRG?{RES}"), json!({ "location": "eastus" }))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "InvalidResourceGroupLocation"));
    let r = app.put(&format!("/subscriptions/{SUB}/resourcegroups/bad.?{RES}"), json!({ "location": "eastus" })).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "InvalidResourceName"));
    let r = app.put(&format!("/subscriptions/{SUB}/resourcegroups/x?{RES}"), json!({ "location": "mars" })).await;
    assert_eq!(r.code(), "LocationNotAvailableForResourceType");

    let r = app.delete(&format!("/subscriptions/{SUB}/resourcegroups/MyGalleryRG?{RES}")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let monitor = r.header("location").to_string();
    assert!(monitor.contains("monitor=true"));
    assert_eq!(app.poll(&monitor).await.status, StatusCode::ACCEPTED);
    app.settle().await;
    assert_eq!(app.poll(&monitor).await.status, StatusCode::OK);
    let r = app.get(&format!("/subscriptions/{SUB}/resourcegroups/MyGalleryRG?{RES}")).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ResourceGroupNotFound"));
    assert_eq!(
        app.delete(&format!("/subscriptions/{SUB}/resourcegroups/MyGalleryRG?{RES}")).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn deleting_a_group_removes_what_it_holds() {
    let app = TestApp::new().await;
    let (g, i) = app.seed_definition("rg1", "gal", "img").await;
    app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), seed_version_body()).await;
    app.settle().await;
    app.delete(&format!("/subscriptions/{SUB}/resourcegroups/rg1?{RES}")).await;
    app.settle().await;
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/rg1?{RES}"), json!({ "location": "westcentralus" })).await;
    assert_eq!(app.get(&format!("{g}?{COMPUTE}")).await.code(), "ResourceNotFound");
}

#[tokio::test]
async fn unknown_subscription_is_404() {
    let app = TestApp::new().await;
    let r = app
        .put(
            &format!("/subscriptions/00000000-0000-0000-0000-999999999999/resourcegroups/x?{RES}"),
            json!({ "location": "eastus" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "SubscriptionNotFound"));
}
