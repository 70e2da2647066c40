//! Image definitions.

use axum::http::StatusCode;
use serde_json::json;

use super::support::*;

#[tokio::test]
async fn create_echoes_what_azure_echoes() {
    let app = TestApp::new().await;
    let (g, _) = app.seed_definition("rg", "gal", "existing").await;
    // The recorded az body (arm-api.md §8.8).
    let body = json!({ "location": "westcentralus", "properties": { "disallowed": {}, "hyperVGeneration": "V1",
        "identifier": { "offer": "offer1", "publisher": "publisher1", "sku": "sku1" }, "osState": "Generalized", "osType": "Linux" }, "tags": {} });
    let r = app.put(&format!("{g}/images/image1?api-version=2021-10-01"), body).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let p = &r.body["properties"];
    assert_eq!(p["architecture"], "x64");
    assert_eq!(p["hyperVGeneration"], "V1");
    assert_eq!(p["osType"], "Linux");
    assert_eq!(p["identifier"]["sku"], "sku1");
    assert!(p.get("disallowed").is_none());
    assert_eq!(r.body["type"], "Microsoft.Compute/galleries/images");
    assert_eq!(r.state(), "Creating");
    app.settle().await;
    let list = app.get(&format!("{g}/images?api-version=2021-10-01")).await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn rules_are_enforced_and_refusals_change_nothing() {
    let app = TestApp::new().await;
    let (g, i) = app.seed_definition("rg", "gal", "img").await;
    let app = &app;
    let put = |name: &str, body: serde_json::Value| {
        let uri = format!("{g}/images/{name}?api-version=2021-10-01");
        async move { app.put(&uri, body).await }
    };

    let mut body = definition_body("westcentralus", "p", "o", "s");
    body["properties"].as_object_mut().unwrap().remove("osType");
    let r = put("x", body).await;
    assert_eq!(
        (r.status, r.body["error"]["target"].as_str()),
        (StatusCode::BAD_REQUEST, Some("galleryImage.properties.osType"))
    );

    let mut body = definition_body("westcentralus", "p", "o", "s");
    body["properties"]["osState"] = json!("Frozen");
    assert_eq!(put("x", body).await.code(), "InvalidParameter");

    let r = put("x", definition_body("westcentralus", "p", "o.", "s")).await;
    assert_eq!(r.body["error"]["target"], "galleryImage.properties.identifier.offer");

    let r = put("bad_name-", definition_body("westcentralus", "p", "o", "s")).await;
    assert_eq!(r.code(), "InvalidResourceName");

    let mut body = definition_body("westcentralus", "p", "o", "s");
    body["properties"]["endOfLifeDate"] = json!("2020-01-01T00:00:00Z");
    assert!(put("x", body).await.body["error"]["message"].as_str().unwrap().contains("future"));

    let mut body = definition_body("westcentralus", "p", "o", "s");
    body["properties"]["recommended"] = json!({ "vCPUs": { "min": 8, "max": 2 } });
    assert_eq!(put("x", body).await.body["error"]["target"], "galleryImage.properties.recommended.vCPUs");

    // Same publisher/offer/SKU as `img`, with other casing.
    let r = put("other", definition_body("westcentralus", "MYPUBLISHER", "myoffer", "IMG")).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "Conflict"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("already exists"));

    let r = put("x", definition_body("eastus", "p", "o", "s")).await;
    assert_eq!(r.body["error"]["target"], "location", "children live in the gallery's region");

    // Immutable properties.
    let mut body = definition_body("westcentralus", "myPublisher", "myOffer", "img");
    body["properties"]["osType"] = json!("Windows");
    let r = app.put(&format!("{i}?api-version=2021-10-01"), body).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "PropertyChangeNotAllowed"));
    let r = app
        .patch(
            &format!("{i}?api-version=2021-10-01"),
            json!({ "properties": { "identifier": { "publisher": "x", "offer": "y", "sku": "z" } } }),
        )
        .await;
    assert_eq!(r.code(), "PropertyChangeNotAllowed");

    // None of that changed anything.
    let list = app.get(&format!("{g}/images?api-version=2021-10-01")).await;
    let defs = list.body["value"].as_array().unwrap();
    assert_eq!(defs.len(), 1);
    assert_eq!(defs[0]["properties"]["osType"], "Linux");
    assert_eq!(defs[0]["properties"]["provisioningState"], "Succeeded");
}

#[tokio::test]
async fn updates_change_mutable_properties() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let r = app
        .patch(
            &format!("{i}?api-version=2021-10-01"),
            json!({ "properties": { "description": "golden", "endOfLifeDate": "2031-01-01T00:00:00Z" } }),
        )
        .await;
    assert_eq!((r.status, r.state()), (StatusCode::OK, "Updating"));
    app.settle().await;
    let got = app.get(&format!("{i}?api-version=2021-10-01")).await;
    assert_eq!(got.body["properties"]["description"], "golden");
    assert_eq!(got.body["properties"]["endOfLifeDate"], "2031-01-01T00:00:00Z");
    assert_eq!(got.body["properties"]["features"][0]["name"], "SecurityType");
}

#[tokio::test]
async fn parents_must_exist() {
    let app = TestApp::new().await;
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/rg?{RES}"), json!({ "location": "westcentralus" })).await;
    let r = app
        .put(
            &format!("{}/images/i?api-version=2021-10-01", gallery_path("rg", "missing")),
            definition_body("westcentralus", "p", "o", "s"),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ParentResourceNotFound"));
    let r = app.get(&format!("{}/images?api-version=2021-10-01", gallery_path("rg", "missing"))).await;
    assert_eq!(r.code(), "ParentResourceNotFound");
}

#[tokio::test]
async fn delete_is_refused_while_versions_exist() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), seed_version_body()).await;
    app.settle().await;
    let r = app.delete(&format!("{i}?api-version=2021-10-01")).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "CannotDeleteResource"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("versions/1.0.0"));
}
