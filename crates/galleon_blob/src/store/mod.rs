//! Content-addressed chunk storage: put, get, has, delete and list chunks by [`ChunkId`].
//! Writes are atomic and idempotent (a chunk is either whole or absent; writing it twice is the
//! same as once); reads verify the hash, so a corrupted chunk is never served.
//!
//! Durability: a `put` is visible at once; [`ChunkStore::sync`] makes every earlier `put`
//! durable. Callers that record a manifest call it first, so a manifest never names a chunk a
//! crash could lose, and a whole import pays for one sync instead of one per chunk.

pub mod conformance;
pub mod faulty;
mod local;
mod memory;
mod object;
mod object_open;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
pub use object_store::ObjectStore;
pub use object_store::path::Path as ObjectPath;

pub use local::LocalStore;
pub use memory::MemoryStore;
pub use object::ObjectChunkStore;
pub use object_open::{ObjectStoreSpec, ObjectStores, OpenError};

use crate::ChunkId;

/// Chunk store failures, by what the caller can do.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    /// The chunk is not in this store.
    #[error("chunk {0} is not in the store")]
    NotFound(ChunkId),
    /// The stored bytes do not hash to their name: repair from another replica.
    #[error("chunk {0} is corrupt (its bytes do not match its hash)")]
    Corrupt(ChunkId),
    /// `put` was given bytes that are not the chunk it names (a caller bug).
    #[error("the bytes given for chunk {0} hash to something else")]
    Mismatch(ChunkId),
    /// The backend failed (disk full, permissions, I/O).
    #[error("chunk store I/O: {0}")]
    Io(String),
}

/// What a store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreUsage {
    /// Chunks (manifests included).
    pub chunks: u64,
    /// Their bytes, if the backend tells.
    pub bytes: Option<u64>,
}

/// A content-addressed store of chunks.
#[async_trait]
pub trait ChunkStore: Send + Sync + 'static {
    /// Stores a chunk (no-op if present). Returns true if it was written, false if it was there
    /// (an object service that ignores conditional writes may report true for a harmless
    /// rewrite: callers use the answer for statistics only).
    async fn put(&self, id: ChunkId, data: Bytes) -> Result<bool, ChunkError>;
    /// Reads a chunk, verifying its hash.
    async fn get(&self, id: ChunkId) -> Result<Bytes, ChunkError>;
    /// Whether a chunk is present (not verified).
    async fn has(&self, id: ChunkId) -> Result<bool, ChunkError>;
    /// Which of `ids` the store lacks, in their order (what a replication must copy). The
    /// default asks [`ChunkStore::has`] a few at a time (on an object store each question is a
    /// round trip); a store that answers cheaply in bulk answers in one go.
    async fn lacking(&self, ids: &[ChunkId]) -> Result<Vec<ChunkId>, ChunkError> {
        use futures_util::{StreamExt, TryStreamExt};
        // Stops at the first failure: a store that cannot answer one question is not asked the rest.
        futures_util::stream::iter(ids.iter().copied())
            .map(|id| async move { self.has(id).await.map(|has| (!has).then_some(id)) })
            .buffered(LACKING_QUESTIONS)
            .try_filter_map(|missing| async move { Ok(missing) })
            .try_collect()
            .await
    }
    /// Removes a chunk (no-op if absent).
    async fn delete(&self, id: ChunkId) -> Result<(), ChunkError>;
    /// Every chunk id in the store.
    async fn list(&self) -> Result<Vec<ChunkId>, ChunkError>;
    /// Makes every earlier `put` and `delete` durable.
    async fn sync(&self) -> Result<(), ChunkError>;
    /// When a chunk was written (garbage collection spares young chunks); `None` if absent.
    async fn written_at(&self, id: ChunkId) -> Result<Option<std::time::SystemTime>, ChunkError>;
    /// A chunk's size in bytes (what deleting it frees), without reading it; `None` if absent.
    async fn size(&self, id: ChunkId) -> Result<Option<u64>, ChunkError>;

    /// Where the store keeps its chunks, for operators (`dir:///srv/x`, `az://container/prefix`);
    /// never a credential.
    fn backend(&self) -> String {
        "custom".into()
    }

    /// Whether the store can be used now (a readiness probe): by default, asks for a chunk no
    /// one stores, which reaches the backend without moving data.
    async fn check(&self) -> Result<(), ChunkError> {
        self.has(ChunkId::of(b"galleon readiness probe")).await.map(|_| ())
    }

    /// How many chunks the store holds and, where the backend tells cheaply, their bytes. Walks
    /// the whole store: an operator's question, not a request path.
    async fn usage(&self) -> Result<StoreUsage, ChunkError> {
        Ok(StoreUsage { chunks: self.list().await?.len() as u64, bytes: None })
    }

    /// The file holding a chunk, for stores that keep chunks as local files (so a store on the
    /// same filesystem can hard-link it instead of copying). `None` by default.
    fn local_path(&self, _id: ChunkId) -> Option<std::path::PathBuf> {
        None
    }

    /// Stores a chunk that exists as the file `path` (verified by its name elsewhere). Stores on
    /// the same filesystem link it; the default reads it and puts the bytes (verifying them).
    async fn put_file(&self, id: ChunkId, path: &std::path::Path) -> Result<bool, ChunkError> {
        let data = tokio::fs::read(path).await.map_err(|e| ChunkError::Io(e.to_string()))?;
        self.put(id, Bytes::from(data)).await
    }

    /// Where chunk `id` is held inside the object store `service` (the same client), if this
    /// store keeps it there: the source of a server-side copy. `None` by default.
    async fn locate_in(&self, _service: &Arc<dyn ObjectStore>, _id: ChunkId) -> Option<ObjectPath> {
        None
    }

    /// Copies chunk `id` from `source` into this store. Object stores that share a service with
    /// the source copy server-side; the default reads the chunk (verifying it) and puts it.
    async fn copy_from(&self, source: &dyn ChunkStore, id: ChunkId) -> Result<bool, ChunkError> {
        self.put(id, source.get(id).await?).await
    }
}

/// How many [`ChunkStore::has`] questions the default [`ChunkStore::lacking`] keeps in flight.
const LACKING_QUESTIONS: usize = 8;

fn verify(id: ChunkId, data: Bytes) -> Result<Bytes, ChunkError> {
    if ChunkId::of(&data) == id { Ok(data) } else { Err(ChunkError::Corrupt(id)) }
}
