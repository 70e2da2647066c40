//! Faults in a real chunk store: a wrapper around a `LocalStore` whose writes fail a number of
//! times (or always) with a backend error, as a full disk or an object store's 503 would.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use galleon_blob::store::faulty::{Call, Faulty};
use galleon_blob::store::{ChunkError, ChunkStore, MemoryStore};

/// `inner`, failing its first `failures` writes, then behaving as the store it wraps.
pub fn failing_writes(inner: Arc<dyn ChunkStore>, failures: Arc<AtomicUsize>) -> Arc<dyn ChunkStore> {
    Arc::new(Faulty {
        inner,
        fault: move |call, _| {
            let taken = call == Call::Put
                && failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1)).is_ok();
            taken.then(|| ChunkError::Io("injected: the store is unavailable".into()))
        },
    })
}

/// A store that cannot be reached at all (every call fails), as a stopped object store.
pub fn unreachable() -> Arc<dyn ChunkStore> {
    Arc::new(Faulty {
        inner: Arc::new(MemoryStore::new()),
        fault: |_, _| {
            Some(ChunkError::Io("store 'az://chunks/secret-prefix': the service could not be reached".into()))
        },
    })
}

/// `/readyz` answers 200 when every store answers, and 503 naming (only by region and store)
/// the one that does not; `/healthz` stays 200 either way.
#[tokio::test]
async fn readyz_names_an_unreachable_store_and_healthz_does_not_care() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    let app = super::support::TestApp::new().await;
    let r = app.send(Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["database"], "ok");

    let app = super::support::TestApp::with_stores(&|region, name, store| {
        if (region, name) == ("westeurope", "standard_zrs-2") { unreachable() } else { store }
    })
    .await;
    let r = app.send(Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(r.body["unreachableStores"], serde_json::json!(["westeurope/standard_zrs-2"]));
    assert!(!r.body.to_string().contains("secret-prefix"), "no backend detail without a token: {}", r.body);
    let r = app.send(Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    // The operator's view (with a token) says why.
    let shown = app.get("/galleon/regions/westeurope").await;
    let store =
        shown.body["stores"].as_array().unwrap().iter().find(|s| s["name"] == "standard_zrs-2").unwrap().clone();
    assert!(store["error"].as_str().unwrap().contains("could not be reached"), "{store}");
}
