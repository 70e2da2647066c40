//! An in-memory chunk store, for tests and throwaway regions.

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use bytes::Bytes;

use super::{ChunkError, ChunkStore, verify};
use crate::ChunkId;

/// Chunks in a hash map.
#[derive(Default)]
pub struct MemoryStore {
    chunks: RwLock<HashMap<ChunkId, Bytes>>,
    written: RwLock<HashMap<ChunkId, std::time::SystemTime>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces a chunk's bytes without checking them (tests use it to simulate corruption).
    pub fn overwrite_unchecked(&self, id: ChunkId, data: Bytes) {
        self.chunks.write().expect("lock").insert(id, data);
    }
}

fn poisoned<T>(_: T) -> ChunkError {
    ChunkError::Io("memory store lock poisoned".into())
}

#[async_trait]
impl ChunkStore for MemoryStore {
    async fn put(&self, id: ChunkId, data: Bytes) -> Result<bool, ChunkError> {
        if ChunkId::of(&data) != id {
            return Err(ChunkError::Mismatch(id));
        }
        let mut chunks = self.chunks.write().map_err(poisoned)?;
        let new = chunks.insert(id, data).is_none();
        if new {
            self.written.write().map_err(poisoned)?.insert(id, std::time::SystemTime::now());
        }
        Ok(new)
    }

    async fn get(&self, id: ChunkId) -> Result<Bytes, ChunkError> {
        let data = self.chunks.read().map_err(poisoned)?.get(&id).cloned().ok_or(ChunkError::NotFound(id))?;
        verify(id, data)
    }

    async fn has(&self, id: ChunkId) -> Result<bool, ChunkError> {
        Ok(self.chunks.read().map_err(poisoned)?.contains_key(&id))
    }

    async fn delete(&self, id: ChunkId) -> Result<(), ChunkError> {
        self.chunks.write().map_err(poisoned)?.remove(&id);
        Ok(())
    }

    async fn list(&self) -> Result<Vec<ChunkId>, ChunkError> {
        Ok(self.chunks.read().map_err(poisoned)?.keys().copied().collect())
    }

    async fn sync(&self) -> Result<(), ChunkError> {
        Ok(())
    }

    fn backend(&self) -> String {
        "memory://".into()
    }

    async fn usage(&self) -> Result<super::StoreUsage, ChunkError> {
        let chunks = self.chunks.read().map_err(poisoned)?;
        let bytes = chunks.values().map(|c| c.len() as u64).sum();
        Ok(super::StoreUsage { chunks: chunks.len() as u64, bytes: Some(bytes) })
    }

    async fn size(&self, id: ChunkId) -> Result<Option<u64>, ChunkError> {
        Ok(self.chunks.read().map_err(poisoned)?.get(&id).map(|d| d.len() as u64))
    }

    async fn written_at(&self, id: ChunkId) -> Result<Option<std::time::SystemTime>, ChunkError> {
        if !self.chunks.read().map_err(poisoned)?.contains_key(&id) {
            return Ok(None);
        }
        Ok(self.written.read().map_err(poisoned)?.get(&id).copied())
    }
}
