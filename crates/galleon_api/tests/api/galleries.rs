//! Galleries, including the LRO flow and operation durability.

use axum::http::StatusCode;
use serde_json::json;

use super::support::*;

#[tokio::test]
async fn create_follows_the_arm_lro_flow() {
    let app = TestApp::new().await;
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/myGalleryRG?{RES}"), json!({ "location": "westcentralus" }))
        .await;
    let g = gallery_path("myGalleryRG", "myGallery");
    let r = app.put(&format!("{g}?api-version=2026-03-03"), json!({ "location": "westcentralus" })).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.state(), "Creating");
    assert_eq!(r.body["type"], "Microsoft.Compute/galleries");
    assert_eq!(r.body["id"], g);
    assert_eq!(r.body["properties"]["identifier"]["uniqueName"], format!("{SUB}-MYGALLERY"));
    assert_eq!(r.header("retry-after"), "1");
    let op_url = r.header("azure-asyncoperation").to_string();
    assert!(
        op_url.starts_with("https://")
            && op_url.contains("/capsOperations/")
            && op_url.contains("api-version=2026-03-03"),
        "{op_url}"
    );

    let op = app.poll(&op_url).await;
    assert_eq!(op.body["status"], "InProgress");
    assert!(op.body["startTime"].is_string());
    assert_eq!(op.header("retry-after"), "1", "without it clients wait their 30 s default");
    app.settle().await;
    let op = app.poll(&op_url).await;
    assert_eq!(op.body["status"], "Succeeded");
    assert!(op.headers.get("retry-after").is_none(), "a finished operation is not polled again");
    assert!(op.body["endTime"].is_string());
    assert_eq!(app.get(&format!("{g}?api-version=2026-03-03")).await.state(), "Succeeded");

    // An update answers 200 Updating.
    let r = app
        .put(
            &format!("{g}?api-version=2026-03-03"),
            json!({ "location": "westcentralus", "properties": { "description": "d" } }),
        )
        .await;
    assert_eq!((r.status, r.state()), (StatusCode::OK, "Updating"));
    app.settle().await;
    let r = app.patch(&format!("{g}?api-version=2021-10-01"), json!({ "tags": { "team": "platform" } })).await;
    assert_eq!(r.status, StatusCode::OK);
    app.settle().await;
    let got = app.get(&format!("{g}?{COMPUTE}")).await;
    assert_eq!(got.body["properties"]["description"], "d", "PATCH keeps what it does not name");
    assert_eq!(got.body["tags"]["team"], "platform");
}

#[tokio::test]
async fn names_and_locations_are_checked() {
    let app = TestApp::new().await;
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/rg?{RES}"), json!({ "location": "eastus" })).await;
    let r = app.put(&format!("{}?{COMPUTE}", gallery_path("rg", "my-gallery")), json!({ "location": "eastus" })).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "InvalidResourceName"));
    assert_eq!(r.body["error"]["target"], "galleryName");
    let r = app.put(&format!("{}?{COMPUTE}", gallery_path("rg", "g")), json!({})).await;
    assert_eq!((r.status, r.body["error"]["target"].as_str()), (StatusCode::BAD_REQUEST, Some("location")));
    let r = app.put(&format!("{}?{COMPUTE}", gallery_path("rg", "g")), json!({ "location": "atlantis" })).await;
    assert_eq!(r.code(), "LocationNotAvailableForResourceType");
    let r = app.put(&format!("{}?{COMPUTE}", gallery_path("nope", "g")), json!({ "location": "eastus" })).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ResourceGroupNotFound"));

    app.put(&format!("{}?{COMPUTE}", gallery_path("rg", "g")), json!({ "location": "East US" })).await;
    app.settle().await;
    let r = app.put(&format!("{}?{COMPUTE}", gallery_path("rg", "G")), json!({ "location": "westus2" })).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "InvalidResourceLocation"));
    let got = app.get(&format!("{}?{COMPUTE}", gallery_path("RG", "G"))).await;
    assert_eq!((got.body["name"].as_str(), got.body["location"].as_str()), (Some("g"), Some("eastus")));
}

#[tokio::test]
async fn lists_by_group_and_subscription_with_paging() {
    let app = TestApp::new().await;
    for rg in ["rg1", "rg2"] {
        app.put(&format!("/subscriptions/{SUB}/resourcegroups/{rg}?{RES}"), json!({ "location": "eastus" })).await;
    }
    for (rg, g) in [("rg1", "a"), ("rg1", "b"), ("rg1", "c"), ("rg2", "d")] {
        assert!(
            app.put(&format!("{}?{COMPUTE}", gallery_path(rg, g)), json!({ "location": "eastus" }))
                .await
                .status
                .is_success()
        );
    }
    app.settle().await;
    let r = app
        .get(&format!(
            "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Compute/galleries?api-version=2021-10-01"
        ))
        .await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 3);
    assert!(r.body.get("nextLink").is_none());
    let r =
        app.get(&format!("/subscriptions/{SUB}/providers/Microsoft.Compute/galleries?api-version=2021-10-01")).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 4);

    // Paged: follow nextLink until the end.
    let mut url = format!("/subscriptions/{SUB}/providers/Microsoft.Compute/galleries?api-version=2021-10-01&$top=3");
    let mut names = vec![];
    loop {
        let r = app.get(&url).await;
        names.extend(r.body["value"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_string()));
        match r.body["nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with("https://"));
                url = next[next.find("/subscriptions").unwrap()..].to_string();
            }
            None => break,
        }
    }
    assert_eq!(names, ["a", "b", "c", "d"]);
}

#[tokio::test]
async fn delete_is_refused_while_definitions_exist() {
    let app = TestApp::new().await;
    let (g, i) = app.seed_definition("rg", "gal", "img").await;
    let r = app.delete(&format!("{g}?api-version=2021-10-01")).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "CannotDeleteResource"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("galleries/gal/images/img"));

    let r = app.delete(&format!("{i}?api-version=2021-10-01")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.header("azure-asyncoperation").contains("capsOperations"));
    app.settle().await;
    let r = app.delete(&format!("{g}?api-version=2021-10-01")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    app.settle().await;
    let r = app.get(&format!("{g}?{COMPUTE}")).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ResourceNotFound"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("Microsoft.Compute/galleries/gal"));
    assert_eq!(app.delete(&format!("{g}?{COMPUTE}")).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn operations_survive_a_restart_and_finish_after_it() {
    let app = TestApp::new().await;
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/rg?{RES}"), json!({ "location": "eastus" })).await;
    let g = gallery_path("rg", "g");
    let r = app.put(&format!("{g}?{COMPUTE}"), json!({ "location": "eastus" })).await;
    let op_url = r.header("azure-asyncoperation").to_string();
    // The server goes away before any worker ran the job.
    let app = app.restart().await;
    assert_eq!(app.poll(&op_url).await.body["status"], "InProgress");
    assert_eq!(app.get(&format!("{g}?{COMPUTE}")).await.state(), "Creating");
    app.settle().await;
    assert_eq!(app.poll(&op_url).await.body["status"], "Succeeded");
    assert_eq!(app.get(&format!("{g}?{COMPUTE}")).await.state(), "Succeeded");
}

#[tokio::test]
async fn unknown_operations_are_404() {
    let app = TestApp::new().await;
    let r = app
        .get(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.Compute/locations/eastus/capsOperations/nope?{COMPUTE}"
        ))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "OperationNotFound"));
}
