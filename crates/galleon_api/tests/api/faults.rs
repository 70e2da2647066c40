//! Faults in a real chunk store: a wrapper around a `LocalStore` whose writes fail a number of
//! times (or always) with a backend error, as a full disk or an object store's 503 would.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use galleon_blob::ChunkId;
use galleon_blob::store::{ChunkError, ChunkStore};

/// Fails its first `failures` writes, then behaves as the store it wraps.
pub struct FailingWrites {
    pub inner: Arc<dyn ChunkStore>,
    pub failures: Arc<AtomicUsize>,
}

impl FailingWrites {
    fn fault(&self) -> Result<(), ChunkError> {
        let left = self.failures.load(Ordering::SeqCst);
        if left == 0 {
            return Ok(());
        }
        self.failures.store(left - 1, Ordering::SeqCst);
        Err(ChunkError::Io("injected: the store is unavailable".into()))
    }
}

#[async_trait]
impl ChunkStore for FailingWrites {
    async fn put(&self, id: ChunkId, data: Bytes) -> Result<bool, ChunkError> {
        self.fault()?;
        self.inner.put(id, data).await
    }
    async fn get(&self, id: ChunkId) -> Result<Bytes, ChunkError> {
        self.inner.get(id).await
    }
    async fn has(&self, id: ChunkId) -> Result<bool, ChunkError> {
        self.inner.has(id).await
    }
    async fn delete(&self, id: ChunkId) -> Result<(), ChunkError> {
        self.inner.delete(id).await
    }
    async fn list(&self) -> Result<Vec<ChunkId>, ChunkError> {
        self.inner.list().await
    }
    async fn sync(&self) -> Result<(), ChunkError> {
        self.inner.sync().await
    }
    async fn written_at(&self, id: ChunkId) -> Result<Option<std::time::SystemTime>, ChunkError> {
        self.inner.written_at(id).await
    }
    async fn size(&self, id: ChunkId) -> Result<Option<u64>, ChunkError> {
        self.inner.size(id).await
    }
}

/// A store that cannot be reached at all (every call fails), as a stopped object store.
pub struct Unreachable;

#[async_trait]
impl ChunkStore for Unreachable {
    async fn put(&self, _: ChunkId, _: Bytes) -> Result<bool, ChunkError> {
        Err(Self::down())
    }
    async fn get(&self, _: ChunkId) -> Result<Bytes, ChunkError> {
        Err(Self::down())
    }
    async fn has(&self, _: ChunkId) -> Result<bool, ChunkError> {
        Err(Self::down())
    }
    async fn delete(&self, _: ChunkId) -> Result<(), ChunkError> {
        Err(Self::down())
    }
    async fn list(&self) -> Result<Vec<ChunkId>, ChunkError> {
        Err(Self::down())
    }
    async fn sync(&self) -> Result<(), ChunkError> {
        Err(Self::down())
    }
    async fn written_at(&self, _: ChunkId) -> Result<Option<std::time::SystemTime>, ChunkError> {
        Err(Self::down())
    }
    async fn size(&self, _: ChunkId) -> Result<Option<u64>, ChunkError> {
        Err(Self::down())
    }
}

impl Unreachable {
    fn down() -> ChunkError {
        ChunkError::Io("store 'az://chunks/secret-prefix': the service could not be reached".into())
    }
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
        if (region, name) == ("westeurope", "standard_zrs-2") { Arc::new(Unreachable) } else { store }
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
