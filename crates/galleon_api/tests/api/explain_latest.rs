//! `GET …/images/{i}/explainLatest?region=R`: latest in a region and why every other version is
//! not it, from the function that resolves `latest` for new disks.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::support::*;

async fn version(app: &TestApp, i: &str, name: &str, source: &Value, regions: Value, exclude: bool) {
    let body = json!({ "location": "westcentralus", "properties": {
        "publishingProfile": { "targetRegions": regions, "excludeFromLatest": exclude },
        "storageProfile": { "osDiskImage": { "source": { "id": source } } } } });
    let r = app.put(&format!("{i}/versions/{name}?{COMPUTE}"), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    app.settle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_latest_names_the_latest_and_every_other_versions_reason() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let file = app.dir.path().join("imports/os.vhd");
    write_vhd(&file, 2, 3);
    let disk = import_disk(&app, "rg", "os", &file, "Linux").await;
    let both = json!([{ "name": "westcentralus" }, { "name": "eastus" }]);
    version(&app, &i, "1.0.0", &disk["id"], both.clone(), false).await;
    version(&app, &i, "1.1.0", &disk["id"], both.clone(), false).await;
    version(&app, &i, "2.0.0", &disk["id"], both.clone(), true).await;
    let regional = json!([{ "name": "westcentralus" }, { "name": "eastus", "excludeFromLatest": true }]);
    version(&app, &i, "2.1.0", &disk["id"], regional, false).await;
    version(&app, &i, "3.0.0", &disk["id"], json!([{ "name": "westcentralus" }]), false).await;

    let r = app.get(&format!("{i}/explainLatest?region=East%20US")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["region"], "East US");
    assert_eq!(r.body["latest"], "1.1.0", "{}", r.body);
    let reasons: Vec<(String, Value)> = r.body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap().to_string(), v["notLatest"]["reason"].clone()))
        .collect();
    let expected = [
        ("3.0.0", json!("notInRegion")),
        ("2.1.0", json!("excludedInRegion")),
        ("2.0.0", json!("excluded")),
        ("1.1.0", Value::Null),
        ("1.0.0", json!("lowerNumber")),
    ];
    assert_eq!(reasons, expected.map(|(n, r)| (n.to_string(), r)), "{}", r.body);
    assert_eq!(r.body["versions"][4]["explanation"], "a higher version (1.1.0) serves");

    // The verdict is the one new disks get: `latest` in eastus is 1.1.0, in westcentralus 3.0.0.
    let west = app.get(&format!("{i}/explainLatest?region=westcentralus")).await;
    assert_eq!(west.body["latest"], "3.0.0", "{}", west.body);
    let from_latest = json!({ "location": "eastus", "properties": { "creationData": { "createOption": "FromImage",
        "galleryImageReference": { "id": format!("{i}/versions/latest") } } } });
    app.put(&format!("{}/disks/east?{DISK_API}", rg_path("rg")), from_latest).await;
    app.settle().await;
    let east = app.get(&format!("{}/disks/east?{DISK_API}", rg_path("rg"))).await;
    let source = east.body["properties"]["creationData"]["galleryImageReference"]["id"].as_str().unwrap_or_default();
    assert!(source.ends_with("/versions/1.1.0") || source.ends_with("/versions/latest"), "{}", east.body);

    // Soft-deleted versions are listed as such.
    let g = app.get(&format!("{}?{COMPUTE}", i.rsplit_once("/images/").unwrap().0)).await;
    let mut gallery = g.body.clone();
    gallery["properties"]["softDeletePolicy"] = json!({ "isSoftDeleteEnabled": true });
    app.put(&format!("{}?{COMPUTE}", i.rsplit_once("/images/").unwrap().0), gallery).await;
    app.settle().await;
    app.delete(&format!("{i}/versions/1.0.0?{COMPUTE}")).await;
    app.settle().await;
    let r = app.get(&format!("{i}/explainLatest?region=eastus")).await;
    let last = r.body["versions"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["name"].clone(), last["notLatest"]["reason"].clone()), (json!("1.0.0"), json!("softDeleted")));

    // Bad input: a region galleon does not serve, a definition that does not exist.
    let bad = app.get(&format!("{i}/explainLatest?region=mars")).await;
    assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, "InvalidParameter"), "{}", bad.body);
    let missing =
        app.get(&format!("{}/images/nope/explainLatest?region=eastus", i.rsplit_once("/images/").unwrap().0)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
}
