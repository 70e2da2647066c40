//! The CLI's profile: the login it uses, kept in `~/.galleon/profile.json` (or
//! `GALLEON_CONFIG_DIR`, as `AZURE_CONFIG_DIR` works for az), mode 0600.

use std::path::PathBuf;

use anyhow::Context;
use galleon_client::Login;

pub(super) fn dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("GALLEON_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").context("HOME is not set; set GALLEON_CONFIG_DIR")?;
    Ok(PathBuf::from(home).join(".galleon"))
}

/// Saves the login as the profile.
pub(crate) fn save(login: &Login) -> anyhow::Result<PathBuf> {
    let dir = dir()?;
    crate::files::private_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("profile.json");
    crate::files::write_private(&path, &serde_json::to_vec_pretty(login)?)?;
    Ok(path)
}

/// The saved login.
pub(crate) fn load() -> anyhow::Result<Login> {
    let path = dir()?.join("profile.json");
    let bytes = std::fs::read(&path).map_err(|_| anyhow::anyhow!("Please run 'galleon login' to setup account."))?;
    serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
}
