//! First start: the data directory, the instance's tenant and subscription, the token signing
//! key, the admin principal and `credentials.json` (mode 0600) that scripts and the CLI read.

use std::path::{Path, PathBuf};

use anyhow::Context;
use galleon_core::Core;
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

/// Takes the data directory for this process. One server per directory: the metadata store
/// caches what it reads and relies on being its only writer.
pub(crate) fn lock(dir: &Path) -> anyhow::Result<std::fs::File> {
    private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("galleon.lock");
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            anyhow::bail!("another galleon is already serving {} (it holds {})", dir.display(), path.display())
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// Creates the instance identity on first start.
pub(crate) fn instance(dir: &Path) -> anyhow::Result<Instance> {
    let path = dir.join("instance.json");
    if let Some(existing) = read_json(&path)? {
        return Ok(existing);
    }
    let instance =
        Instance { tenant_id: uuid::Uuid::new_v4().to_string(), subscription_id: uuid::Uuid::new_v4().to_string() };
    write_private(&path, &serde_json::to_vec_pretty(&instance)?)?;
    Ok(instance)
}

/// The token signing key, created on first start.
pub(crate) fn signing_key(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let keys = dir.join("keys");
    private_dir(&keys)?;
    let path = keys.join("token-signing.pk8");
    match std::fs::read(&path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = galleon_core::auth::generate_signing_key();
            write_private(&path, &key)?;
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}

/// Makes sure the subscription and an admin principal exist and `credentials.json` names them.
pub(crate) async fn admin(
    core: &Core,
    dir: &Path,
    instance: &Instance,
    endpoint: &str,
    ca_file: Option<&Path>,
) -> anyhow::Result<PathBuf> {
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
        return Ok(path);
    }
    let admin = core.create_principal("galleon admin").await?;
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
    Ok(path)
}
