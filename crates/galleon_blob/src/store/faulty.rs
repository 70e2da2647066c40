//! A real store with faults where a test puts them: every call of the [`ChunkStore`] trait's
//! own methods first asks `fault` whether to fail (a full disk, an object store's 503, one bad
//! chunk), then goes to the store it wraps. The trait's provided methods (`lacking`,
//! `put_file`, `copy_from`, `check`) run through these, so they meet the same faults.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use super::{ChunkError, ChunkStore};
use crate::ChunkId;

/// Which call a fault is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Put,
    Get,
    Has,
    Delete,
    List,
    Sync,
    WrittenAt,
    Size,
}

/// `inner`, failing a call (and the chunk it is about, if any) whenever `fault` returns an error.
pub struct Faulty<F> {
    pub inner: Arc<dyn ChunkStore>,
    pub fault: F,
}

impl<F: Fn(Call, Option<ChunkId>) -> Option<ChunkError>> Faulty<F> {
    fn check(&self, call: Call, id: Option<ChunkId>) -> Result<(), ChunkError> {
        (self.fault)(call, id).map_or(Ok(()), Err)
    }
}

#[async_trait]
impl<F: Fn(Call, Option<ChunkId>) -> Option<ChunkError> + Send + Sync + 'static> ChunkStore for Faulty<F> {
    async fn put(&self, id: ChunkId, data: Bytes) -> Result<bool, ChunkError> {
        self.check(Call::Put, Some(id))?;
        self.inner.put(id, data).await
    }
    async fn get(&self, id: ChunkId) -> Result<Bytes, ChunkError> {
        self.check(Call::Get, Some(id))?;
        self.inner.get(id).await
    }
    async fn has(&self, id: ChunkId) -> Result<bool, ChunkError> {
        self.check(Call::Has, Some(id))?;
        self.inner.has(id).await
    }
    async fn delete(&self, id: ChunkId) -> Result<(), ChunkError> {
        self.check(Call::Delete, Some(id))?;
        self.inner.delete(id).await
    }
    async fn list(&self) -> Result<Vec<ChunkId>, ChunkError> {
        self.check(Call::List, None)?;
        self.inner.list().await
    }
    async fn sync(&self) -> Result<(), ChunkError> {
        self.check(Call::Sync, None)?;
        self.inner.sync().await
    }
    async fn written_at(&self, id: ChunkId) -> Result<Option<std::time::SystemTime>, ChunkError> {
        self.check(Call::WrittenAt, Some(id))?;
        self.inner.written_at(id).await
    }
    async fn size(&self, id: ChunkId) -> Result<Option<u64>, ChunkError> {
        self.check(Call::Size, Some(id))?;
        self.inner.size(id).await
    }
}
