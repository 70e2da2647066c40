//! What a region is made of, for operators: its stores, their storage types and backends, and
//! (when asked, since it walks every store) how much each holds or why it cannot say.

use serde::Serialize;

use crate::{Core, CoreResult};

/// A region and its stores.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionInfo {
    /// The region's name.
    pub name: String,
    /// Its stores, primary first.
    pub stores: Vec<StoreInfo>,
}

/// One store of a region.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreInfo {
    /// Its name in the region (`standard_lrs-1`).
    pub name: String,
    /// `Standard_LRS`, `Standard_ZRS` or `Premium_LRS`.
    pub storage_account_type: &'static str,
    /// Where its chunks live (`dir:///…`, `az://container/prefix`, `s3://bucket/prefix`).
    pub backend: String,
    /// Chunks held (with usage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks: Option<u64>,
    /// Their bytes (with usage, when the backend tells).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Why the store could not be read (with usage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Core {
    /// Every region with its stores (no store is read).
    pub fn list_regions(&self) -> Vec<RegionInfo> {
        self.config().regions.iter().filter_map(|r| self.region_info_now(r).ok()).collect()
    }

    fn region_info_now(&self, region: &str) -> CoreResult<RegionInfo> {
        if !self.config().regions.iter().any(|r| r == region) {
            let available = self.config().regions.join(",");
            let message = format!("The region '{region}' is not served here. Available regions are '{available}'.");
            return Err(galleon_model::Invalid::param("region", message).into());
        }
        let stores = self.region_stores(region)?;
        Ok(RegionInfo {
            name: region.to_string(),
            stores: stores
                .iter()
                .map(|s| StoreInfo {
                    name: s.name.clone(),
                    storage_account_type: s.kind.as_str(),
                    backend: s.store.backend(),
                    chunks: None,
                    bytes: None,
                    error: None,
                })
                .collect(),
        })
    }

    /// One region with what each of its stores holds (every store is walked, concurrently).
    pub async fn show_region(&self, region: &str) -> CoreResult<RegionInfo> {
        let mut info = self.region_info_now(region)?;
        let stores = self.region_stores(region)?;
        let usages = futures_util::future::join_all(stores.iter().map(|s| s.store.usage())).await;
        for (store, usage) in info.stores.iter_mut().zip(usages) {
            match usage {
                Ok(u) => (store.chunks, store.bytes) = (Some(u.chunks), u.bytes),
                Err(e) => store.error = Some(e.to_string()),
            }
        }
        Ok(info)
    }
}

impl Core {
    /// Sets the `galleon_store_chunks` and `galleon_store_bytes` gauges of every region store
    /// (each store is walked: this runs on a timer, not per scrape).
    pub async fn record_store_usage(&self) {
        for region in self.config.regions.clone() {
            let Ok(info) = self.show_region(&region).await else { continue };
            for s in info.stores {
                let labels = [("region", region.clone()), ("store", s.name.clone())];
                if let Some(n) = s.chunks {
                    metrics::gauge!("galleon_store_chunks", &labels).set(n as f64);
                }
                if let Some(b) = s.bytes {
                    metrics::gauge!("galleon_store_bytes", &labels).set(b as f64);
                }
            }
        }
    }
}

/// Keeps the store usage gauges current: at start, then every `every`.
pub fn spawn_usage_gauges(core: std::sync::Arc<Core>, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            core.record_store_usage().await;
            tokio::time::sleep(every).await;
        }
    })
}
