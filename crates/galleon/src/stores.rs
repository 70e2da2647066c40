//! The region stores a server runs with, from its settings: `[[stores]]` entries (local
//! directories, Azure Blob, S3), a region's single store URL, or the embedded default of local
//! stores under the data directory. Object stores are checked at start; one that cannot be
//! reached or authenticated is reported by name and its region keeps being served (its jobs fail
//! or retry with the store's error), so the regions that work are not held hostage.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use galleon_blob::store::{ChunkStore, LocalStore, ObjectChunkStore, ObjectStoreSpec, ObjectStores};
use galleon_core::regions::RegionStore;
use galleon_model::image_version::StorageAccountType;

use crate::config::{FileStore, Settings};

/// Every region's stores, and the object stores among them (to check at start).
pub(crate) struct OpenedStores {
    pub by_region: BTreeMap<String, Vec<RegionStore>>,
    pub remote: RemoteStores,
}

/// The object stores, by a name for messages (`region/store (url)`).
pub(crate) struct RemoteStores(Vec<(String, Arc<ObjectChunkStore>)>);

/// Opens the stores of every configured region.
pub(crate) fn open(settings: &Settings) -> anyhow::Result<OpenedStores> {
    let clients = ObjectStores::new();
    let mut opened = OpenedStores { by_region: BTreeMap::new(), remote: RemoteStores(Vec::new()) };
    for region in &settings.regions {
        let explicit: Vec<&FileStore> = settings.stores.iter().filter(|s| &s.region == region).collect();
        let stores = if !explicit.is_empty() {
            let mut stores = Vec::new();
            for (n, s) in explicit.iter().enumerate() {
                let kind = StorageAccountType::parse("type", &s.kind).map_err(|e| anyhow::anyhow!(e.message))?;
                let name = format!("{}-{}", kind.as_str().to_ascii_lowercase(), n + 1);
                let store = match s.url.strip_prefix("dir://") {
                    Some(path) => Arc::new(LocalStore::open(std::path::Path::new(path))?) as Arc<dyn ChunkStore>,
                    None => opened.object(&clients, region, &name, &s.object_spec())?,
                };
                stores.push(RegionStore { name, kind, store });
            }
            stores
        } else if let Some(url) = settings.region_stores.get(region) {
            let name = "standard_lrs-1".to_string();
            let spec = ObjectStoreSpec { url: url.clone(), ..Default::default() };
            let store = opened.object(&clients, region, &name, &spec)?;
            vec![RegionStore { name, kind: StorageAccountType::StandardLrs, store }]
        } else {
            default_stores(&settings.data_dir.join("regions").join(region))
                .with_context(|| format!("opening the stores of {region}"))?
        };
        opened.by_region.insert(region.clone(), stores);
    }
    Ok(opened)
}

impl OpenedStores {
    fn object(
        &mut self,
        clients: &ObjectStores,
        region: &str,
        name: &str,
        spec: &ObjectStoreSpec,
    ) -> anyhow::Result<Arc<dyn ChunkStore>> {
        let store = Arc::new(clients.open(spec).with_context(|| format!("region {region}, store {name}"))?);
        self.remote.0.push((format!("{region}/{name} ({})", spec.url), store.clone()));
        Ok(store)
    }
}

impl RemoteStores {
    /// Checks every object store once (in parallel), logging the ones that fail by name.
    /// Returns the failures, for the start-up message.
    pub(crate) async fn check(&self) -> Vec<String> {
        let checks = self.0.iter().map(|(name, store)| async move {
            match tokio::time::timeout(std::time::Duration::from_secs(20), store.probe()).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(format!("{name}: {e}")),
                Err(_) => Some(format!("{name}: no answer in 20 s")),
            }
        });
        let failures: Vec<String> = futures_util::future::join_all(checks).await.into_iter().flatten().collect();
        for f in &failures {
            tracing::error!(store = %f, "a region store cannot be used: its region's replication fails until it can");
        }
        failures
    }
}

/// The embedded default: two local stores of each storage type (enough for the seed's
/// `--replica-count 2` in every region), primary first.
fn default_stores(root: &std::path::Path) -> anyhow::Result<Vec<RegionStore>> {
    let mut stores = Vec::new();
    for kind in [StorageAccountType::StandardLrs, StorageAccountType::StandardZrs, StorageAccountType::PremiumLrs] {
        for n in 1..=2 {
            let name = format!("{}-{n}", kind.as_str().to_ascii_lowercase());
            stores.push(RegionStore { store: Arc::new(LocalStore::open(&root.join(&name))?), name, kind });
        }
    }
    Ok(stores)
}
