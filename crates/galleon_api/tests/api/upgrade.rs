//! Stored documents survive upgrades: documents written by an earlier release (a fixture made
//! by the generator below, checked in) load and are served by this one. A release that adds a
//! field to a stored model must give it a default; this test fails otherwise.
//!
//! To refresh the fixture when the stored format changes on purpose (and keep the old one as
//! another case): `GALLEON_WRITE_STORE_FIXTURE=crates/galleon_api/tests/fixtures/store-NEW.json
//! cargo test -p galleon_api --test api write_store_fixture`.

use axum::http::StatusCode;
use galleon_store::{Batch, Expect, Kind};
use serde_json::{Value, json};

use super::support::*;

/// The kinds a fixture holds: groups, deployments and every listed resource (principals and
/// role assignments are the test app's own).
fn resource_kinds() -> Vec<Kind> {
    [Kind::Group, Kind::Deployment].into_iter().chain(galleon_core::generic::LISTED).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_written_by_the_previous_format_load() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<_> = std::fs::read_dir(&fixtures).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(!files.is_empty(), "at least one stored-format fixture");
    for file in files {
        let app = TestApp::new().await;
        let docs: Vec<Value> = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        // Written beside the app's own store before anything reads them (the app's cache is empty).
        let raw = metadata_store(app.dir.path()).await;
        let mut batch = Batch::new();
        for d in &docs {
            batch = batch.put(galleon_store::conformance::doc_from_fixture(d), Expect::Any);
        }
        raw.apply(batch).await.unwrap();
        drop(raw);
        for d in &docs {
            let Some(id) = d["body"]["id"].as_str() else { continue };
            let version = match Kind::parse(d["kind"].as_str().unwrap()).unwrap() {
                Kind::Disk | Kind::Snapshot => "2025-01-02",
                Kind::ManagedImage | Kind::Vm => "2024-11-01",
                Kind::Network => "2024-05-01",
                Kind::Group | Kind::Deployment => "2024-11-01",
                _ => "2024-03-03",
            };
            let r = app.get(&format!("{id}?api-version={version}")).await;
            assert_eq!(r.status, StatusCode::OK, "{}: {id}: {}", file.display(), r.body);
            assert_eq!(r.body["name"], d["body"]["name"], "{id}");
        }
        let all = app.get(&format!("/subscriptions/{SUB}/resources?{RES}")).await;
        assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    }
}

/// Writes the fixture from what this release stores (run on purpose, see the module docs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_store_fixture() {
    let Ok(out) = std::env::var("GALLEON_WRITE_STORE_FIXTURE") else { return };
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    app.seed_managed_image().await;
    app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), seed_version_body()).await;
    app.settle().await;
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg/providers");
    let empty = json!({ "location": "westcentralus", "properties": { "diskSizeGB": 1, "creationData": { "createOption": "Empty" } } });
    app.put(&format!("{rg}/Microsoft.Compute/disks/data?api-version=2025-01-02"), empty).await;
    app.put(
        &format!("{rg}/Microsoft.Network/virtualNetworks/vnet?api-version=2024-05-01"),
        json!({ "location": "westcentralus",
        "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] } } }),
    )
    .await;
    app.settle().await;
    let vm = json!({ "location": "westcentralus", "properties": { "storageProfile": {
        "imageReference": { "id": format!("{i}/versions/1.0.0") }, "osDisk": { "createOption": "FromImage" } } } });
    app.put(&format!("{rg}/Microsoft.Compute/virtualMachines/vm?api-version=2024-11-01"), vm).await;
    app.settle().await;
    let store = metadata_store(app.dir.path()).await;
    let mut docs = Vec::new();
    for kind in resource_kinds() {
        for d in store.list(kind, "", None, 10_000).await.unwrap() {
            docs.push(json!({ "kind": kind.as_str(), "key": d.key, "unique": d.unique, "body": d.body }));
        }
    }
    std::fs::write(out, serde_json::to_vec_pretty(&docs).unwrap()).unwrap();
}
