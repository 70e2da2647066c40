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
    /// What errors name the store by (its configured URL, which holds no secret).
    label: String,
}

/// The backend's error, logged in full; the caller's message names the store and the kind of
/// failure only, since the backend's text carries the server's paths and service URLs.
fn io(label: &str, e: object_store::Error) -> ChunkError {
    tracing::warn!(store = label, error = %e, "object store");
    ChunkError::Io(format!("store '{label}': {}", describe(&e)))
}

/// What went wrong, in words safe to show a caller.
fn describe(e: &object_store::Error) -> String {
    match e {
        object_store::Error::NotFound { .. } => return "an object is missing".into(),
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            return "access was denied (check the store's credentials)".into();
        }
        _ => {}
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(http) = err.downcast_ref::<object_store::client::HttpError>() {
            use object_store::client::HttpErrorKind as K;
            return match http.kind() {
                K::Connect => "the service could not be reached (connection failed)",
                K::Timeout => "the service did not answer in time",
                K::Request | K::Interrupted => "the connection to the service broke",
                _ => "the service's answer could not be read",
            }
            .into();
        }
        source = err.source();
    }
    // object_store's own text for an HTTP status: "... status code: 503 Service Unavailable ...".
    let text = e.to_string();
    if let Some(at) = text.find("status code: ") {
        let code: String = text[at + 13..].chars().take_while(|c| c.is_ascii_digit()).collect();
        let what = match code.as_str() {
            "" => None,
            "401" | "403" => Some("access was denied (check the store's credentials)"),
            "404" => Some("the container or bucket was not found"),
            "429" | "503" => Some("the service is throttling or unavailable"),
            _ => Some("the service refused the request"),
        };
        if let Some(what) = what {
            return format!("{what}: HTTP {code}");
        }
    }
    "the store failed".into()
}

impl ObjectChunkStore {
    /// Chunks under `prefix` in `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>, prefix: &str) -> Self {
        Self { inner, prefix: Path::from(prefix), label: "object store".into() }
    }

    /// Names the store in errors (its URL as configured; never one with credentials).
    pub fn with_label(mut self, label: &str) -> Self {
        label.clone_into(&mut self.label);
        self
    }

    /// Whether this store and `other` are reached through one client (one container or bucket
    /// with the same credentials), so copies between them stay in the service.
    pub fn shares_service_with(&self, other: &ObjectChunkStore) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Checks that the service answers and accepts the credentials: lists (at most one page of)
    /// the store's objects.
    pub async fn probe(&self) -> Result<(), ChunkError> {
        let mut listing = self.inner.list(Some(&self.prefix));
        match listing.try_next().await {
            Ok(_) => Ok(()),
            Err(e) => Err(io(&self.label, e)),
        }
    }

    /// Replaces a chunk's object with other bytes, unchecked (tests use it to simulate bit rot).
    pub async fn overwrite_unchecked(&self, id: ChunkId, data: Bytes) -> Result<(), ChunkError> {
        self.inner.put(&self.path(id), PutPayload::from(data)).await.map(|_| ()).map_err(|e| self.io(e))
    }

    fn path(&self, id: ChunkId) -> Path {
        let hex = id.to_hex();
        self.prefix.clone().join(&hex[..2]).join(hex)
    }

    fn io(&self, e: object_store::Error) -> ChunkError {
        io(&self.label, e)
    }
}

#[async_trait]
impl ChunkStore for ObjectChunkStore {
    async fn put(&self, id: ChunkId, data: Bytes) -> Result<bool, ChunkError> {
        if ChunkId::of(&data) != id {
            return Err(ChunkError::Mismatch(id));
        }
        let path = self.path(id);
        let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.inner.put_opts(&path, PutPayload::from(data.clone()), opts).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => Ok(false),
            // A service without conditional writes: ask first. Two writers may both write; the
            // bytes are the chunk's either way (and a service that ignores the condition
            // silently is as harmless: "written" then only means "sent").
            Err(object_store::Error::NotImplemented { .. }) => {
                if self.has(id).await? {
                    return Ok(false);
                }
                self.inner.put(&path, PutPayload::from(data)).await.map_err(|e| self.io(e))?;
                Ok(true)
            }
            Err(e) => Err(self.io(e)),
        }
    }

    async fn get(&self, id: ChunkId) -> Result<Bytes, ChunkError> {
        let result = match self.inner.get(&self.path(id)).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Err(ChunkError::NotFound(id)),
            Err(e) => return Err(self.io(e)),
        };
        verify(id, result.bytes().await.map_err(|e| self.io(e))?)
    }

    async fn has(&self, id: ChunkId) -> Result<bool, ChunkError> {
        match self.inner.head(&self.path(id)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.io(e)),
        }
    }

    async fn delete(&self, id: ChunkId) -> Result<(), ChunkError> {
        match self.inner.delete(&self.path(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.io(e)),
        }
    }

    async fn list(&self) -> Result<Vec<ChunkId>, ChunkError> {
        let metas: Vec<_> = self.inner.list(Some(&self.prefix)).try_collect().await.map_err(|e| self.io(e))?;
        Ok(metas
            .iter()
            // Only this store's own objects: PREFIX/ab/<hex> (a longer prefix of another store
            // in the same container is not ours).
            .filter(|m| m.location.parts().count() == self.prefix.parts().count() + 2)
            .filter_map(|m| m.location.filename().and_then(|f| f.parse().ok()))
            .collect())
    }

    async fn sync(&self) -> Result<(), ChunkError> {
        Ok(())
    }

    async fn written_at(&self, id: ChunkId) -> Result<Option<SystemTime>, ChunkError> {
        match self.inner.head(&self.path(id)).await {
            Ok(meta) => Ok(Some(meta.last_modified.into())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }

    async fn size(&self, id: ChunkId) -> Result<Option<u64>, ChunkError> {
        match self.inner.head(&self.path(id)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }

    fn backend(&self) -> String {
        self.label.clone()
    }

    async fn usage(&self) -> Result<super::StoreUsage, ChunkError> {
        let metas: Vec<_> = self.inner.list(Some(&self.prefix)).try_collect().await.map_err(|e| self.io(e))?;
        let ours = metas.iter().filter(|m| m.location.parts().count() == self.prefix.parts().count() + 2);
        let (chunks, bytes) = ours.fold((0, 0), |(n, b), m| (n + 1, b + m.size));
        Ok(super::StoreUsage { chunks, bytes: Some(bytes) })
    }

    async fn locate_in(&self, service: &Arc<dyn ObjectStore>, id: ChunkId) -> Option<Path> {
        if !Arc::ptr_eq(&self.inner, service) {
            return None;
        }
        matches!(self.has(id).await, Ok(true)).then(|| self.path(id))
    }

    async fn copy_from(&self, source: &dyn ChunkStore, id: ChunkId) -> Result<bool, ChunkError> {
        let Some(from) = source.locate_in(&self.inner, id).await else {
            return self.put(id, source.get(id).await?).await;
        };
        // Server-side: the bytes never leave the service. Overwriting is harmless (the object's
        // name is its content's hash), and needs no conditional-copy support from the service.
        match self.inner.copy(&from, &self.path(id)).await {
            Ok(()) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Err(ChunkError::NotFound(id)),
            Err(e) => Err(self.io(e)),
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
        let data = Bytes::from_static(b"chunk");
        let direct = ObjectChunkStore::new(Arc::new(fs), "chunks");
        // The same through the configuration (its URL names the directory).
        let spec =
            super::super::ObjectStoreSpec { url: format!("file://{}", dir.path().display()), ..Default::default() };
        let configured = super::super::ObjectStores::new().open(&spec).unwrap();
        for store in [direct, configured] {
            let err = store.put(ChunkId::of(&data), data.clone()).await.unwrap_err();
            assert!(matches!(err, ChunkError::Io(_)), "{err}");
            assert!(!err.to_string().contains(dir.path().to_str().unwrap()), "{err}");
        }
    }
}
