//! A chunk store over any `object_store` backend (local filesystem, memory, and with the
//! crate's features Azure Blob, S3, GCS): chunks are objects named `PREFIX/ab/<64 hex>`. This is
//! the way further region-store backends arrive.
//!
//! Puts are conditional creates, so two writers of one chunk never clobber each other and a put
//! is idempotent. Object stores make a put durable when it returns, so `sync` has nothing to do.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::{ChunkError, ChunkStore, verify};
use crate::ChunkId;

/// Chunks as objects.
pub struct ObjectChunkStore {
    inner: Arc<dyn ObjectStore>,
    prefix: Path,
}

/// The backend's error, logged in full; the caller's message names only its kind, since the
/// backend's text carries the server's paths and bucket URLs.
fn io(e: object_store::Error) -> ChunkError {
    tracing::warn!(error = %e, "object store");
    let kind = match &e {
        object_store::Error::NotFound { .. } => "an object is missing",
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            "access to the store was denied"
        }
        _ => "the store failed",
    };
    ChunkError::Io(format!("{kind} (the server log has the details)"))
}

impl ObjectChunkStore {
    /// Chunks under `prefix` in `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>, prefix: &str) -> Self {
        Self { inner, prefix: Path::from(prefix) }
    }

    fn path(&self, id: ChunkId) -> Path {
        let hex = id.to_hex();
        self.prefix.clone().join(&hex[..2]).join(hex)
    }
}

#[async_trait]
impl ChunkStore for ObjectChunkStore {
    async fn put(&self, id: ChunkId, data: Bytes) -> Result<bool, ChunkError> {
        if ChunkId::of(&data) != id {
            return Err(ChunkError::Mismatch(id));
        }
        let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.inner.put_opts(&self.path(id), PutPayload::from(data), opts).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(io(e)),
        }
    }

    async fn get(&self, id: ChunkId) -> Result<Bytes, ChunkError> {
        let result = match self.inner.get(&self.path(id)).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Err(ChunkError::NotFound(id)),
            Err(e) => return Err(io(e)),
        };
        verify(id, result.bytes().await.map_err(io)?)
    }

    async fn has(&self, id: ChunkId) -> Result<bool, ChunkError> {
        match self.inner.head(&self.path(id)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(io(e)),
        }
    }

    async fn delete(&self, id: ChunkId) -> Result<(), ChunkError> {
        match self.inner.delete(&self.path(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    async fn list(&self) -> Result<Vec<ChunkId>, ChunkError> {
        let metas: Vec<_> = self.inner.list(Some(&self.prefix)).try_collect().await.map_err(io)?;
        Ok(metas.iter().filter_map(|m| m.location.filename().and_then(|f| f.parse().ok())).collect())
    }

    async fn sync(&self) -> Result<(), ChunkError> {
        Ok(())
    }

    async fn written_at(&self, id: ChunkId) -> Result<Option<SystemTime>, ChunkError> {
        match self.inner.head(&self.path(id)).await {
            Ok(meta) => Ok(Some(meta.last_modified.into())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failing backend's text names the server's paths; the caller's error does not.
    #[tokio::test]
    async fn backend_failures_do_not_reveal_server_paths() {
        let dir = tempfile::tempdir().unwrap();
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        // `chunks` is a file, so no chunk can be written under it.
        std::fs::write(dir.path().join("chunks"), b"in the way").unwrap();
        let store = ObjectChunkStore::new(Arc::new(fs), "chunks");
        let data = Bytes::from_static(b"chunk");
        let err = store.put(ChunkId::of(&data), data).await.unwrap_err();
        assert!(matches!(err, ChunkError::Io(_)), "{err}");
        assert!(!err.to_string().contains(dir.path().to_str().unwrap()), "{err}");
    }
}
