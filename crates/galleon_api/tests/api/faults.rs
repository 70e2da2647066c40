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
}
