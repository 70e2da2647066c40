//! Regions and their stores. A region has one or more chunk stores, each of a storage type
//! (Standard_LRS, Standard_ZRS, Premium_LRS); the first is its primary store, where imports and
//! uploads land. A replica of an image version is a full copy on one store of the requested type;
//! `regionalReplicaCount` N places it on N distinct stores of that type.
//!
//! Reads in a region go through [`RegionView`], which finds a chunk in whichever of the region's
//! stores holds it.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use galleon_blob::ChunkId;
use galleon_blob::store::{ChunkError, ChunkStore};
use galleon_model::image_version::StorageAccountType;

/// One store of a region.
#[derive(Clone)]
pub struct RegionStore {
    /// A stable name, unique in the region (`standard_lrs-1`).
    pub name: String,
    /// Its storage type.
    pub kind: StorageAccountType,
    /// The chunks.
    pub store: Arc<dyn ChunkStore>,
}

/// All of a region's stores seen as one: writes go to the primary store, reads to whichever
/// store has the chunk. `has` answers for the primary alone: it is what writers ask before
/// skipping a write, and a manifest written to the primary must find every chunk it names there
/// (a chunk held only by another store of the region would be that store's to collect).
pub(crate) struct RegionView {
    pub(crate) stores: Vec<Arc<dyn ChunkStore>>,
}

#[async_trait]
impl ChunkStore for RegionView {
    async fn put(&self, id: ChunkId, data: Bytes) -> Result<bool, ChunkError> {
        self.stores[0].put(id, data).await
    }

    async fn get(&self, id: ChunkId) -> Result<Bytes, ChunkError> {
        let mut last = ChunkError::NotFound(id);
        let mut failed = None;
        for store in &self.stores {
            match store.get(id).await {
                Ok(data) => return Ok(data),
                // A corrupt copy in one store is passed over when another has a good one.
                Err(e @ (ChunkError::NotFound(_) | ChunkError::Corrupt(_))) => last = e,
                // So is a store that cannot be reached now; if no store has the chunk, its
                // failure is the answer (the chunk may be there: a retry may find it).
                Err(e) => failed = failed.or(Some(e)),
            }
        }
        Err(failed.unwrap_or(last))
    }

    async fn has(&self, id: ChunkId) -> Result<bool, ChunkError> {
        self.stores[0].has(id).await
    }

    async fn lacking(&self, ids: &[ChunkId]) -> Result<Vec<ChunkId>, ChunkError> {
        self.stores[0].lacking(ids).await
    }

    async fn delete(&self, id: ChunkId) -> Result<(), ChunkError> {
        for store in &self.stores {
            store.delete(id).await?;
        }
        Ok(())
    }

    async fn list(&self) -> Result<Vec<ChunkId>, ChunkError> {
        let mut all = Vec::new();
        for store in &self.stores {
            all.extend(store.list().await?);
        }
        all.sort();
        all.dedup();
        Ok(all)
    }

    async fn sync(&self) -> Result<(), ChunkError> {
        for store in &self.stores {
            store.sync().await?;
        }
        Ok(())
    }

    async fn written_at(&self, id: ChunkId) -> Result<Option<SystemTime>, ChunkError> {
        for store in &self.stores {
            if let Some(t) = store.written_at(id).await? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    async fn size(&self, id: ChunkId) -> Result<Option<u64>, ChunkError> {
        for store in &self.stores {
            if let Some(n) = store.size(id).await? {
                return Ok(Some(n));
            }
        }
        Ok(None)
    }

    fn local_path(&self, id: ChunkId) -> Option<std::path::PathBuf> {
        self.stores.iter().find_map(|s| s.local_path(id))
    }

    async fn put_file(&self, id: ChunkId, path: &std::path::Path) -> Result<bool, ChunkError> {
        self.stores[0].put_file(id, path).await
    }

    async fn locate_in(
        &self,
        service: &Arc<dyn galleon_blob::store::ObjectStore>,
        id: ChunkId,
    ) -> Option<galleon_blob::store::ObjectPath> {
        for store in &self.stores {
            if let Some(path) = store.locate_in(service, id).await {
                return Some(path);
            }
        }
        None
    }
}
