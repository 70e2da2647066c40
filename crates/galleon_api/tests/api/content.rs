//! Disks, snapshots and versions with real bytes: import, download, copy, upload, versions from
//! disks and their replication, disks from `latest`.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use super::support::*;

/// beginGetAccess, then the URL from the Location poll.
async fn access_url(app: &TestApp, resource: &str, access: &str) -> String {
    let r = app
        .call(
            axum::http::Method::POST,
            &format!("{resource}/beginGetAccess?{DISK_API}"),
            Some(json!({ "access": access, "durationInSeconds": 600 })),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let status = app.poll(r.header("azure-asyncoperation")).await;
    assert_eq!(status.body["status"], "Succeeded");
    let done = app.poll(r.header("location")).await;
    let url = done.body["accessSAS"].as_str().unwrap().to_string();
    assert_eq!(status.body["properties"]["output"]["accessSAS"], url);
    url[url.find("/access/").unwrap()..].to_string()
}

async fn download(app: &TestApp, url: &str, range: Option<&str>) -> (StatusCode, Vec<u8>) {
    let mut req = Request::get(url);
    if let Some(r) = range {
        req = req.header("x-ms-range", r);
    }
    let (status, _, bytes) = app.send_raw(req.body(Body::empty()).unwrap()).await;
    (status, bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_then_download_gives_back_the_same_bytes() {
    let app = TestApp::new().await;
    app.seed_definition("rg", "gal", "img").await;
    let file = app.dir.path().join("imports/os.vhd");
    let original = write_vhd(&file, 8, 3);
    let disk = import_disk(&app, "rg", "osdisk", &file, "Linux").await;
    let p = &disk["properties"];
    assert_eq!(p["diskSizeBytes"], 8 << 20);
    assert_eq!(p["diskSizeGB"], 1);
    assert_eq!(p["diskState"], "Unattached");
    assert_eq!(p["digest"].as_str().unwrap().len(), 64);
    assert_eq!(disk["sku"]["name"], "Standard_LRS");

    let url = access_url(&app, &format!("{}/disks/osdisk", rg_path("rg")), "Read").await;
    assert_eq!(
        app.get(&format!("{}/disks/osdisk?{DISK_API}", rg_path("rg"))).await.body["properties"]["diskState"],
        "ActiveSAS"
    );
    let (status, bytes) = download(&app, &url, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes == original, "download differs from the imported file");
    let (status, part) = download(&app, &url, Some("bytes=1048000-1049999")).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part, original[1_048_000..1_050_000]);

    let bad = url.replace("sig=", "sig=x");
    let (status, body) = download(&app, &bad, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&body).contains("AuthenticationFailed"));

    let r = app
        .call(axum::http::Method::POST, &format!("{}/disks/osdisk/endGetAccess?{DISK_API}", rg_path("rg")), None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(download(&app, &url, None).await.0, StatusCode::FORBIDDEN, "a revoked URL stops working");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_are_limited_to_allowed_sources_and_valid_images() {
    let app = TestApp::new().await;
    app.seed_definition("rg", "gal", "img").await;
    let body = |uri: &str| json!({ "location": "westcentralus", "properties": { "creationData": { "createOption": "Import", "sourceUri": uri } } });
    let r = app.put(&format!("{}/disks/d?{DISK_API}", rg_path("rg")), body("file:///etc/passwd")).await;
    assert_eq!(
        (r.status, r.body["error"]["target"].as_str()),
        (StatusCode::BAD_REQUEST, Some("properties.creationData.sourceUri"))
    );
    let escape = format!("file://{}/imports/../meta.db", app.dir.path().display());
    assert_eq!(
        app.put(&format!("{}/disks/d?{DISK_API}", rg_path("rg")), body(&escape)).await.status,
        StatusCode::BAD_REQUEST
    );

    // An allowed file that is a broken VHD fails the operation with the reason.
    let file = app.dir.path().join("imports/bad.vhd");
    let mut bytes = write_vhd(&file, 4, 1);
    let n = bytes.len();
    bytes[n - 10] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let r =
        app.put(&format!("{}/disks/d?{DISK_API}", rg_path("rg")), body(&format!("file://{}", file.display()))).await;
    let op = r.header("azure-asyncoperation").to_string();
    let failed = app.settle_with_failures().await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].1, "InvalidContent");
    let status = app.poll(&op).await;
    assert_eq!(status.body["status"], "Failed");
    assert!(status.body["error"]["message"].as_str().unwrap().contains("checksum"), "{}", status.body);
    assert_eq!(app.get(&format!("{}/disks/d?{DISK_API}", rg_path("rg"))).await.state(), "Failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_and_copies_share_content_and_empty_disks_are_zeros() {
    let app = TestApp::new().await;
    app.seed_definition("rg", "gal", "img").await;
    let file = app.dir.path().join("imports/os.vhd");
    write_vhd(&file, 4, 5);
    let disk = import_disk(&app, "rg", "d1", &file, "Linux").await;
    let snap = json!({ "location": "westcentralus", "properties": { "creationData": { "createOption": "Copy", "sourceResourceId": disk["id"] } } });
    assert_eq!(app.put(&format!("{}/snapshots/s1?{DISK_API}", rg_path("rg")), snap).await.status, StatusCode::ACCEPTED);
    app.settle().await;
    let s1 = app.get(&format!("{}/snapshots/s1?{DISK_API}", rg_path("rg"))).await;
    assert_eq!(s1.body["type"], "Microsoft.Compute/snapshots");
    assert_eq!(s1.body["properties"]["digest"], disk["properties"]["digest"]);
    assert_eq!(s1.body["properties"]["osType"], "Linux", "a copy inherits the OS type");

    let empty = json!({ "location": "westcentralus", "properties": { "diskSizeGB": 2, "creationData": { "createOption": "Empty" } } });
    app.put(&format!("{}/disks/blank?{DISK_API}", rg_path("rg")), empty).await;
    app.settle().await;
    let url = access_url(&app, &format!("{}/disks/blank", rg_path("rg")), "Read").await;
    let (_, tail) = download(&app, &url, Some("bytes=2147483000-2147484159")).await;
    assert!(tail[..648].iter().all(|b| *b == 0));
    assert_eq!(&tail[648..656], b"conectix");

    let lists = app.get(&format!("/subscriptions/{SUB}/providers/Microsoft.Compute/disks?{DISK_API}")).await;
    // d1 and blank here, and the harness's source disk of its managed image.
    assert_eq!(lists.body["value"].as_array().unwrap().len(), 3);
    assert_eq!(app.delete(&format!("{}/disks/blank?{DISK_API}", rg_path("rg"))).await.status, StatusCode::ACCEPTED);
    app.settle().await;
    assert_eq!(app.get(&format!("{}/disks/blank?{DISK_API}", rg_path("rg"))).await.code(), "ResourceNotFound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_through_page_writes_become_the_disk() {
    let app = TestApp::new().await;
    app.seed_definition("rg", "gal", "img").await;
    let file = app.dir.path().join("local/up.vhd");
    let original = write_vhd(&file, 21, 9);
    let body = json!({ "location": "westcentralus", "properties": { "creationData": { "createOption": "Upload", "uploadSizeBytes": original.len() } } });
    assert_eq!(app.put(&format!("{}/disks/up?{DISK_API}", rg_path("rg")), body).await.status, StatusCode::ACCEPTED);
    app.settle().await;
    assert_eq!(
        app.get(&format!("{}/disks/up?{DISK_API}", rg_path("rg"))).await.body["properties"]["diskState"],
        "ReadyToUpload"
    );
    let url = access_url(&app, &format!("{}/disks/up", rg_path("rg")), "Write").await;
    // A clear of the whole blob has no body (and takes no buffer of its size); then a page of
    // other bytes that the upload below writes over.
    let page = |range: String, write: &str, body: Vec<u8>| {
        Request::put(format!("{url}&comp=page"))
            .header("x-ms-range", range)
            .header("x-ms-page-write", write)
            .body(Body::from(body))
            .unwrap()
    };
    let whole = format!("bytes=0-{}", original.len() - 1);
    assert_eq!(app.send_raw(page(whole, "clear", vec![])).await.0, StatusCode::CREATED);
    let first = format!("bytes=0-{}", (4 << 20) - 1);
    assert_eq!(app.send_raw(page(first, "update", vec![0xa5; 4 << 20])).await.0, StatusCode::CREATED);
    // Upload only the non-zero 4 MiB pages, as azcopy does.
    for (i, page) in original.chunks(4 << 20).enumerate() {
        if page.iter().all(|b| *b == 0) {
            continue;
        }
        let start = i * (4 << 20);
        let req = Request::put(format!("{url}&comp=page"))
            .header("x-ms-range", format!("bytes={start}-{}", start + page.len() - 1))
            .header("x-ms-page-write", "update")
            .body(Body::from(page.to_vec()))
            .unwrap();
        assert_eq!(app.send_raw(req).await.0, StatusCode::CREATED);
    }
    let end = format!("{}/disks/up/endGetAccess?{DISK_API}", rg_path("rg"));
    let r = app.call(axum::http::Method::POST, &end, None).await;
    let op = r.header("azure-asyncoperation").to_string();
    // A repeated endGetAccess follows the first one's operation: one finish, not a second.
    let again = app.call(axum::http::Method::POST, &end, None).await;
    assert_eq!(again.header("azure-asyncoperation"), op);
    assert_eq!(app.poll(&op).await.body["status"], "InProgress");
    app.settle().await;
    assert_eq!(app.poll(&op).await.body["status"], "Succeeded", "finished in one pass, without a retry");
    let disk = app.get(&format!("{}/disks/up?{DISK_API}", rg_path("rg"))).await;
    assert_eq!(disk.body["properties"]["diskState"], "Unattached");
    let read = access_url(&app, &format!("{}/disks/up", rg_path("rg")), "Read").await;
    assert!(download(&app, &read, None).await.1 == original);
    let staged: Vec<_> = std::fs::read_dir(app.dir.path().join("uploads")).unwrap().collect();
    assert!(staged.is_empty(), "the finished upload's staging was removed: {staged:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_built_from_snapshots_replicated_and_serve_new_disks() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let (os_file, data_file) = (app.dir.path().join("imports/os.vhd"), app.dir.path().join("imports/data.vhd"));
    let os_bytes = write_vhd(&os_file, 6, 2);
    write_vhd(&data_file, 3, 4);
    let os = import_disk(&app, "rg", "os", &os_file, "Linux").await;
    let data = import_disk(&app, "rg", "data", &data_file, "Linux").await;
    let snap = json!({ "location": "westcentralus", "properties": { "creationData": { "createOption": "Copy", "sourceResourceId": os["id"] } } });
    app.put(&format!("{}/snapshots/os-snap?{DISK_API}", rg_path("rg")), snap).await;
    app.settle().await;
    let snap_id = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/snapshots/os-snap");

    let body = json!({ "location": "westcentralus", "properties": {
        "publishingProfile": { "targetRegions": [{ "name": "westcentralus" }, { "name": "eastus", "storageAccountType": "Standard_ZRS" }] },
        "storageProfile": { "osDiskImage": { "source": { "id": snap_id }, "hostCaching": "ReadOnly" },
                            "dataDiskImages": [{ "lun": 1, "source": { "id": data["id"] } }] } } });
    let r = app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    app.settle().await;
    let v = app.get(&format!("{i}/versions/1.0.0?{COMPUTE}&$expand=ReplicationStatus")).await;
    assert_eq!(v.state(), "Succeeded", "{}", v.body);
    let sp = &v.body["properties"]["storageProfile"];
    assert_eq!(sp["osDiskImage"]["digest"], os["properties"]["digest"]);
    assert_eq!(sp["osDiskImage"]["sizeInGB"], 1);
    assert_eq!(sp["dataDiskImages"][0]["digest"], data["properties"]["digest"]);
    assert_eq!(v.body["properties"]["replicationStatus"]["aggregatedState"], "Completed");
    // galleon's byte count of the copy to eastus: all of it done, with its rate, nothing left.
    let summary = v.body["properties"]["replicationStatus"]["summary"].as_array().unwrap();
    let east = summary.iter().find(|r| r["region"] == "East US").unwrap();
    let t = &east["transfer"];
    assert!(t["bytesNeeded"].as_u64().unwrap() >= 6 << 20, "{east}");
    assert_eq!(t["bytesDone"], t["bytesNeeded"], "{east}");
    assert_eq!(t["etaSeconds"], 0, "{east}");
    assert!(t["bytesPerSecond"].as_u64().unwrap() > 0, "{east}");

    // A disk in the other region from `latest`: the bytes were copied there.
    let from_latest = json!({ "location": "eastus", "properties": { "creationData": { "createOption": "FromImage",
        "galleryImageReference": { "id": format!("{i}/versions/latest") } } } });
    let r = app.put(&format!("{}/disks/east?{DISK_API}", rg_path("rg")), from_latest).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    app.settle().await;
    let east = app.get(&format!("{}/disks/east?{DISK_API}", rg_path("rg"))).await;
    assert_eq!(east.body["properties"]["digest"], os["properties"]["digest"]);
    assert_eq!(east.body["properties"]["osType"], "Linux");
    let url = access_url(&app, &format!("{}/disks/east", rg_path("rg")), "Read").await;
    assert!(download(&app, &url, None).await.1 == os_bytes, "the version's bytes in eastus are the imported bytes");

    // Another version from this one shares its content.
    let copy = json!({ "location": "westcentralus", "properties": { "storageProfile": { "source": { "id": format!("{i}/versions/1.0.0") } } } });
    assert_eq!(app.put(&format!("{i}/versions/1.0.1?{COMPUTE}"), copy).await.status, StatusCode::CREATED);
    app.settle().await;
    let v2 = app.get(&format!("{i}/versions/1.0.1?{COMPUTE}")).await;
    assert_eq!(v2.body["properties"]["storageProfile"]["osDiskImage"]["digest"], os["properties"]["digest"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_sources_are_checked_when_the_put_arrives() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let win = app.dir.path().join("imports/win.vhd");
    write_vhd(&win, 2, 7);
    let disk = import_disk(&app, "rg", "win", &win, "Windows").await;
    let put = |src: Value| {
        let body = json!({ "location": "westcentralus", "properties": { "storageProfile": { "osDiskImage": { "source": { "id": src } } } } });
        let uri = format!("{i}/versions/1.0.0?{COMPUTE}");
        let app = &app;
        async move { app.put(&uri, body).await }
    };
    let r = put(disk["id"].clone()).await;
    assert!(r.body["error"]["message"].as_str().unwrap().contains("different OS type"), "{}", r.body);
    let r = put(json!(format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/snapshots/missing")))
        .await;
    assert!(r.body["error"]["message"].as_str().unwrap().contains("not found"), "{}", r.body);
    let r = app
        .put(&format!("{}/disks/far?{DISK_API}", rg_path("rg")), json!({ "location": "eastus", "properties": { "diskSizeGB": 1, "creationData": { "createOption": "Empty" } } }))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    app.settle().await;
    let r = put(json!(format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/far"))).await;
    assert!(r.body["error"]["message"].as_str().unwrap().contains("same region"), "{}", r.body);
    assert_eq!(app.get(&format!("{i}/versions?{COMPUTE}")).await.body["value"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_images_feed_versions_and_a_busy_image_is_refused() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let file = app.dir.path().join("imports/os.vhd");
    let bytes = write_vhd(&file, 5, 6);
    let disk = import_disk(&app, "rg", "os", &file, "Linux").await;
    let image = json!({ "location": "westcentralus", "properties": { "hyperVGeneration": "V2", "storageProfile": { "osDisk": {
        "osType": "Linux", "osState": "Generalized", "managedDisk": { "id": disk["id"] }, "caching": "ReadWrite" } } } });
    let r = app.put(&format!("{}/images/golden?api-version=2024-11-01", rg_path("rg")), image).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    app.settle().await;
    let img = app.get(&format!("{}/images/golden?api-version=2024-11-01", rg_path("rg"))).await;
    assert_eq!(img.body["properties"]["storageProfile"]["osDisk"]["digest"], disk["properties"]["digest"]);
    // Caching not given reads as Azure's defaults (Ansible's azure_rm_image_info needs it).
    let plain = json!({ "location": "westcentralus", "properties": { "storageProfile": {
        "osDisk": { "osType": "Linux", "osState": "Generalized", "managedDisk": { "id": disk["id"] } },
        "dataDisks": [{ "lun": 0, "managedDisk": { "id": disk["id"] } }] } } });
    let r = app.put(&format!("{}/images/plain?api-version=2024-11-01", rg_path("rg")), plain).await;
    assert_eq!(r.body["properties"]["storageProfile"]["osDisk"]["caching"], "ReadWrite", "{}", r.body);
    assert_eq!(r.body["properties"]["storageProfile"]["dataDisks"][0]["caching"], "None", "{}", r.body);
    app.settle().await;

    let golden = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/golden");
    let body =
        json!({ "location": "westcentralus", "properties": { "storageProfile": { "source": { "id": golden } } } });
    assert_eq!(app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), body.clone()).await.status, StatusCode::CREATED);
    let busy = app.put(&format!("{i}/versions/1.0.1?{COMPUTE}"), body.clone()).await;
    assert_eq!((busy.status, busy.code()), (StatusCode::CONFLICT, "Conflict"));
    assert!(busy.body["error"]["message"].as_str().unwrap().contains("still being created or replicated"));
    app.settle().await;
    assert_eq!(app.put(&format!("{i}/versions/1.0.1?{COMPUTE}"), body).await.status, StatusCode::CREATED);
    app.settle().await;

    let v = app.get(&format!("{i}/versions/1.0.0?{COMPUTE}")).await;
    assert_eq!(v.body["properties"]["storageProfile"]["osDiskImage"]["hostCaching"], "ReadWrite");
    assert_eq!(v.body["properties"]["storageProfile"]["osDiskImage"]["digest"], disk["properties"]["digest"]);
    let from_def = json!({ "location": "westcentralus", "properties": { "creationData": { "createOption": "FromImage",
        "galleryImageReference": { "id": i } } } });
    app.put(&format!("{}/disks/vmdisk?{DISK_API}", rg_path("rg")), from_def).await;
    app.settle().await;
    let url = access_url(&app, &format!("{}/disks/vmdisk", rg_path("rg")), "Read").await;
    assert!(download(&app, &url, None).await.1 == bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_collection_removes_only_unreferenced_old_chunks() {
    let app = TestApp::new().await;
    app.seed_definition("rg", "gal", "img").await;
    let (a, b) = (app.dir.path().join("imports/a.vhd"), app.dir.path().join("imports/b.vhd"));
    let kept = write_vhd(&a, 4, 11);
    write_vhd(&b, 4, 12);
    import_disk(&app, "rg", "keep", &a, "Linux").await;
    let gone = import_disk(&app, "rg", "gone", &b, "Linux").await;
    let snap = json!({ "location": "westcentralus", "properties": { "creationData": { "createOption": "Copy", "sourceResourceId": gone["id"] } } });
    app.put(&format!("{}/snapshots/s?{DISK_API}", rg_path("rg")), snap).await;
    app.settle().await;

    // Young chunks survive even when nothing references them.
    app.delete(&format!("{}/disks/gone?{DISK_API}", rg_path("rg"))).await;
    app.settle().await;
    let report = app.core.collect_garbage(std::time::Duration::from_secs(3600)).await.unwrap();
    assert!(report.iter().all(|r| r.deleted == 0));
    // Still referenced by the snapshot: nothing of `gone` may go.
    let report = app.core.collect_garbage(std::time::Duration::ZERO).await.unwrap();
    assert!(report.iter().all(|r| r.deleted == 0), "{report:?}");

    app.delete(&format!("{}/snapshots/s?{DISK_API}", rg_path("rg"))).await;
    app.settle().await;
    let report = app.core.collect_garbage(std::time::Duration::ZERO).await.unwrap();
    let west: usize = report.iter().filter(|r| r.store.starts_with("westcentralus/")).map(|r| r.deleted).sum();
    assert!(west >= 2, "the deleted disk's chunks and manifest go: {report:?}");
    // 1 MiB data chunks and one small manifest: what was freed is counted.
    let freed: u64 = report.iter().filter(|r| r.store.starts_with("westcentralus/")).map(|r| r.bytes_deleted).sum();
    let mib = 1u64 << 20;
    assert!(freed > (west as u64 - 1) * mib && freed < west as u64 * mib, "{freed} bytes: {report:?}");
    // What is still referenced serves as before.
    let url = access_url(&app, &format!("{}/disks/keep", rg_path("rg")), "Read").await;
    assert!(download(&app, &url, None).await.1 == kept);
    let again = app.core.collect_garbage(std::time::Duration::ZERO).await.unwrap();
    assert!(again.iter().all(|r| r.deleted == 0), "a second pass finds nothing: {again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vms_own_disks_and_can_be_captured() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let file = app.dir.path().join("imports/os.vhd");
    let bytes = write_vhd(&file, 3, 21);
    let os = import_disk(&app, "rg", "os", &file, "Linux").await;
    let data_file = app.dir.path().join("imports/data.vhd");
    write_vhd(&data_file, 2, 22);
    let data = import_disk(&app, "rg", "data", &data_file, "Linux").await;
    let body = json!({ "location": "westcentralus", "properties": { "storageProfile": { "osDiskImage": { "source": { "id": os["id"] } } } } });
    assert_eq!(app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), body).await.status, StatusCode::CREATED);
    app.settle().await;

    let vm_path = format!("{}/virtualMachines/vm1", rg_path("rg"));
    let vm_body = json!({ "location": "westcentralus", "properties": {
        "hardwareProfile": { "vmSize": "Standard_D2s_v5" },
        "storageProfile": { "imageReference": { "id": format!("{i}/versions/1.0.0") }, "osDisk": { "createOption": "FromImage", "caching": "ReadWrite" },
            "dataDisks": [{ "lun": 0, "createOption": "Attach", "managedDisk": { "id": data["id"] } }, { "lun": 1, "createOption": "Empty", "diskSizeGB": 4 }] },
        "osProfile": { "computerName": "vm1", "adminUsername": "azureuser", "adminPassword": "not-echoed" } } });
    let r = app.put(&format!("{vm_path}?api-version=2024-11-01"), vm_body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    app.settle().await;
    let vm = app.get(&format!("{vm_path}?api-version=2024-11-01&$expand=instanceView")).await;
    assert_eq!(vm.state(), "Succeeded", "{}", vm.body);
    let props = &vm.body["properties"];
    assert!(props["osProfile"].get("adminPassword").is_none(), "secrets are not echoed");
    assert_eq!(props["instanceView"]["statuses"][1]["code"], "PowerState/running");
    let os_disk_id = props["storageProfile"]["osDisk"]["managedDisk"]["id"].as_str().unwrap().to_string();
    let os_disk = app.get(&format!("{}?{DISK_API}", &os_disk_id[os_disk_id.find("/subscriptions").unwrap()..])).await;
    assert_eq!(
        os_disk.body["properties"]["digest"], os["properties"]["digest"],
        "the OS disk shares the version's content"
    );
    assert_eq!(os_disk.body["properties"]["diskState"], "Attached");
    assert_eq!(props["storageProfile"]["dataDisks"].as_array().unwrap().len(), 2);

    // The attached disk cannot go to a second VM.
    let second = json!({ "location": "westcentralus", "properties": { "storageProfile": {
        "osDisk": { "createOption": "Attach", "managedDisk": { "id": data["id"] } } } } });
    let r = app.put(&format!("{}/virtualMachines/vm2?api-version=2024-11-01", rg_path("rg")), second).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

    // Capture: generalize needs a stopped VM; then a managed image and a version from it.
    let post = |action: &str| {
        let uri = format!("{vm_path}/{action}?api-version=2024-11-01");
        let app = &app;
        async move { app.call(axum::http::Method::POST, &uri, None).await }
    };
    assert_eq!(post("generalize").await.status, StatusCode::CONFLICT);
    assert_eq!(post("powerOff").await.status, StatusCode::ACCEPTED);
    assert_eq!(post("generalize").await.status, StatusCode::OK);
    let view = app.get(&format!("{vm_path}/instanceView?api-version=2024-11-01")).await;
    assert_eq!(view.body["statuses"][1]["code"], "PowerState/stopped");

    let vm_id = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1");
    let image = json!({ "location": "westcentralus", "properties": { "sourceVirtualMachine": { "id": vm_id }, "hyperVGeneration": "V2" } });
    let r = app.put(&format!("{}/images/captured?api-version=2024-11-01", rg_path("rg")), image).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    app.settle().await;
    let img = app.get(&format!("{}/images/captured?api-version=2024-11-01", rg_path("rg"))).await;
    assert_eq!(img.state(), "Succeeded", "{}", img.body);
    assert_eq!(img.body["properties"]["storageProfile"]["osDisk"]["digest"], os["properties"]["digest"]);
    assert_eq!(img.body["properties"]["storageProfile"]["osDisk"]["osType"], "Linux");
    assert_eq!(img.body["properties"]["storageProfile"]["dataDisks"].as_array().unwrap().len(), 2);

    let from_vm = json!({ "location": "westcentralus", "properties": { "storageProfile": { "source": { "virtualMachineId": vm_id } } } });
    let r = app.put(&format!("{i}/versions/2.0.0?{COMPUTE}"), from_vm).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    app.settle().await;
    let v = app.get(&format!("{i}/versions/2.0.0?{COMPUTE}")).await;
    assert_eq!(v.state(), "Succeeded", "{}", v.body);
    assert_eq!(v.body["properties"]["storageProfile"]["osDiskImage"]["digest"], os["properties"]["digest"]);
    assert_eq!(v.body["properties"]["storageProfile"]["dataDiskImages"][0]["digest"], data["properties"]["digest"]);

    // Deleting the VM keeps its disks, detached.
    assert_eq!(app.delete(&format!("{vm_path}?api-version=2024-11-01")).await.status, StatusCode::ACCEPTED);
    app.settle().await;
    let d = app.get(&format!("{}/disks/data?{DISK_API}", rg_path("rg"))).await;
    assert_eq!(d.body["properties"]["diskState"], "Unattached");
    let url = access_url(&app, &os_disk_id[os_disk_id.find("/subscriptions").unwrap()..], "Read").await;
    assert!(download(&app, &url, None).await.1 == bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_definition_with_a_plan_takes_only_sources_with_that_plan() {
    let app = TestApp::new().await;
    let (g, _) = app.seed_definition("rg", "gal", "img").await;
    let plan = json!({ "name": "gold", "publisher": "contoso", "product": "base" });
    let mut def = definition_body("westcentralus", "contoso", "base", "gold");
    def["properties"]["purchasePlan"] = plan.clone();
    assert_eq!(app.put(&format!("{g}/images/planned?api-version=2021-10-01"), def).await.status, StatusCode::CREATED);
    let file = app.dir.path().join("imports/p.vhd");
    write_vhd(&file, 2, 31);
    let plain = import_disk(&app, "rg", "plain", &file, "Linux").await;
    let body = json!({ "location": "westcentralus", "properties": { "purchasePlan": plan, "osType": "Linux", "hyperVGeneration": "V2",
        "creationData": { "createOption": "Copy", "sourceResourceId": plain["id"] } } });
    app.put(&format!("{}/disks/planned?{DISK_API}", rg_path("rg")), body).await;
    app.settle().await;
    let planned = app.get(&format!("{}/disks/planned?{DISK_API}", rg_path("rg"))).await;
    assert_eq!(planned.body["properties"]["purchasePlan"]["name"], "gold");

    let version = |src: &Value| json!({ "location": "westcentralus", "properties": { "storageProfile": { "osDiskImage": { "source": { "id": src } } } } });
    let r = app.put(&format!("{g}/images/planned/versions/1.0.0?{COMPUTE}"), version(&plain["id"])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("purchase plan"), "{}", r.body);
    let r = app.put(&format!("{g}/images/planned/versions/1.0.0?{COMPUTE}"), version(&planned.body["id"])).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // And the plan-less definition refuses the planned disk.
    let r = app.put(&format!("{g}/images/img/versions/1.0.0?{COMPUTE}"), version(&planned.body["id"])).await;
    assert!(r.body["error"]["message"].as_str().unwrap().contains("purchase plan"), "{}", r.body);
}

fn files_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "tmp") {
                    out.extend(files_in(&p));
                }
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_go_to_distinct_stores_of_their_type_and_failures_stay_in_their_region() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let file = app.dir.path().join("imports/os.vhd");
    write_vhd(&file, 3, 41);
    let disk = import_disk(&app, "rg", "os", &file, "Linux").await;
    let version = |regions: Value| {
        json!({ "location": "westcentralus", "properties": {
        "publishingProfile": { "targetRegions": regions },
        "storageProfile": { "osDiskImage": { "source": { "id": disk["id"] } } } } })
    };

    // Placement rules: more replicas than stores of the type, or a type the region lacks.
    let r = app
        .put(
            &format!("{i}/versions/0.0.1?{COMPUTE}"),
            version(json!([{ "name": "westcentralus", "regionalReplicaCount": 3 }])),
        )
        .await;
    assert!(r.body["error"]["message"].as_str().unwrap().contains("cannot hold 3 replicas"), "{}", r.body);
    let r = app
        .put(&format!("{i}/versions/0.0.1?{COMPUTE}"), version(json!([{ "name": "westcentralus" }, { "name": "eastus", "regionalReplicaCount": 2, "storageAccountType": "Premium_LRS" }])))
        .await;
    assert!(r.body["error"]["message"].as_str().unwrap().contains("Region 'eastus'"), "{}", r.body);

    // Break eastus's first ZRS store: its directory becomes a file.
    let broken = app.dir.path().join("regions/eastus/standard_zrs-1");
    std::fs::remove_dir_all(&broken).unwrap();
    std::fs::write(&broken, b"not a directory").unwrap();
    let regions = json!([{ "name": "westcentralus", "regionalReplicaCount": 2 }, { "name": "eastus", "storageAccountType": "Standard_ZRS" }, { "name": "westus2" }]);
    let r = app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), version(regions.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let op = r.header("azure-asyncoperation").to_string();
    // The broken store is retried with backoff before its region is given up.
    let status = app.settle_until_done(&op).await;
    assert_eq!(status.body["status"], "Failed");
    assert!(status.body["error"]["message"].as_str().unwrap().contains("eastus"));
    let v = app.get(&format!("{i}/versions/1.0.0?{COMPUTE}&$expand=ReplicationStatus")).await;
    let summary = v.body["properties"]["replicationStatus"]["summary"].as_array().unwrap().clone();
    let state = |name: &str| summary.iter().find(|s| s["region"] == name).unwrap().clone();
    assert_eq!(state("West Central US")["state"], "Completed");
    assert_eq!(state("West US 2")["state"], "Completed", "other regions complete");
    assert_eq!(state("East US")["state"], "Failed");
    assert!(!state("East US")["details"].as_str().unwrap().is_empty());
    assert_eq!(v.body["properties"]["replicationStatus"]["aggregatedState"], "Failed");

    // Two replicas in westcentralus on its two Standard_LRS stores, linked to one file each.
    let root = app.dir.path().join("regions");
    let (lrs1, lrs2) =
        (files_in(&root.join("westcentralus/standard_lrs-1")), files_in(&root.join("westcentralus/standard_lrs-2")));
    assert!(!lrs2.is_empty(), "the second replica store holds the version");
    use std::os::unix::fs::MetadataExt;
    let inode = |p: &std::path::Path| std::fs::metadata(p).unwrap().ino();
    let shared =
        lrs2.iter().filter(|p| lrs1.iter().any(|q| q.file_name() == p.file_name() && inode(q) == inode(p))).count();
    assert!(shared > 0, "chunks are hard-linked between stores on one filesystem");
    assert!(files_in(&root.join("westus2/standard_zrs-1")).is_empty(), "westus2 asked for Standard_LRS only");
    assert!(!files_in(&root.join("westus2/standard_lrs-1")).is_empty());

    // Repair the store; an update retries only the failed region.
    std::fs::remove_file(&broken).unwrap();
    std::fs::create_dir_all(broken.join("tmp")).unwrap();
    let west_before: Vec<_> = files_in(&root.join("westcentralus/standard_lrs-2"));
    let r = app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), version(regions)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.settle().await;
    let v = app.get(&format!("{i}/versions/1.0.0?{COMPUTE}&$expand=ReplicationStatus")).await;
    assert_eq!(v.state(), "Succeeded", "{}", v.body);
    assert_eq!(v.body["properties"]["replicationStatus"]["aggregatedState"], "Completed");
    assert!(!files_in(&broken).is_empty());
    assert_eq!(
        files_in(&root.join("westcentralus/standard_lrs-2")).len(),
        west_before.len(),
        "completed regions are not copied again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_region_loses_its_replicas_and_a_deleted_version_its_content() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let file = app.dir.path().join("imports/os.vhd");
    write_vhd(&file, 3, 51);
    let disk = import_disk(&app, "rg", "os", &file, "Linux").await;
    let body = |regions: Value, allow: bool| {
        json!({ "location": "westcentralus", "properties": {
        "publishingProfile": { "targetRegions": regions },
        "safetyProfile": { "allowDeletionOfReplicatedLocations": allow },
        "storageProfile": { "osDiskImage": { "source": { "id": disk["id"] } } } } })
    };
    let uri = format!("{i}/versions/1.0.0?{COMPUTE}");
    app.put(&uri, body(json!([{ "name": "westcentralus" }, { "name": "northeurope" }]), true)).await;
    app.settle().await;
    let north = app.dir.path().join("regions/northeurope/standard_lrs-1");
    assert!(!files_in(&north).is_empty());
    // Dropping northeurope: its replica is garbage once the grace period has passed.
    let r = app.put(&uri, body(json!([{ "name": "westcentralus" }]), true)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.settle().await;
    app.core.collect_garbage(std::time::Duration::ZERO).await.unwrap();
    assert!(files_in(&north).is_empty(), "northeurope's replica is gone");
    let west = app.dir.path().join("regions/westcentralus/standard_lrs-1");
    let before = files_in(&west).len();
    assert!(before > 0, "the disk and the version still use westcentralus");
    // Deleting the version keeps what the disk still uses.
    app.delete(&uri).await;
    app.settle().await;
    app.core.collect_garbage(std::time::Duration::ZERO).await.unwrap();
    let url = access_url(&app, &format!("{}/disks/os", rg_path("rg")), "Read").await;
    assert_eq!(download(&app, &url, None).await.1, std::fs::read(&file).unwrap());
}

/// A 4 MiB disk imported in westcentralus (its bytes from `seed`) published as version 1.0.0 of
/// `rg/gal/img` to westcentralus and eastus; returns the definition's id and the bytes.
async fn version_in_westcentralus_and_eastus(app: &TestApp, seed: u8) -> (String, Vec<u8>) {
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let file = app.dir.path().join("imports/os.vhd");
    let original = write_vhd(&file, 4, seed);
    let disk = import_disk(app, "rg", "os", &file, "Linux").await;
    let body = json!({ "location": "westcentralus", "properties": {
        "publishingProfile": { "targetRegions": [{ "name": "westcentralus" }, { "name": "eastus" }] },
        "storageProfile": { "osDiskImage": { "source": { "id": disk["id"] } } } } });
    app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), body).await;
    app.settle().await;
    (i, original)
}

/// The bytes of a disk made in eastus from version 1.0.0 of definition `i`.
async fn disk_in_eastus_from(app: &TestApp, i: &str) -> Vec<u8> {
    let from_version = json!({ "location": "eastus", "properties": { "creationData": { "createOption": "FromImage",
        "galleryImageReference": { "id": format!("{i}/versions/1.0.0") } } } });
    app.put(&format!("{}/disks/east?{DISK_API}", rg_path("rg")), from_version).await;
    app.settle().await;
    let url = access_url(app, &format!("{}/disks/east", rg_path("rg")), "Read").await;
    download(app, &url, None).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrub_finds_and_repairs_corrupt_and_missing_chunks() {
    let app = TestApp::new().await;
    let (i, original) = version_in_westcentralus_and_eastus(&app, 61).await;

    let store = app.dir.path().join("regions/eastus/standard_lrs-1");
    let data_chunks: Vec<_> =
        files_in(&store).into_iter().filter(|p| !std::fs::read(p).unwrap().starts_with(b"GLNMAN01")).collect();
    assert!(data_chunks.len() >= 2, "{data_chunks:?}");
    // Bit rot in one copy (a new file, so the linked copies elsewhere stay good), and a lost chunk.
    std::fs::remove_file(&data_chunks[0]).unwrap();
    std::fs::write(&data_chunks[0], vec![0xA5u8; 4096]).unwrap();
    std::fs::remove_file(&data_chunks[1]).unwrap();

    let never = app.get("/galleon/regions/eastus/scrub").await;
    assert_eq!((never.status, never.code()), (StatusCode::NOT_FOUND, "OperationNotFound"), "{}", never.body);
    let reports = app.maintenance("/galleon/regions/eastus/scrub").await;
    // Its progress, as `galleon region scrub` draws it: every store done, the last one whole.
    let progress = app.get("/galleon/regions/eastus/scrub").await.body;
    assert_eq!(progress["done"], true, "{progress}");
    assert_eq!(progress["storesDone"], progress["stores"], "{progress}");
    assert_eq!(progress["stores"], reports.as_array().unwrap().len(), "{progress}");
    assert_eq!(progress["checked"], progress["chunks"], "{progress}");
    assert_eq!(progress["store"], reports.as_array().unwrap().last().unwrap()["store"], "{progress}");
    let report = reports.as_array().unwrap().iter().find(|s| s["store"] == "eastus/standard_lrs-1").unwrap().clone();
    assert_eq!(report["corrupt"], 1, "{report}");
    assert_eq!(report["missing"], 1, "{report}");
    assert_eq!(report["repaired"], 2, "{report}");
    let again = app.maintenance("/galleon/regions/eastus/scrub").await;
    assert!(again.as_array().unwrap().iter().all(|s| s["corrupt"] == 0 && s["missing"] == 0));

    assert_eq!(disk_in_eastus_from(&app, &i).await, original);
}

/// A symlink in the imports directory does not reach outside it, and a FIFO or device is refused
/// at PUT (it would stall the import forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_read_only_regular_files_inside_the_allowed_directory() {
    let app = TestApp::new().await;
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/rg?{RES}"), json!({ "location": "westcentralus" })).await;
    let imports = app.dir.path().join("imports");
    std::fs::create_dir_all(&imports).unwrap();
    let secret = app.dir.path().join("secret.img");
    write_vhd(&secret, 2, 3);
    std::os::unix::fs::symlink(&secret, imports.join("escape.vhd")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", imports.join("passwd")).unwrap();
    std::os::unix::fs::symlink(app.dir.path(), imports.join("up")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", imports.join("zero")).unwrap();
    let fifo = imports.join("fifo.vhd");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let cases = [
        imports.join("escape.vhd"),
        imports.join("passwd"),
        imports.join("up/secret.img"),
        imports.join("zero"),
        fifo,
        std::path::PathBuf::from("/etc/passwd"),
    ];
    for (n, path) in cases.iter().enumerate() {
        let body = json!({ "location": "westcentralus", "properties": { "osType": "Linux", "hyperVGeneration": "V2",
            "creationData": { "createOption": "Import", "sourceUri": format!("file://{}", path.display()) } } });
        let r = app.put(&format!("{}/disks/d{n}?{DISK_API}", rg_path("rg")), body).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "InvalidParameter"),
            "{}: {}",
            path.display(),
            r.body
        );
        // The server's own directories (the allow-list) are not revealed to the caller.
        if !path.starts_with(app.dir.path()) {
            let message = r.body["error"]["message"].as_str().unwrap();
            assert!(!message.contains(app.dir.path().to_str().unwrap()), "{message}");
        }
    }
    let list = app.get(&format!("{}/disks?{DISK_API}", rg_path("rg"))).await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), 0, "nothing was created");
    // A symlink that stays inside the directory is fine.
    let real = imports.join("real.vhd");
    let bytes = write_vhd(&real, 2, 5);
    std::os::unix::fs::symlink(&real, imports.join("alias.vhd")).unwrap();
    import_disk(&app, "rg", "ok", &imports.join("alias.vhd"), "Linux").await;
    let url = access_url(&app, &format!("{}/disks/ok", rg_path("rg")), "Read").await;
    assert!(download(&app, &url, None).await.1 == bytes);
}

/// An import whose chunks another store of its region already holds (a Premium_LRS replica of a
/// version) must not lose them when that version goes and garbage is collected; scrub finds
/// nothing missing before or after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_collection_keeps_chunks_any_manifest_of_the_region_reads() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let file = app.dir.path().join("imports/os.vhd");
    let bytes = write_vhd(&file, 4, 71);
    let disk = import_disk(&app, "rg", "os", &file, "Linux").await;
    let uri = format!("{i}/versions/1.0.0?{COMPUTE}");
    let body = json!({ "location": "westcentralus", "properties": {
        "publishingProfile": { "targetRegions": [{ "name": "westcentralus" },
            { "name": "westus2", "storageAccountType": "Premium_LRS" }] },
        "storageProfile": { "osDiskImage": { "source": { "id": disk["id"] } } } } });
    assert_eq!(app.put(&uri, body).await.status, StatusCode::CREATED);
    app.settle().await;
    assert!(!files_in(&app.dir.path().join("regions/westus2/premium_lrs-1")).is_empty());

    // The same image imported in westus2: its chunks are already in westus2's premium store.
    let body = json!({ "location": "westus2", "properties": { "osType": "Linux", "hyperVGeneration": "V2",
        "creationData": { "createOption": "Import", "sourceUri": format!("file://{}", file.display()) } } });
    assert_eq!(app.put(&format!("{}/disks/west?{DISK_API}", rg_path("rg")), body).await.status, StatusCode::ACCEPTED);
    app.settle().await;
    // A disk made from the version in westus2 shares the replica's manifest.
    let from_version = json!({ "location": "westus2", "properties": { "creationData": { "createOption": "FromImage",
        "galleryImageReference": { "id": format!("{i}/versions/1.0.0") } } } });
    app.put(&format!("{}/disks/fromver?{DISK_API}", rg_path("rg")), from_version).await;
    app.settle().await;
    let scrub = app.maintenance("/galleon/regions/westus2/scrub").await;
    assert!(scrub.as_array().unwrap().iter().all(|s| s["missing"] == 0), "{scrub}");

    // The version goes: its replica's manifest is garbage, the chunks the disks read are not.
    assert!(
        app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), json!({ "location": "westcentralus", "properties": {
        "publishingProfile": { "targetRegions": [{ "name": "westcentralus" }, { "name": "westus2", "storageAccountType": "Premium_LRS" }] },
        "safetyProfile": { "allowDeletionOfReplicatedLocations": true },
        "storageProfile": { "osDiskImage": { "source": { "id": disk["id"] } } } } })).await.status.is_success()
    );
    app.settle().await;
    app.delete(&uri).await;
    app.settle().await;
    app.core.collect_garbage(std::time::Duration::ZERO).await.unwrap();
    for name in ["west", "fromver"] {
        let url = access_url(&app, &format!("{}/disks/{name}", rg_path("rg")), "Read").await;
        assert!(download(&app, &url, None).await.1 == bytes, "{name} still reads its bytes");
    }
    let scrub = app.maintenance("/galleon/regions/westus2/scrub").await;
    assert!(scrub.as_array().unwrap().iter().all(|s| s["missing"] == 0 && s["corrupt"] == 0), "{scrub}");
}

/// A version's data disks reach new disks (`galleryImageReference.lun`) and VMs (by default, and
/// as `FromImage` data disks); a LUN the version does not have is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_disks_of_a_version_reach_disks_and_vms() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let (os_file, data_file) = (app.dir.path().join("imports/os.vhd"), app.dir.path().join("imports/data.vhd"));
    write_vhd(&os_file, 3, 31);
    let data_bytes = write_vhd(&data_file, 2, 32);
    let os = import_disk(&app, "rg", "os", &os_file, "Linux").await;
    let data = import_disk(&app, "rg", "data", &data_file, "Linux").await;
    let body = json!({ "location": "westcentralus", "properties": { "storageProfile": {
        "osDiskImage": { "source": { "id": os["id"] } },
        "dataDiskImages": [{ "lun": 2, "source": { "id": data["id"] } }] } } });
    assert_eq!(app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), body).await.status, StatusCode::CREATED);
    app.settle().await;
    let version = format!("{i}/versions/1.0.0");

    let from = |lun: i64| {
        json!({ "location": "westcentralus", "properties": { "creationData": { "createOption": "FromImage",
        "galleryImageReference": { "id": version, "lun": lun } } } })
    };
    let r = app.put(&format!("{}/disks/d2?{DISK_API}", rg_path("rg")), from(2)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body["properties"]["creationData"]["galleryImageReference"]["lun"], 2, "lun is echoed");
    app.settle().await;
    let d2 = app.get(&format!("{}/disks/d2?{DISK_API}", rg_path("rg"))).await;
    assert_eq!(d2.body["properties"]["digest"], data["properties"]["digest"], "{}", d2.body);
    assert!(d2.body["properties"].get("osType").is_none(), "a data disk has no OS: {}", d2.body);
    let url = access_url(&app, &format!("{}/disks/d2", rg_path("rg")), "Read").await;
    assert!(download(&app, &url, None).await.1 == data_bytes, "data disk 2's bytes");
    let r = app.put(&format!("{}/disks/d5?{DISK_API}", rg_path("rg")), from(5)).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "InvalidParameter"), "{}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("LUN 5"), "{}", r.body);

    // A VM from the version gets its data disks unless it names its own.
    let vm = |name: &str, data_disks: Value| {
        let mut storage = json!({ "imageReference": { "id": version }, "osDisk": { "createOption": "FromImage" } });
        if !data_disks.is_null() {
            storage["dataDisks"] = data_disks;
        }
        (
            format!("{}/virtualMachines/{name}?api-version=2024-11-01", rg_path("rg")),
            json!({ "location": "westcentralus", "properties": { "storageProfile": storage } }),
        )
    };
    let (path, body) = vm("plain", Value::Null);
    assert_eq!(app.put(&path, body).await.status, StatusCode::CREATED);
    let (path2, body) = vm("named", json!([{ "lun": 2, "createOption": "FromImage" }]));
    assert_eq!(app.put(&path2, body).await.status, StatusCode::CREATED);
    app.settle().await;
    for path in [path, path2] {
        let got = app.get(&path).await;
        assert_eq!(got.state(), "Succeeded", "{}", got.body);
        let disks = got.body["properties"]["storageProfile"]["dataDisks"].as_array().unwrap().clone();
        assert_eq!(disks.len(), 1, "{}", got.body);
        assert_eq!((disks[0]["lun"].clone(), disks[0]["createOption"].clone()), (json!(2), json!("FromImage")));
        let id = disks[0]["managedDisk"]["id"].as_str().unwrap();
        let disk = app.get(&format!("{}?{DISK_API}", &id[id.find("/subscriptions").unwrap()..])).await;
        assert_eq!(disk.body["properties"]["digest"], data["properties"]["digest"]);
    }
    let (path, body) = vm("wrong", json!([{ "lun": 3, "createOption": "FromImage" }]));
    let r = app.put(&path, body).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "InvalidParameter"), "{}", r.body);
}

/// The source rules hold for every source kind: another version is checked against the
/// definition (generation, OS state, architecture), and data disks over 1 TiB are refused from
/// managed images too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_kind_meets_the_definition_and_the_data_disk_limit() {
    let app = TestApp::new().await;
    let (g, i) = app.seed_definition("rg", "gal", "img").await;
    let file = app.dir.path().join("imports/os.vhd");
    write_vhd(&file, 2, 41);
    let os = import_disk(&app, "rg", "os", &file, "Linux").await;
    let body = json!({ "location": "westcentralus", "properties": { "storageProfile": { "osDiskImage": { "source": { "id": os["id"] } } } } });
    assert_eq!(app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), body).await.status, StatusCode::CREATED);
    app.settle().await;

    let mismatched = [
        ("gen1", json!({ "hyperVGeneration": "V1" }), "Hypervisor generation"),
        ("special", json!({ "osState": "Specialized" }), "OS State"),
        ("arm", json!({ "architecture": "Arm64" }), "architecture"),
    ];
    for (name, change, message) in mismatched {
        let mut def = definition_body("westcentralus", "p", name, name);
        for (k, v) in change.as_object().unwrap() {
            def["properties"][k] = v.clone();
        }
        if name == "gen1" {
            def["properties"]["features"] = json!([]);
        }
        let r = app.put(&format!("{g}/images/{name}?{COMPUTE}"), def).await;
        assert!(r.status.is_success(), "{}", r.body);
        app.settle().await;
        let copy = json!({ "location": "westcentralus", "properties": { "storageProfile": { "source": { "id": format!("{i}/versions/1.0.0") } } } });
        let r = app.put(&format!("{g}/images/{name}/versions/1.0.0?{COMPUTE}"), copy).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "InvalidParameter"), "{name}: {}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains(message), "{name}: {}", r.body);
    }

    // A managed image whose data disk is over 1 TiB cannot feed a version.
    let big = json!({ "location": "westcentralus", "properties": { "diskSizeGB": 1025, "creationData": { "createOption": "Empty" } } });
    assert_eq!(app.put(&format!("{}/disks/big?{DISK_API}", rg_path("rg")), big).await.status, StatusCode::ACCEPTED);
    app.settle().await;
    let big_id = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/big");
    let image = json!({ "location": "westcentralus", "properties": { "hyperVGeneration": "V2", "storageProfile": {
        "osDisk": { "osType": "Linux", "osState": "Generalized", "managedDisk": { "id": os["id"] } },
        "dataDisks": [{ "lun": 0, "managedDisk": { "id": big_id } }] } } });
    let r = app.put(&format!("{}/images/withbig?api-version=2024-11-01", rg_path("rg")), image).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    app.settle().await;
    let from_image = json!({ "location": "westcentralus", "properties": { "storageProfile": { "source": { "id":
        format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/withbig") } } } });
    let r = app.put(&format!("{i}/versions/2.0.0?{COMPUTE}"), from_image).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "InvalidParameter"), "{}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("1 TiB"), "{}", r.body);
}

/// A store fault that passes is retried with backoff and the import succeeds; one that lasts
/// fails the operation with the store's reason (a server error, not a 409).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passing_store_fault_is_retried_and_a_lasting_one_fails_with_its_reason() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::faults::failing_writes;

    let failures = Arc::new(AtomicUsize::new(2));
    let left = failures.clone();
    let wrap = move |region: &str, name: &str, store: Arc<dyn galleon_blob::store::ChunkStore>| {
        if region == "westcentralus" && name == "standard_lrs-1" { failing_writes(store, left.clone()) } else { store }
    };
    let app = TestApp::with_stores(&wrap).await;
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/rg?{RES}"), json!({ "location": "westcentralus" })).await;
    let file = app.dir.path().join("imports/os.vhd");
    let bytes = write_vhd(&file, 2, 51);
    let import = |name: &str| {
        let body = json!({ "location": "westcentralus", "properties": { "osType": "Linux",
            "creationData": { "createOption": "Import", "sourceUri": format!("file://{}", file.display()) } } });
        let uri = format!("{}/disks/{name}?{DISK_API}", rg_path("rg"));
        let app = &app;
        async move { app.put(&uri, body).await }
    };
    let settled = |name: &str| {
        let uri = format!("{}/disks/{name}?{DISK_API}", rg_path("rg"));
        let app = &app;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                app.settle_with_failures().await;
                let disk = app.get(&uri).await;
                if disk.state() != "Creating" || std::time::Instant::now() > deadline {
                    return disk;
                }
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
        }
    };
    assert_eq!(import("passing").await.status, StatusCode::ACCEPTED);
    let disk = settled("passing").await;
    assert_eq!(disk.state(), "Succeeded", "{}", disk.body);
    assert_eq!(failures.load(Ordering::SeqCst), 0, "both faults were hit");
    let url = access_url(&app, &format!("{}/disks/passing", rg_path("rg")), "Read").await;
    assert!(download(&app, &url, None).await.1 == bytes);

    failures.store(usize::MAX, Ordering::SeqCst);
    let accepted = import("lasting").await;
    let op = accepted.header("azure-asyncoperation").to_string();
    // Different bytes, so the import has chunks to write.
    write_vhd(&file, 2, 52);
    let disk = settled("lasting").await;
    assert_eq!(disk.state(), "Failed", "{}", disk.body);
    let status = app.poll(&op).await;
    assert_eq!(status.body["error"]["code"], "InternalError", "{}", status.body);
    assert!(status.body["error"]["message"].as_str().unwrap().contains("unavailable"), "{}", status.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_collection_is_queued_once_per_interval_whatever_the_number_of_timers() {
    let app = TestApp::new().await;
    let hour = std::time::Duration::from_secs(3600);
    // Four timers firing together (four nodes): one collection.
    let timers = (0..4).map(|_| app.core.start_scheduled_gc(hour, 3600));
    let queued: Vec<_> = futures_util::future::join_all(timers).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(queued.iter().filter(|q| q.is_some()).count(), 1, "{queued:?}");
    // Within the interval, none more; with a zero interval, the next one.
    assert!(app.core.start_scheduled_gc(hour, 3600).await.unwrap().is_none());
    assert!(app.core.start_scheduled_gc(std::time::Duration::ZERO, 3600).await.unwrap().is_some());
    app.settle().await;
    // `gc status` names the schedule the last timer queued under.
    let status = app.get("/galleon/gc").await.body;
    assert_eq!(status["intervalSeconds"], 0, "{status}");
    assert_eq!(status["lastScheduled"], status["nextDue"], "{status}");
    assert_eq!(status["running"], false, "{status}");
}

/// `GET /galleon/gc` (`galleon gc status`): nothing before the first collection; afterwards the
/// last run's operation, times and per-store reports, with the totals summed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_status_reports_the_last_collection() {
    let app = TestApp::new().await;
    let before = app.get("/galleon/gc").await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    assert_eq!(
        before.body,
        json!({ "running": false, "lastScheduled": null, "intervalSeconds": null,
        "nextDue": null, "lastRun": null })
    );

    app.seed_definition("rg", "gal", "img").await;
    let file = app.dir.path().join("imports/a.vhd");
    write_vhd(&file, 3, 21);
    import_disk(&app, "rg", "gone", &file, "Linux").await;
    app.delete(&format!("{}/disks/gone?{DISK_API}", rg_path("rg"))).await;
    // Two uploads with a page each: one disk deleted mid-upload, one still uploading.
    for name in ["abandoned", "pending"] {
        let disk = format!("{}/disks/{name}", rg_path("rg"));
        let body = json!({ "location": "westcentralus", "properties": { "creationData": { "createOption": "Upload", "uploadSizeBytes": (20u64 << 20) + 512 } } });
        assert_eq!(app.put(&format!("{disk}?{DISK_API}"), body).await.status, StatusCode::ACCEPTED);
        app.settle().await;
        let url = access_url(&app, &disk, "Write").await;
        let page = Request::put(format!("{url}&comp=page"))
            .header("x-ms-range", format!("bytes=0-{}", (1 << 20) - 1))
            .body(Body::from(vec![7u8; 1 << 20]))
            .unwrap();
        assert_eq!(app.send_raw(page).await.0, StatusCode::CREATED);
    }
    app.delete(&format!("{}/disks/abandoned?{DISK_API}", rg_path("rg"))).await;
    app.settle().await;
    let staged = || std::fs::read_dir(app.dir.path().join("uploads")).unwrap().count();
    assert_eq!(staged(), 2);
    let r = app.call(axum::http::Method::POST, "/galleon/gc?graceSeconds=0", None).await;
    let op = r.header("azure-asyncoperation").to_string();
    let reports = app.settle_until_done(&op).await.body["properties"]["output"]["value"].clone();

    let last = app.get("/galleon/gc").await.body["lastRun"].clone();
    assert_eq!(last["operationId"].as_str(), op.rsplit('/').next(), "{last}");
    assert_eq!(last["stores"], reports, "{last}");
    let deleted: u64 = reports.as_array().unwrap().iter().map(|r| r["deleted"].as_u64().unwrap()).sum();
    assert!(deleted >= 3, "the deleted disk's chunks went: {reports}");
    assert_eq!(last["chunksDeleted"], deleted);
    assert!(last["bytesReclaimed"].as_u64().unwrap() > 2 << 20, "{last}");
    assert!(last["startTime"].as_str().unwrap() <= last["endTime"].as_str().unwrap(), "{last}");
    assert_eq!(last["uploadsRemoved"], 1, "the deleted disk's staged upload went: {last}");
    assert_eq!(staged(), 1, "the upload still in progress stays");
}

/// Scrub on a region kept in object storage (Azurite): a rotted object and a lost one are found
/// and repaired from another region, and a disk made in that region gives back the bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrub_repairs_objects_in_a_region_on_azurite() {
    use galleon_blob::store::ChunkStore;
    use std::sync::Arc;
    let Some((az, _)) = galleon_blob::store::conformance::test_object_stores() else { return };
    let prefix = format!("scrub-{}", uuid::Uuid::new_v4());
    let clients = galleon_blob::store::ObjectStores::new();
    let open = |name: &str| {
        let spec = galleon_blob::store::conformance::azurite_spec(&az, &format!("{prefix}/{name}"));
        Arc::new(clients.open(&spec).unwrap())
    };
    let (primary, second) = (open("standard_lrs-1"), open("standard_lrs-2"));
    let (p, s) = (primary.clone(), second.clone());
    let app = TestApp::with_stores(&move |region, name, store| match (region, name) {
        ("eastus", "standard_lrs-1") => p.clone() as Arc<dyn ChunkStore>,
        ("eastus", "standard_lrs-2") => s.clone() as Arc<dyn ChunkStore>,
        _ => store,
    })
    .await;
    let (i, original) = version_in_westcentralus_and_eastus(&app, 67).await;

    let mut data_chunks = Vec::new();
    for id in primary.list().await.unwrap() {
        if !primary.get(id).await.unwrap().starts_with(b"GLNMAN01") {
            data_chunks.push(id);
        }
    }
    assert!(data_chunks.len() >= 2, "{data_chunks:?}");
    primary.overwrite_unchecked(data_chunks[0], bytes::Bytes::from(vec![0xA5u8; 4096])).await.unwrap();
    primary.delete(data_chunks[1]).await.unwrap();

    let reports = app.maintenance("/galleon/regions/eastus/scrub").await;
    let report = reports.as_array().unwrap().iter().find(|s| s["store"] == "eastus/standard_lrs-1").unwrap().clone();
    assert_eq!(
        (report["corrupt"].as_u64(), report["missing"].as_u64(), report["repaired"].as_u64()),
        (Some(1), Some(1), Some(2)),
        "{report}"
    );
    let again = app.maintenance("/galleon/regions/eastus/scrub").await;
    assert!(again.as_array().unwrap().iter().all(|s| s["corrupt"] == 0 && s["missing"] == 0), "{again}");

    assert_eq!(disk_in_eastus_from(&app, &i).await, original);
}

/// Finishing an upload while the region's store fails for a while retries and succeeds; a store
/// that stays down fails the operation as the server's fault (`InternalError`), never as the
/// uploader's (`InvalidUpload`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_finished_through_a_failing_store_is_retried_and_never_blamed_on_the_bytes() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::faults::failing_writes;

    let failures = Arc::new(AtomicUsize::new(0));
    let left = failures.clone();
    let app = TestApp::with_stores(&move |region, name, store| {
        if (region, name) == ("westcentralus", "standard_lrs-1") { failing_writes(store, left.clone()) } else { store }
    })
    .await;
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/rg?{RES}"), json!({ "location": "westcentralus" })).await;
    let upload = |name: &'static str, seed: u8, faults: usize| {
        let (app, failures) = (&app, failures.clone());
        async move {
            let file = app.dir.path().join(format!("local/{name}.vhd"));
            let original = write_vhd(&file, 21, seed);
            let disk = format!("{}/disks/{name}", rg_path("rg"));
            let body = json!({ "location": "westcentralus", "properties": {
                "creationData": { "createOption": "Upload", "uploadSizeBytes": original.len() } } });
            let created = app.put(&format!("{disk}?{DISK_API}"), body).await;
            assert_eq!(created.status, StatusCode::ACCEPTED, "{}", created.body);
            app.settle().await;
            let url = access_url(app, &disk, "Write").await;
            for (i, page) in original.chunks(4 << 20).enumerate() {
                let start = i * (4 << 20);
                let req = Request::put(format!("{url}&comp=page"))
                    .header("x-ms-range", format!("bytes={start}-{}", start + page.len() - 1))
                    .body(Body::from(page.to_vec()))
                    .unwrap();
                assert_eq!(app.send_raw(req).await.0, StatusCode::CREATED);
            }
            failures.store(faults, Ordering::SeqCst);
            let end = app.call(axum::http::Method::POST, &format!("{disk}/endGetAccess?{DISK_API}"), None).await;
            let op = end.header("azure-asyncoperation").to_string();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                app.settle_with_failures().await;
                let status = app.poll(&op).await;
                if status.body["status"] != "InProgress" || std::time::Instant::now() > deadline {
                    return (status, original, disk);
                }
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
        }
    };
    let (status, original, disk) = upload("passing", 71, 2).await;
    assert_eq!(status.body["status"], "Succeeded", "{}", status.body);
    assert_eq!(failures.load(Ordering::SeqCst), 0, "both faults were hit");
    let read = access_url(&app, &disk, "Read").await;
    assert!(download(&app, &read, None).await.1 == original);

    let (status, _, _) = upload("lasting", 72, usize::MAX).await;
    assert_eq!(status.body["status"], "Failed", "{}", status.body);
    assert_eq!(status.body["error"]["code"], "InternalError", "{}", status.body);
}

/// A built version carries a JWS its gallery's key signed; anyone can check it with the public
/// keys (no token), and `verify` re-reads every replica: good, then a rotted chunk is named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_signed_and_verify_finds_a_rotted_replica() {
    let app = TestApp::new().await;
    let (i, _) = version_in_westcentralus_and_eastus(&app, 71).await;
    let v = format!("{i}/versions/1.0.0");
    let version = app.get(&format!("{v}?{COMPUTE}")).await.body;
    let p = app.get(&format!("{v}/provenance?{COMPUTE}")).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let statement = &p.body["statement"];
    assert_eq!(statement["type"], "galleon.imageVersionProvenance/v1");
    assert_eq!(statement["version"].as_str().unwrap().to_lowercase(), version["id"].as_str().unwrap().to_lowercase());
    let digest = &version["properties"]["storageProfile"]["osDiskImage"]["digest"];
    assert_eq!(statement["disks"], json!([{ "lun": null, "digest": digest }]));
    assert!(statement["sources"][0]["id"].as_str().unwrap().ends_with("/disks/os"), "{statement}");
    assert!(!statement["createdBy"].as_str().unwrap_or_default().is_empty(), "{statement}");

    // The public keys, without a token, verify the JWS; a changed payload does not.
    let (status, _, body) =
        app.send_raw(Request::get("/.well-known/galleon/provenance-keys").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let jwks: Value = serde_json::from_slice(&body).unwrap();
    let key_for = |kid: &str| {
        jwks["keys"].as_array()?.iter().find(|k| k["kid"] == kid).and_then(galleon_core::jws::jwk_public_key)
    };
    let jws = p.body["jws"].as_str().unwrap();
    let payload = galleon_core::jws::verify(jws, key_for).expect("the signature verifies");
    assert_eq!(&serde_json::from_slice::<Value>(&payload).unwrap(), statement);
    let forged = jws.replacen(jws.split('.').nth(1).unwrap(), "eyJ2ZXJzaW9uIjoieCJ9", 1);
    assert!(galleon_core::jws::verify(&forged, key_for).is_err());

    let report = verify_version(&app, &v).await;
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!((report["signatureValid"].clone(), report["digestsMatch"].clone()), (json!(true), json!(true)));
    let regions: Vec<&str> =
        report["replicas"].as_array().unwrap().iter().map(|r| r["region"].as_str().unwrap()).collect();
    assert!(regions.contains(&"West Central US") && regions.contains(&"East US"), "{report}");
    assert!(report["replicas"][0]["chunks"].as_u64().unwrap() >= 4, "the manifest and its data chunks: {report}");

    // Bit rot in eastus: verify names the chunk there and says the version does not verify.
    let store = app.dir.path().join("regions/eastus/standard_lrs-1");
    let rotted = files_in(&store).into_iter().find(|p| !std::fs::read(p).unwrap().starts_with(b"GLNMAN01")).unwrap();
    std::fs::remove_file(&rotted).unwrap();
    std::fs::write(&rotted, vec![0x5Au8; 4096]).unwrap();
    let report = verify_version(&app, &v).await;
    assert_eq!(report["verified"], false, "{report}");
    let east = report["replicas"].as_array().unwrap().iter().find(|r| r["region"] == "East US").unwrap();
    let bad = east["bad"][0].as_str().unwrap();
    assert!(bad.contains("corrupt") && bad.contains(rotted.file_name().unwrap().to_str().unwrap()), "{east}");
}

/// `POST {v}/verify` to its end; its report.
async fn verify_version(app: &TestApp, v: &str) -> Value {
    let r = app.call(axum::http::Method::POST, &format!("{v}/verify?{COMPUTE}"), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let done = app.settle_until_done(r.header("azure-asyncoperation")).await;
    assert_eq!(done.body["status"], "Succeeded", "{}", done.body);
    done.body["properties"]["output"].clone()
}
