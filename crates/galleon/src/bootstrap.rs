//! First start: the data directory, the instance's tenant and subscription, the token signing
//! key, the admin principal and `credentials.json` (mode 0600) that scripts and the CLI read.
//!
//! The identity, the key and who the admin is live in the metadata store (kind `setting`), so
//! every node on one database shares them and `db copy` carries them. Each is created with an
//! "absent" precondition: nodes starting at the same instant agree on the first one written.
//! Data directories from before kept them in files; those are adopted on first start.

use std::path::{Path, PathBuf};

use anyhow::Context;
use galleon_core::Core;
use galleon_core::auth::signing_keys::StoredKeys;
use galleon_store::{Batch, Expect, Kind, MetadataStore, StoreError, typed};
use serde::{Deserialize, Serialize};

use crate::files::{private_dir, write_private};

/// Identity of this installation, fixed on first start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Instance {
    pub tenant_id: String,
    pub subscription_id: String,
}

/// What `credentials.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Credentials {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub subscription_id: String,
    pub endpoint: String,
    pub ca_file: Option<String>,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The layout of a data directory this galleon writes (the files beside the database: region
/// stores, TLS, credentials, uploads). Directories from before the `format` file existed are
/// format 1. The metadata database has its own schema version (see `galleon_store`).
pub(crate) const DATA_FORMAT: u32 = 1;

/// Checks the data directory's format: a newer one is refused (an older galleon must not write
/// a layout it does not know); an older one is brought up to this format in place.
pub(crate) fn check_format(dir: &Path) -> anyhow::Result<()> {
    let found = check_format_readable(dir)?;
    let path = dir.join("format");
    // Migrations from older formats go here, one step at a time; format 1 is the first.
    if found < DATA_FORMAT || !path.exists() {
        write_private(&path, format!("{DATA_FORMAT}\n").as_bytes())?;
    }
    Ok(())
}

/// The data directory's format, refused when it is newer than this galleon's; changes nothing
/// (for `galleon backup`, which reads a directory a server is using).
pub(crate) fn check_format_readable(dir: &Path) -> anyhow::Result<u32> {
    let path = dir.join("format");
    let found = match std::fs::read_to_string(&path) {
        Ok(text) => {
            text.trim().parse::<u32>().with_context(|| format!("{} does not hold a format number", path.display()))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 1,
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    anyhow::ensure!(
        found <= DATA_FORMAT,
        "the data directory {} has format {found}, written by a newer galleon; this galleon (v{}) reads formats up to {DATA_FORMAT}: upgrade galleon",
        dir.display(),
        env!("CARGO_PKG_VERSION")
    );
    Ok(found)
}

/// Takes the data directory for this process. One server per directory: the SQLite store
/// caches what it reads and relies on being its only writer, and a node's id is kept here.
pub(crate) fn lock(dir: &Path) -> anyhow::Result<std::fs::File> {
    private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("galleon.lock");
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
    match file.try_lock() {
        Ok(()) => {
            check_format(dir)?;
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            anyhow::bail!("another galleon is already serving {} (it holds {})", dir.display(), path.display())
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// This node's stable id: the configured one, else the one kept in the data directory, else a
/// new one kept there.
pub(crate) fn node_id(dir: &Path, configured: Option<&str>) -> anyhow::Result<String> {
    if let Some(id) = configured {
        anyhow::ensure!(
            !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "node id '{id}' must be 1-64 letters, digits, '-', '_' or '.'"
        );
        return Ok(id.to_string());
    }
    let path = dir.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        Ok(_) => anyhow::bail!("{} is empty", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
            write_private(&path, id.as_bytes())?;
            Ok(id)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Reads the shared setting `key`, or stores `candidate()` as it unless another node stored one
/// first (then that one).
async fn shared_setting<T>(
    store: &dyn MetadataStore,
    key: &str,
    candidate: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T>
where
    T: Serialize + for<'de> Deserialize<'de>,
{
    if let Some(found) = typed::get::<T>(store, Kind::Setting, key).await? {
        return Ok(found.value);
    }
    let value = candidate()?;
    match store.apply(Batch::new().put(typed::doc(Kind::Setting, key, None, &value), Expect::Absent)).await {
        Ok(()) => Ok(value),
        Err(StoreError::Conflict { .. }) => Ok(typed::get::<T>(store, Kind::Setting, key)
            .await?
            .with_context(|| format!("setting '{key}' vanished while it was being created"))?
            .value),
        Err(e) => Err(e.into()),
    }
}

/// The instance identity: the one in the store, else the data directory's from before, else new.
pub(crate) async fn instance(store: &dyn MetadataStore, dir: &Path) -> anyhow::Result<Instance> {
    shared_setting(store, "instance", || {
        Ok(read_json(&dir.join("instance.json"))?.unwrap_or_else(|| Instance {
            tenant_id: uuid::Uuid::new_v4().to_string(),
            subscription_id: uuid::Uuid::new_v4().to_string(),
        }))
    })
    .await
}

/// The token signing key set every node signs and verifies with: the store's, else one made
/// from the data directory's key from before, else from a new key. Returns a key to build the
/// core with; the core then loads the whole set (`reload_signing_keys`).
pub(crate) async fn signing_key(store: &dyn MetadataStore, dir: &Path) -> anyhow::Result<Vec<u8>> {
    let stored = shared_setting(store, galleon_core::auth::signing_keys::SETTING, || {
        let key = match std::fs::read(dir.join("keys").join("token-signing.pk8")) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => galleon_core::auth::generate_signing_key(),
            Err(e) => return Err(e.into()),
        };
        Ok(StoredKeys::new(&key))
    })
    .await?;
    let keys = stored.decode().map_err(|e| anyhow::anyhow!("the stored token signing keys: {e}"))?;
    keys.into_iter().next().map(|(k, _)| k).context("the stored token signing key set is empty")
}

/// Who the admin principal is, once one node has made it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Admin {
    client_id: String,
    /// The node whose data directory holds its `credentials.json`.
    node_id: String,
}

/// Makes sure the subscription and an admin principal exist and `credentials.json` names them.
/// With several nodes, one makes the admin and writes its `credentials.json`; the others find
/// it and return `None` (the secret is shown once, on the node that made it).
pub(crate) async fn admin(
    core: &Core,
    store: &dyn MetadataStore,
    dir: &Path,
    instance: &Instance,
    endpoint: &str,
    ca_file: Option<&Path>,
    node_id: &str,
) -> anyhow::Result<Option<PathBuf>> {
    core.ensure_subscription(&instance.subscription_id, "galleon").await?;
    let path = dir.join("credentials.json");
    let ca_file = ca_file.map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string());
    if let Some(mut creds) = read_json::<Credentials>(&path)?
        && core.principal_exists(&creds.client_id).await?
    {
        if creds.endpoint != endpoint || creds.ca_file != ca_file {
            (creds.endpoint, creds.ca_file) = (endpoint.to_string(), ca_file);
            write_private(&path, &serde_json::to_vec_pretty(&creds)?)?;
        }
        // The admin owns the subscription (idempotent; also for data directories made before roles).
        if let Some(oid) = core.principal_object_id(&creds.client_id).await? {
            core.ensure_owner(&instance.subscription_id, &oid).await?;
            core.ensure_tenant_admin(&oid).await?;
        }
        let claim = Admin { client_id: creds.client_id.clone(), node_id: node_id.to_string() };
        let doc = typed::doc(Kind::Setting, "admin", None, &claim);
        match store.apply(Batch::new().put(doc, Expect::Absent)).await {
            Ok(()) | Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        return Ok(Some(path));
    }
    if let Some(existing) = typed::get::<Admin>(store, Kind::Setting, "admin").await?
        && core.principal_exists(&existing.value.client_id).await?
    {
        tracing::info!(client_id = %existing.value.client_id, node = %existing.value.node_id, "the admin principal was made by another node; its credentials.json is in that node's data directory");
        return Ok(None);
    }
    let admin = core.create_principal("galleon admin").await?;
    // Only one admin: the node whose claim lands first keeps its principal; a node that lost
    // the race removes the one it just made.
    let claim = Admin { client_id: admin.principal.client_id.clone(), node_id: node_id.to_string() };
    let doc = typed::doc(Kind::Setting, "admin", None, &claim);
    // A claim already there wins unless its principal is gone (then it is replaced, guarded by
    // its revision).
    let expect = match typed::get::<Admin>(store, Kind::Setting, "admin").await? {
        None => Expect::Absent,
        Some(held) if !core.principal_exists(&held.value.client_id).await? => Expect::Rev(held.rev),
        Some(_) => {
            core.delete_principal(&admin.principal.client_id).await?;
            tracing::info!("another node made the admin principal at the same time; this node's was removed");
            return Ok(None);
        }
    };
    match store.apply(Batch::new().put(doc, expect)).await {
        Ok(()) => {}
        Err(StoreError::Conflict { .. }) => {
            core.delete_principal(&admin.principal.client_id).await?;
            tracing::info!("another node made the admin principal at the same time; this node's was removed");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    }
    core.ensure_owner(&instance.subscription_id, &admin.principal.object_id).await?;
    core.ensure_tenant_admin(&admin.principal.object_id).await?;
    let creds = Credentials {
        tenant_id: instance.tenant_id.clone(),
        client_id: admin.principal.client_id,
        client_secret: admin.secret,
        subscription_id: instance.subscription_id.clone(),
        endpoint: endpoint.to_string(),
        ca_file,
    };
    write_private(&path, &serde_json::to_vec_pretty(&creds)?)?;
    Ok(Some(path))
}
