//! Retention policies beside a definition: set, show, preview, run as a durable job and on the
//! periodic schedule; what a disk still holds, and what serves `latest`, is kept and said so.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::support::*;

/// A version of its own content (a disk imported, published, then deleted unless `keep_disk`).
async fn version(app: &TestApp, i: &str, name: &str, seed: u8, keep_disk: bool) {
    let file = app.dir.path().join(format!("imports/{name}.vhd"));
    write_vhd(&file, 2, seed);
    let disk = import_disk(app, "rg", &format!("d{seed}"), &file, "Linux").await;
    let body = json!({ "location": "westcentralus", "properties": {
        "publishingProfile": { "targetRegions": [{ "name": "westcentralus" }] },
        "storageProfile": { "osDiskImage": { "source": { "id": disk["id"] } } } } });
    let r = app.put(&format!("{i}/versions/{name}?{COMPUTE}"), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    app.settle().await;
    if !keep_disk {
        app.delete(&format!("{}/disks/d{seed}?{DISK_API}", rg_path("rg"))).await;
        app.settle().await;
    }
}

fn actions(report: &Value) -> Vec<(String, String)> {
    report["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap().to_string(), v["action"].as_str().unwrap().to_string()))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retention_policy_is_previewed_run_and_applied_on_schedule() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    version(&app, &i, "1.0.0", 11, true).await; // a disk still holds its content
    version(&app, &i, "1.1.0", 12, false).await;
    version(&app, &i, "1.2.0", 13, false).await;
    version(&app, &i, "2.0.0", 14, false).await;
    version(&app, &i, "2.1.0", 15, false).await;
    let policy = format!("{i}/retentionPolicy?{COMPUTE}");
    assert_eq!(app.get(&policy).await.status, StatusCode::NOT_FOUND);

    // Refused policies change nothing.
    for bad in [json!({}), json!({ "keepLatest": 0 }), json!({ "keepLatest": 2, "keepLastest": 3 })] {
        let r = app.put(&policy, bad.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
    }
    assert_eq!(app.get(&policy).await.status, StatusCode::NOT_FOUND);
    let r = app.put(&policy, json!({ "keepLatest": 2 })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.get(&policy).await.body, json!({ "keepLatest": 2, "countExcludedFromLatest": true }));

    // The preview: the two newest stay, the older go, except the one a disk holds.
    let preview = app.call(Method::POST, &format!("{i}/retentionPolicy/preview?{COMPUTE}"), None).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert_eq!(
        actions(&preview.body),
        pairs(&[("2.1.0", "keep"), ("2.0.0", "keep"), ("1.2.0", "delete"), ("1.1.0", "delete"), ("1.0.0", "keep")])
    );
    let kept = &preview.body["versions"][4]["reasons"];
    assert_eq!(kept[0], "disks hold its content: rg/d11", "{kept}");
    assert_eq!(kept[1], "kept although older than the newest 2", "{kept}");
    // A proposed policy is previewed without being stored.
    let tried = app
        .call(Method::POST, &format!("{i}/retentionPolicy/preview?{COMPUTE}"), Some(json!({ "keepLatest": 4 })))
        .await;
    assert_eq!(actions(&tried.body).iter().filter(|(_, a)| a == "delete").count(), 0, "{}", tried.body);
    assert_eq!(app.get(&policy).await.body["keepLatest"], 2);

    // Run: a durable operation whose output is what it did.
    let r = app.call(Method::POST, &format!("{i}/retentionPolicy/run?{COMPUTE}"), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let done = app.settle_until_done(r.header("azure-asyncoperation")).await;
    assert_eq!(done.body["status"], "Succeeded", "{}", done.body);
    let out = &done.body["properties"]["output"];
    assert_eq!(
        actions(out),
        pairs(&[("2.1.0", "kept"), ("2.0.0", "kept"), ("1.2.0", "deleted"), ("1.1.0", "deleted"), ("1.0.0", "kept")])
    );
    app.settle().await;
    for (v, status) in [("1.1.0", StatusCode::NOT_FOUND), ("1.2.0", StatusCode::NOT_FOUND), ("1.0.0", StatusCode::OK)] {
        assert_eq!(app.get(&format!("{i}/versions/{v}?{COMPUTE}")).await.status, status, "{v}");
    }

    // On the schedule: a tighter policy, applied by the sweep queued with the collection.
    app.put(&policy, json!({ "keepLatest": 1 })).await;
    app.delete(&format!("{}/disks/d11?{DISK_API}", rg_path("rg"))).await;
    app.settle().await;
    assert!(app.core.start_scheduled_gc(std::time::Duration::ZERO, 3600).await.unwrap().is_some());
    app.settle().await;
    let left: Vec<String> = app.get(&format!("{i}/versions?{COMPUTE}")).await.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["2.1.0"]);

    // Removing the policy stops it; a definition without one has nothing to run.
    assert_eq!(app.delete(&policy).await.status, StatusCode::OK);
    let r = app.call(Method::POST, &format!("{i}/retentionPolicy/run?{COMPUTE}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}
