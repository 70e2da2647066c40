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

fn compute(rg: &str, kind: &str, name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/{kind}/{name}")
}

async fn empty_disk(app: &TestApp, rg: &str, name: &str) -> String {
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/{rg}?{RES}"), json!({ "location": "westcentralus" })).await;
    let id = compute(rg, "disks", name);
    let body = json!({ "location": "westcentralus", "properties": { "diskSizeGB": 1, "creationData": { "createOption": "Empty" } } });
    let r = app.put(&format!("{id}?api-version=2025-01-02"), body).await;
    assert!(r.status.is_success(), "{}", r.body);
    app.settle().await;
    id
}

async fn vm_with_data_disk(app: &TestApp, rg: &str, name: &str, image: &str, data_disk: &str) -> String {
    let id = compute(rg, "virtualMachines", name);
    let body = json!({ "location": "westcentralus", "properties": {
        "hardwareProfile": { "vmSize": "Standard_D2s_v5" },
        "storageProfile": { "imageReference": { "id": image }, "osDisk": { "createOption": "FromImage" },
            "dataDisks": [{ "lun": 0, "createOption": "Attach", "managedDisk": { "id": data_disk } }] } } });
    let r = app.put(&format!("{id}?api-version=2024-11-01"), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    app.settle().await;
    id
}

#[tokio::test]
async fn deleting_a_group_removes_its_disks_vms_images_and_networks_and_frees_disks_elsewhere() {
    let app = TestApp::new().await;
    let (g, i) = app.seed_definition("rg1", "gal", "img").await;
    app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), seed_version_body()).await;
    app.settle().await;
    let own = empty_disk(&app, "rg1", "d1").await;
    let elsewhere = empty_disk(&app, "rg2", "shared").await;
    let vm = vm_with_data_disk(&app, "rg1", "vm1", &format!("{i}/versions/1.0.0"), &elsewhere).await;
    let vnet = format!(
        "/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/v1?api-version=2022-01-01"
    );
    let r = app.put(&vnet, json!({ "location": "westcentralus", "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] } } })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        app.get(&format!("{elsewhere}?api-version=2025-01-02")).await.body["properties"]["diskState"],
        "Attached"
    );

    let r = app.delete(&format!("/subscriptions/{SUB}/resourcegroups/rg1?{RES}")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    app.settle().await;
    assert_eq!(app.poll(r.header("location")).await.status, StatusCode::OK);
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/rg1?{RES}"), json!({ "location": "westcentralus" })).await;
    for path in [
        format!("{g}?{COMPUTE}"),
        format!("{own}?api-version=2025-01-02"),
        format!("{vm}?api-version=2024-11-01"),
        vnet.clone(),
    ] {
        assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let shared = app.get(&format!("{elsewhere}?api-version=2025-01-02")).await;
    assert_eq!(shared.body["properties"]["diskState"], "Unattached", "{}", shared.body);
}

#[tokio::test]
async fn a_group_whose_disk_serves_a_vm_elsewhere_is_not_deleted() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg1", "gal", "img").await;
    app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), seed_version_body()).await;
    app.settle().await;
    let disk = empty_disk(&app, "rg3", "d2").await;
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/rg2?{RES}"), json!({ "location": "westcentralus" })).await;
    vm_with_data_disk(&app, "rg2", "vm2", &format!("{i}/versions/1.0.0"), &disk).await;
    let r = app.delete(&format!("/subscriptions/{SUB}/resourcegroups/rg3?{RES}")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(app.settle_with_failures().await.len(), 1, "the blocked delete fails");
    let op = app.poll(r.header("azure-asyncoperation")).await;
    assert_eq!(op.body["status"], "Failed", "{}", op.body);
    assert_eq!(op.body["error"]["code"], "ResourceGroupDeletionBlocked", "{}", op.body);
    assert_eq!(app.get(&format!("{disk}?api-version=2025-01-02")).await.status, StatusCode::OK);
    assert_eq!(app.get(&format!("/subscriptions/{SUB}/resourcegroups/rg3?{RES}")).await.status, StatusCode::OK);
}
