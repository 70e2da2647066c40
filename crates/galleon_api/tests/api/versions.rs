//! Image versions.

use axum::http::StatusCode;
use serde_json::json;

use super::support::*;

#[tokio::test]
async fn seed_command_creates_a_version_as_azure_answers() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let v = format!("{i}/versions/1.0.0");
    let r = app.put(&format!("{v}?{COMPUTE}"), seed_version_body()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.state(), "Creating");
    let p = &r.body["properties"]["publishingProfile"];
    assert_eq!(p["replicaCount"], 2);
    assert_eq!(p["excludeFromLatest"], false);
    assert_eq!(p["storageAccountType"], "Standard_LRS");
    assert!(p["publishedDate"].is_string());
    let regions = p["targetRegions"].as_array().unwrap();
    assert_eq!(
        regions[0],
        json!({ "name": "West Central US", "regionalReplicaCount": 2, "storageAccountType": "Standard_LRS" })
    );
    assert_eq!(regions[1]["regionalReplicaCount"], 1);
    assert_eq!(regions[2]["storageAccountType"], "Standard_ZRS");
    assert_eq!(r.body["properties"]["storageProfile"]["source"]["id"], MANAGED_IMAGE);
    assert_eq!(r.body["properties"]["safetyProfile"]["allowDeletionOfReplicatedLocations"], false);
    assert!(r.body["properties"].get("replicationStatus").is_none());

    let op = r.header("azure-asyncoperation").to_string();
    app.settle().await;
    assert_eq!(app.poll(&op).await.body["status"], "Succeeded");
    let plain = app.get(&format!("{v}?{COMPUTE}")).await;
    assert!(plain.body["properties"].get("replicationStatus").is_none());
    let expanded = app.get(&format!("{v}?{COMPUTE}&$expand=ReplicationStatus")).await;
    let status = &expanded.body["properties"]["replicationStatus"];
    assert_eq!(status["aggregatedState"], "Completed");
    assert_eq!(
        status["summary"][0],
        json!({ "region": "West Central US", "state": "Completed", "details": "", "progress": 100 })
    );
    assert_eq!(status["summary"].as_array().unwrap().len(), 3);
    assert_eq!(expanded.state(), "Succeeded");
}

#[tokio::test]
async fn legacy_2018_shape_is_accepted_and_answered_in_kind() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let body = json!({ "location": "westcentralus", "properties": { "publishingProfile": {
        "targetRegions": [{ "name": "West Central US", "regionalReplicaCount": 1 }],
        "source": { "managedImage": { "id": MANAGED_IMAGE } } } } });
    let r = app.put(&format!("{i}/versions/0.0.1?api-version=2018-06-01"), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["properties"]["publishingProfile"]["source"]["managedImage"]["id"], MANAGED_IMAGE);
    assert!(r.body["properties"]["storageProfile"].get("source").is_none());
    app.settle().await;
    let r = app.get(&format!("{i}/versions/0.0.1?{COMPUTE}")).await;
    assert_eq!(r.body["properties"]["storageProfile"]["source"]["id"], MANAGED_IMAGE);
    assert!(r.body["properties"]["publishingProfile"].get("source").is_none());
}

#[tokio::test]
async fn every_source_form_is_understood() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let base = format!("/subscriptions/{SUB}/resourceGroups/rg/providers");
    let put = |n: usize, storage: serde_json::Value| {
        let body = json!({ "location": "westcentralus", "properties": { "storageProfile": storage } });
        let uri = format!("{i}/versions/2.0.{n}?{COMPUTE}");
        let app = &app;
        async move { app.put(&uri, body).await }
    };
    // Virtual machines are not galleon resources yet, so a VM source is never found.
    let vm = format!("{base}/Microsoft.Compute/virtualMachines/vm1");
    for storage in [json!({ "source": { "id": vm } }), json!({ "source": { "virtualMachineId": vm } })] {
        let r = put(0, storage.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{storage}: {}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains("not found"), "{}", r.body);
    }
    // A managed image that exists (the harness made MANAGED_IMAGE) is accepted.
    let r = put(0, json!({ "source": { "id": MANAGED_IMAGE } })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        r.body["properties"]["publishingProfile"]["targetRegions"][0]["name"], "West Central US",
        "defaults to the location"
    );
    // Sources galleon holds must exist: a missing version, snapshot or disk is refused at PUT.
    let missing = [
        json!({ "source": { "id": format!("{base}/Microsoft.Compute/images/nope") } }),
        json!({ "source": { "id": format!("{base}/Microsoft.Compute/galleries/gal/images/img/versions/9.9.9") } }),
        json!({ "osDiskImage": { "source": { "id": format!("{base}/Microsoft.Compute/snapshots/os") }, "hostCaching": "ReadOnly" },
                "dataDiskImages": [{ "lun": 1, "source": { "id": format!("{base}/Microsoft.Compute/disks/d1") }, "hostCaching": "None" }] }),
    ];
    for storage in missing {
        let r = put(9, storage.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{storage}: {}", r.body);
        assert!(r.body["error"]["message"].as_str().unwrap().contains("not found"), "{}", r.body);
    }
    // VHDs are read only from allowed sources.
    let vhd = json!({ "osDiskImage": { "source": { "storageAccountId": format!("{base}/Microsoft.Storage/storageAccounts/acct"),
        "uri": "http://127.0.0.1:10000/devstoreaccount1/vhds/os.vhd" } } });
    let r = put(9, vhd).await;
    assert!(r.body["error"]["message"].as_str().unwrap().contains("not allowed"), "{}", r.body);
}

#[tokio::test]
async fn refusals_name_the_field_and_change_nothing() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let app = &app;
    let put = |name: &str, body: serde_json::Value| {
        let uri = format!("{i}/versions/{name}?{COMPUTE}");
        async move { app.put(&uri, body).await }
    };
    let r = put("1.0", seed_version_body()).await;
    assert_eq!(
        (r.status, r.body["error"]["target"].as_str()),
        (StatusCode::BAD_REQUEST, Some("galleryImageVersionName"))
    );
    assert!(r.body["error"]["message"].as_str().unwrap().contains("Major(int).Minor(int).Patch(int)"));
    assert_eq!(put("2147483648.0.0", seed_version_body()).await.status, StatusCode::BAD_REQUEST);

    let mut body = seed_version_body();
    body["properties"]["publishingProfile"]["targetRegions"] =
        json!([{ "name": "eastus" }, { "name": "East US" }, { "name": "westcentralus" }]);
    assert!(put("1.0.0", body).await.body["error"]["message"].as_str().unwrap().contains("Duplicate regions"));

    let mut body = seed_version_body();
    body["properties"]["publishingProfile"]["targetRegions"] = json!([{ "name": "eastus" }]);
    assert!(put("1.0.0", body).await.body["error"]["message"].as_str().unwrap().contains("must contain the location"));

    let mut body = seed_version_body();
    body["properties"]["publishingProfile"]["targetRegions"][1]["name"] = json!("moon");
    assert!(put("1.0.0", body).await.body["error"]["message"].as_str().unwrap().contains("'moon'"));

    let mut body = seed_version_body();
    body["properties"]["publishingProfile"]["targetRegions"][1]["regionalReplicaCount"] = json!(0);
    assert!(
        put("1.0.0", body).await.body["error"]["target"]
            .as_str()
            .unwrap()
            .ends_with("targetRegions[1].regionalReplicaCount")
    );

    let mut body = seed_version_body();
    body["properties"]["publishingProfile"]["storageAccountType"] = json!("Cold_LRS");
    assert_eq!(put("1.0.0", body).await.code(), "InvalidParameter");

    let mut body = seed_version_body();
    body["properties"]["storageProfile"]["source"]["id"] = json!("myImage");
    assert!(put("1.0.0", body).await.body["error"]["message"].as_str().unwrap().contains("fully qualified"));

    let mut body = seed_version_body();
    body["properties"]["storageProfile"] = json!({ "osDiskImage": { "source": { "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/snapshots/a" } },
        "dataDiskImages": [{ "lun": 0, "source": { "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/b" } },
                           { "lun": 0, "source": { "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/c" } }] });
    assert!(put("1.0.0", body).await.body["error"]["message"].as_str().unwrap().contains("Duplicated lun"));

    let mut body = seed_version_body();
    body["properties"]["publishingProfile"]["endOfLifeDate"] = json!("2001-01-01");
    assert!(put("1.0.0", body).await.body["error"]["target"].as_str().unwrap().ends_with("endOfLifeDate"));

    let r = app
        .put(&format!("{}/images/missing/versions/1.0.0?{COMPUTE}", gallery_path("rg", "gal")), seed_version_body())
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ParentResourceNotFound"));

    assert_eq!(app.get(&format!("{i}/versions?{COMPUTE}")).await.body["value"], json!([]));
}

#[tokio::test]
async fn az_update_round_trip_and_immutable_source() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    let v = format!("{i}/versions/1.0.0?{COMPUTE}");
    app.put(&v, seed_version_body()).await;
    app.settle().await;

    // `az sig image-version update --add publishingProfile.targetRegions name=westus2`: GET, then PUT of
    // the echoed object with an empty storageProfile.
    let mut body = app.get(&v).await.body;
    body["properties"]["publishingProfile"]["targetRegions"].as_array_mut().unwrap().push(json!({ "name": "westus2" }));
    body["properties"]["storageProfile"] = json!({});
    let r = app.put(&v, body).await;
    assert_eq!((r.status, r.state()), (StatusCode::OK, "Updating"), "{}", r.body);
    assert_eq!(r.body["properties"]["publishingProfile"]["targetRegions"].as_array().unwrap().len(), 4);
    assert_eq!(r.body["properties"]["storageProfile"]["source"]["id"], MANAGED_IMAGE);
    app.settle().await;

    let mut body = app.get(&v).await.body;
    body["properties"]["storageProfile"]["source"]["id"] = json!(MANAGED_IMAGE.replace("myImage", "otherImage"));
    let r = app.put(&v, body).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "PropertyChangeNotAllowed"));

    // Removing a region needs allowDeletionOfReplicatedLocations.
    let r = app
        .patch(&v, json!({ "properties": { "publishingProfile": { "targetRegions": [{ "name": "westcentralus" }] } } }))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "OperationNotAllowed"));
    let r = app
        .patch(
            &v,
            json!({ "properties": { "publishingProfile": { "targetRegions": [{ "name": "westcentralus" }] },
        "safetyProfile": { "allowDeletionOfReplicatedLocations": true } } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.settle().await;
    let got = app.get(&format!("{v}&$expand=ReplicationStatus")).await;
    assert_eq!(got.body["properties"]["replicationStatus"]["summary"].as_array().unwrap().len(), 1);

    let r = app.patch(&v, json!({ "properties": { "publishingProfile": { "excludeFromLatest": true } } })).await;
    assert_eq!(r.body["properties"]["publishingProfile"]["excludeFromLatest"], true);
}

#[tokio::test]
async fn lists_page_and_deletes_respect_the_safety_profile() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    for name in ["1.0.0", "1.0.1", "1.1.0"] {
        assert_eq!(
            app.put(&format!("{i}/versions/{name}?{COMPUTE}"), seed_version_body()).await.status,
            StatusCode::CREATED
        );
        // One at a time: a managed image in use by a version still being built is refused.
        app.settle().await;
    }
    let mut protected = seed_version_body();
    protected["properties"]["publishingProfile"]["endOfLifeDate"] = json!("2040-01-01T00:00:00Z");
    protected["properties"]["safetyProfile"] = json!({ "blockDeletionBeforeEndOfLife": true });
    app.put(&format!("{i}/versions/2.0.0?{COMPUTE}"), protected).await;
    app.settle().await;

    let first = app.get(&format!("{i}/versions?{COMPUTE}&$top=2")).await;
    assert_eq!(first.body["value"].as_array().unwrap().len(), 2);
    let next = first.body["nextLink"].as_str().unwrap();
    let rest = app.get(&next[next.find("/subscriptions").unwrap()..]).await;
    assert_eq!(rest.body["value"].as_array().unwrap().len(), 2);
    assert!(rest.body.get("nextLink").is_none());

    let r = app.delete(&format!("{i}/versions/2.0.0?api-version=2026-03-03")).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "OperationNotAllowed"));
    let r = app.delete(&format!("{i}/versions/1.0.0?api-version=2026-03-03")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(app.get(&format!("{i}/versions/1.0.0?{COMPUTE}")).await.state(), "Deleting");
    app.settle().await;
    assert_eq!(app.get(&format!("{i}/versions/1.0.0?{COMPUTE}")).await.code(), "ResourceNotFound");
    assert_eq!(app.delete(&format!("{i}/versions/1.0.0?{COMPUTE}")).await.status, StatusCode::NO_CONTENT);
}

/// `securityProfile.uefiSettings`: kept and returned for trusted-launch definitions, refused
/// otherwise, fixed once the version exists; nothing else in the profile is dropped silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uefi_settings_follow_the_definitions_security_type() {
    let app = TestApp::new().await;
    let (g, i) = app.seed_definition("rg", "gal", "img").await;
    let sha = "3q2+7w3q2+7w3q2+7w3q2+7w3q2+7w3q2+7w3q2+7w0=";
    let uefi = json!({ "uefiSettings": { "signatureTemplateNames": ["MicrosoftUefiCertificateAuthorityTemplate"],
        "additionalSignatures": { "dbx": [{ "type": "sha256", "value": [sha] }] } } });
    let mut body = seed_version_body();
    body["properties"]["securityProfile"] = uefi.clone();
    let r = app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["properties"]["securityProfile"], uefi, "returned as given");
    app.settle().await;
    let got = app.get(&format!("{i}/versions/1.0.0?{COMPUTE}")).await;
    assert_eq!(got.body["properties"]["securityProfile"], uefi);

    // Fixed once created: the same settings may be repeated, other ones are refused.
    let mut changed = body.clone();
    changed["properties"]["securityProfile"]["uefiSettings"]["signatureTemplateNames"] =
        json!(["MicrosoftWindowsTemplate"]);
    let r = app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), changed).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "PropertyChangeNotAllowed"), "{}", r.body);
    assert!(app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), body.clone()).await.status.is_success());
    app.settle().await;

    // A definition without trusted launch support takes none.
    let mut plain = definition_body("westcentralus", "p", "o", "plain");
    plain["properties"]["features"] = json!([]);
    assert!(app.put(&format!("{g}/images/plain?api-version=2021-10-01"), plain).await.status.is_success());
    app.settle().await;
    let r = app.put(&format!("{g}/images/plain/versions/1.0.0?{COMPUTE}"), body.clone()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("TrustedLaunchSupported"), "{}", r.body);
    assert_eq!(app.get(&format!("{g}/images/plain/versions/1.0.0?{COMPUTE}")).await.status, StatusCode::NOT_FOUND);

    // The rest of the profile is refused by name.
    let mut other = body;
    other["properties"]["securityProfile"]["secretsProvisioningSettings"] = json!({});
    let r = app.put(&format!("{i}/versions/2.0.0?{COMPUTE}"), other).await;
    assert_eq!(r.body["error"]["target"], "properties.securityProfile.secretsProvisioningSettings", "{}", r.body);
}

/// An Arm64 image boots only on an Arm64 VM size (and an x64 one only on an x64 size).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vm_sizes_must_match_the_images_architecture() {
    let app = TestApp::new().await;
    let (g, _) = app.seed_definition("rg", "gal", "img").await;
    let mut def = definition_body("westcentralus", "p", "o", "arm");
    def["properties"]["architecture"] = json!("Arm64");
    assert!(app.put(&format!("{g}/images/arm?api-version=2021-10-01"), def).await.status.is_success());
    app.settle().await;
    let v = format!("{g}/images/arm/versions/1.0.0");
    assert!(app.put(&format!("{v}?{COMPUTE}"), seed_version_body()).await.status.is_success());
    app.settle().await;
    let vm = |size: &str| {
        json!({ "location": "westcentralus", "properties": {
            "hardwareProfile": { "vmSize": size },
            "storageProfile": { "imageReference": { "id": v }, "osDisk": { "createOption": "FromImage" } } } })
    };
    let vms = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines");
    let r = app.put(&format!("{vms}/x64?api-version=2024-11-01"), vm("Standard_D2s_v5")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(r.body["error"]["target"], "properties.hardwareProfile.vmSize");
    let r = app.put(&format!("{vms}/arm?api-version=2024-11-01"), vm("Standard_D2ps_v5")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}
