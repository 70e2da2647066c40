//! Mixed load on a few names: concurrent PUT, PATCH, DELETE and GET of the same image
//! definitions while the background worker runs, then every resource must have settled (no
//! resource left Creating/Updating/Deleting without an operation), no request answered 5xx,
//! and the gallery can be emptied and deleted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;

use super::support::*;

/// Seconds of load; `GALLEON_LOAD_SECONDS` lengthens it (the 60 s soak).
fn load_seconds() -> u64 {
    std::env::var("GALLEON_LOAD_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(15)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_of_one_name_leave_nothing_stuck() {
    let app = Arc::new(TestApp::new().await);
    let (g, _) = app.seed_definition("rg", "gal", "seed").await;
    let worker = galleon_core::jobs::spawn_worker(app.core.clone());
    let names = ["a", "b", "c"];
    let deadline = Instant::now() + Duration::from_secs(load_seconds());
    let (server_errors, requests) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut clients = Vec::new();
    for client in 0..32usize {
        let (app, g) = (app.clone(), g.clone());
        let (server_errors, requests) = (server_errors.clone(), requests.clone());
        clients.push(tokio::spawn(async move {
            let mut n = client;
            while Instant::now() < deadline {
                n = n.wrapping_mul(1103515245).wrapping_add(12345);
                let name = names[(n >> 8) % names.len()];
                let uri = format!("{g}/images/{name}?api-version=2024-03-03");
                let r = match (n >> 4) % 4 {
                    0 => app.put(&uri, definition_body("westcentralus", "pub", "offer", name)).await,
                    1 => app.patch(&uri, json!({ "properties": { "description": format!("d{n}") } })).await,
                    2 => app.delete(&uri).await,
                    _ => app.get(&uri).await,
                };
                requests.fetch_add(1, Ordering::Relaxed);
                if r.status.is_server_error() {
                    server_errors.fetch_add(1, Ordering::Relaxed);
                    eprintln!("{} {}", r.status, r.body);
                }
            }
        }));
    }
    for c in clients {
        c.await.unwrap();
    }
    // Let the worker finish what was accepted.
    let settle = Instant::now() + Duration::from_secs(60);
    while app.core.operations_in_progress().await.unwrap() > 0 {
        assert!(Instant::now() < settle, "operations still running a minute after the load");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.abort();
    assert_eq!(server_errors.load(Ordering::Relaxed), 0, "5xx answers");
    assert!(requests.load(Ordering::Relaxed) > 100);
    let list = app.get(&format!("{g}/images?api-version=2024-03-03")).await;
    for def in list.body["value"].as_array().unwrap() {
        let state = def["properties"]["provisioningState"].as_str().unwrap();
        assert!(matches!(state, "Succeeded" | "Failed"), "stuck: {def}");
    }
    // Everything can still be written and deleted.
    for name in names.iter().chain(["seed"].iter()) {
        let uri = format!("{g}/images/{name}?api-version=2024-03-03");
        if *name != "seed" {
            let r = app.put(&uri, definition_body("westcentralus", "pub", "offer", name)).await;
            assert!(r.status.is_success(), "{name}: {}", r.body);
            app.settle().await;
        }
        let r = app.delete(&uri).await;
        assert!(r.status.is_success(), "{name}: {}", r.body);
        app.settle().await;
    }
    let r = app.delete(&format!("{g}?api-version=2024-03-03")).await;
    assert!(r.status.is_success(), "{}", r.body);
    app.settle().await;
    assert_eq!(app.get(&format!("{g}?api-version=2024-03-03")).await.status, StatusCode::NOT_FOUND);
}

/// A definition left Creating with no operation behind it (a crash, or the old race) is marked
/// Failed by the start-up check, after which it can be written and deleted, and its gallery too;
/// one with a live operation is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_up_check_repairs_orphans_only() {
    let app = TestApp::new().await;
    let (g, i) = app.seed_definition("rg", "gal", "img").await;
    let uri = format!("{i}?api-version=2024-03-03");
    let r = app.patch(&uri, json!({ "properties": { "description": "x" } })).await;
    assert_eq!(r.state(), "Updating");
    // The operation ends without its resource: exactly what a lost update leaves behind.
    let op = r.header("azure-asyncoperation").to_string();
    let id = op.split('/').next_back().unwrap().split('?').next().unwrap().to_string();
    let live = app
        .put(&format!("{g}/images/other?api-version=2024-03-03"), definition_body("westcentralus", "p", "o", "s"))
        .await;
    assert_eq!(live.state(), "Creating");
    // Another writer of the same database ends the operation, as a crash mid-job or a lost
    // write would leave it; the server then restarts.
    {
        use galleon_store::{Batch, OpStatus};
        let store = metadata_store(app.dir.path()).await;
        let mut op = store.get_operation(&id).await.unwrap().unwrap();
        op.status = OpStatus::Canceled;
        store.apply(Batch::new().operation(op)).await.unwrap();
    }
    let app = app.restart().await;
    let repaired = app.core.repair_orphans().await.unwrap();
    assert_eq!(repaired.len(), 1, "{repaired:?}");
    assert_eq!(app.get(&uri).await.state(), "Failed");
    assert_eq!(
        app.get(&format!("{g}/images/other?api-version=2024-03-03")).await.state(),
        "Creating",
        "live: untouched"
    );
    app.settle().await;
    let r = app.put(&uri, definition_body("westcentralus", "myPublisher", "myOffer", "img")).await;
    assert!(r.status.is_success(), "{}", r.body);
    app.settle().await;
    assert_eq!(app.get(&uri).await.state(), "Succeeded");
    for d in ["img", "other"] {
        assert!(app.delete(&format!("{g}/images/{d}?api-version=2024-03-03")).await.status.is_success());
    }
    app.settle().await;
    assert!(app.delete(&format!("{g}?api-version=2024-03-03")).await.status.is_success());
    app.settle().await;
    assert_eq!(app.get(&format!("{g}?api-version=2024-03-03")).await.status, StatusCode::NOT_FOUND);
}
