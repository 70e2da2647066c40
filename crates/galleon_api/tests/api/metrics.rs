//! `GET /metrics`: Prometheus text with requests by route template, jobs by kind and outcome,
//! bytes moved per region; for tenant administrators only on the API port.

use axum::body::Body;
use axum::http::{Request, StatusCode};

use super::support::*;

/// The scrape's text (the recorder is the process's: other tests' requests are in it too).
async fn scrape(app: &TestApp) -> String {
    let req = Request::get("/metrics").header("authorization", format!("Bearer {}", app.token)).body(Body::empty());
    let (status, headers, body) = app.send_raw(req.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    String::from_utf8(body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_jobs_by_outcome_and_bytes_by_region() {
    let app = TestApp::new().await;
    let (g, _) = app.seed_definition("rg", "metered", "img").await;
    assert_eq!(app.get(&format!("{g}?{COMPUTE}")).await.status, StatusCode::OK);
    let probe = app.get("/subscriptions/nonexistent-7c1f/whatever-92ab").await;
    assert_eq!(probe.status, StatusCode::NOT_FOUND);
    let file = app.dir.path().join("imports/m.vhd");
    write_vhd(&file, 3, 5);
    let body = serde_json::json!({ "location": "westcentralus", "properties": { "osType": "Linux",
        "creationData": { "createOption": "Import", "sourceUri": format!("file://{}", file.display()) } } });
    app.put(
        &format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/m?api-version=2025-01-02"),
        body,
    )
    .await;
    app.settle().await;
    app.core.record_store_usage().await;

    let text = scrape(&app).await;
    let chunks = text
        .lines()
        .find(|l| l.starts_with("galleon_store_chunks{region=\"westcentralus\",store=\"standard_lrs-1\"}"))
        .unwrap_or_else(|| panic!("no store gauge in:\n{text}"));
    assert!(chunks.rsplit(' ').next().unwrap().parse::<f64>().unwrap() >= 3.0, "{chunks}");
    assert!(text.contains("galleon_store_bytes{region=\"westcentralus\""), "{text}");
    if std::env::var("GALLEON_TEST_BACKEND").as_deref() == Ok("postgres") {
        assert!(text.contains("galleon_db_pool_connections{state=\"max\"}"), "{text}");
    }
    let gallery_route =
        "route=\"/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.compute/galleries/{gallery}\"";
    let counted = |l: &&str| {
        l.starts_with("galleon_http_requests_total{method=\"GET\",")
            && l.contains(gallery_route)
            && l.contains("status=\"200\"")
    };
    assert!(text.lines().any(|l| counted(&l)), "no GET gallery 200 line in:\n{text}");
    assert!(text.contains("galleon_http_request_duration_seconds_bucket{"), "latency histograms");
    // A path no route matches is counted as `other`, never by its text (no unbounded labels).
    assert!(text.contains("route=\"other\"") && !text.contains("whatever-92ab"), "{text}");
    assert!(text.contains("galleon_jobs_total{kind=\"build_disk\",outcome=\"succeeded\"}"), "{text}");
    let imported = text
        .lines()
        .find(|l| l.starts_with("galleon_bytes_imported_total{region=\"westcentralus\"}"))
        .unwrap_or_else(|| panic!("no import bytes in:\n{text}"));
    let bytes: f64 = imported.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(bytes >= (3 << 20) as f64, "{imported}");
    assert!(text.contains("galleon_operations_in_progress "), "{text}");
    // Nothing secret: no token, no client secret.
    assert!(!text.contains(&app.token) && !text.contains(&app.secret));
}
