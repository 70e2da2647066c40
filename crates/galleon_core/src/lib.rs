//! galleon's use cases, over the store traits: resource groups, galleries, image definitions
//! and image versions with their long-running operations, subscriptions, principals and tokens.
//!
//! Every caller (ARM handlers, the portal, the CLI through the API) goes through [`Core`], so a
//! rule lives in `galleon_model` and is applied here once. Writes are [`galleon_store::Batch`]es
//! that change the resource and record its operation together, so a crash leaves either both or
//! neither; a job queue (durable operations with leases) finishes the work and survives restarts.
//! This crate never names a concrete backend, HTTP or axum.

pub mod access;
pub mod activity;
pub mod auth;
mod build;
pub mod content;
pub mod content_error;
mod deployments;
mod disks;
mod error;
pub mod events;
mod galleries;
mod gc;
pub mod generic;
mod groups;
mod images;
mod imports;
pub mod jobs;
pub mod jws;
mod latest_explain;
pub mod links;
mod maintenance;
mod managed_images;
pub mod network;
pub mod nodes;
mod operation_info;
mod page;
mod portal_sessions;
mod provenance;
pub mod rbac;
pub mod readiness;
pub mod region_info;
pub mod regions;
mod replicate;
mod resources;
mod retention;
mod scrub;
pub mod sharing;
mod soft_delete;
mod subscriptions;
mod version_sources;
mod versions;
mod vms;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use galleon_model::region::canonical;
use galleon_model::{Invalid, InvalidCode};
use galleon_store::MetadataStore;
use tokio::sync::Notify;

pub use deployments::{Caller, Deployment, PlannedStep, ResourceWriter, StepOutcome, deployment_id};
pub use disks::{DiskKind, DiskRef};
pub use error::{CoreError, CoreResult};
pub(crate) use galleon_store::Operation;
pub use galleries::GalleryRequest;
pub use gc::GcReport;
pub use jobs::Accepted;
pub use latest_explain::{LatestExplanation, Verdict};
pub use maintenance::{GcRun, GcStatus};
pub use managed_images::IMAGE_TYPE;
pub use operation_info::{OperationInfo, OperationState};
pub use page::{DEFAULT_PAGE, MAX_PAGE, Page, PageRequest};
pub use portal_sessions::PortalSession;
pub use provenance::{Provenance, STATEMENT_TYPE, SignedDisk, SignedSource, Statement};
pub use resources::Envelope;
pub use retention::{RetentionReport, RetentionStep};
pub use scrub::ScrubReport;
pub use subscriptions::Subscription;
pub use vms::VM_TYPE;

/// How the core is set up.
#[derive(Clone)]
pub struct CoreConfig {
    /// The tenant every principal and subscription belongs to.
    pub tenant_id: String,
    /// Canonical names of the regions this deployment serves.
    pub regions: Vec<String>,
    /// The stores of each region, primary first.
    pub chunk_stores: BTreeMap<String, Vec<regions::RegionStore>>,
    /// Hard-link chunks between stores on one filesystem instead of copying them (set false to
    /// force real copies, for benchmarks and for stores on different disks).
    pub link_copies: bool,
    /// URL prefixes imports may read from (`file:///srv/images/`, `http://127.0.0.1:10000/`).
    pub import_allow: Vec<String>,
    /// Where uploads through Write access URLs are staged until `endGetAccess`.
    pub uploads_dir: PathBuf,
    /// Fetches http(s) import sources; without one only `file://` imports work.
    pub fetcher: Option<Arc<dyn content::Fetcher>>,
    /// Posts webhooks for event subscriptions; without one no events are delivered.
    pub webhooks: Option<Arc<dyn events::WebhookSender>>,
    /// This node's stable name: the owner of the job leases it holds. It must stay the same
    /// across restarts (so a node frees its own leases when it starts again) and differ
    /// between nodes sharing one database.
    pub node_id: String,
}

/// The use cases. Cheap to share: hold it in an `Arc`.
pub struct Core {
    store: Arc<dyn MetadataStore>,
    config: CoreConfig,
    /// Replaced whole when the shared key set changes (a rotation, here or on another node).
    tokens: std::sync::RwLock<Arc<auth::TokenIssuer>>,
    /// The revision of the key set `tokens` was built from (0: the key given to `new`).
    keys_rev: std::sync::atomic::AtomicI64,
    wake: Notify,
    /// Failed token requests per client id and per source address.
    token_failures: auth::FailureLimiter,
    /// Where deployments send their resources (set by the API layer).
    resource_writer: std::sync::OnceLock<Arc<dyn deployments::ResourceWriter>>,
    /// The last readiness answer (`/readyz`).
    readiness: readiness::ReadinessCache,
}

impl Core {
    /// Builds the core over a store, with the token signing key (PKCS#8 Ed25519).
    pub fn new(store: Arc<dyn MetadataStore>, config: CoreConfig, signing_key_pkcs8: &[u8]) -> CoreResult<Self> {
        let tokens = auth::TokenIssuer::new(signing_key_pkcs8).map_err(|e| {
            CoreError::Store(galleon_store::StoreError::Corrupt {
                key: "token signing key".into(),
                reason: e.to_string(),
            })
        })?;
        Ok(Self {
            store,
            config,
            tokens: std::sync::RwLock::new(Arc::new(tokens)),
            keys_rev: std::sync::atomic::AtomicI64::new(0),
            wake: Notify::new(),
            resource_writer: std::sync::OnceLock::new(),
            token_failures: Default::default(),
            readiness: Default::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// The token issuer (the key set as last loaded).
    pub fn tokens(&self) -> Arc<auth::TokenIssuer> {
        self.tokens.read().expect("token issuer lock").clone()
    }

    /// Checks that `location` is a configured region and returns its canonical name.
    pub fn region(&self, location: Option<&str>, resource_type: &str) -> CoreResult<String> {
        let Some(location) = location.filter(|l| !l.trim().is_empty()) else {
            return Err(Invalid {
                code: InvalidCode::InvalidParameter,
                target: "location".into(),
                message: "The 'location' property is required for this resource.".into(),
            }
            .into());
        };
        let name = canonical(location);
        if self.config.regions.contains(&name) {
            return Ok(name);
        }
        Err(Invalid {
            code: InvalidCode::LocationNotAvailableForResourceType,
            target: "location".into(),
            message: format!(
                "The provided location '{location}' is not available for resource type '{resource_type}'. List of available regions for the resource type is '{}'.",
                self.config.regions.join(",")
            ),
        }
        .into())
    }

    pub(crate) fn store(&self) -> &dyn MetadataStore {
        self.store.as_ref()
    }

    /// Holds the lock `name` in `mode` across every node on the store, however long that takes.
    /// `content`: work that writes chunks and records manifests (shared) against garbage
    /// collection (exclusive); `scrub/{region}`: one scrub of a region at a time.
    pub(crate) async fn cluster_lock(
        &self,
        name: &str,
        mode: galleon_store::LockMode,
    ) -> CoreResult<galleon_store::HeldLock> {
        loop {
            if let Some(lock) = self.store().lock(name, mode, std::time::Duration::from_secs(60)).await? {
                return Ok(lock);
            }
            tracing::info!(name, ?mode, "still waiting for a lock");
        }
    }
}

pub(crate) fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// A time as RFC 3339 (galleon's own documents: events, provenance).
pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
