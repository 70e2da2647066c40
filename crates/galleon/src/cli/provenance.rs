//! Signed provenance from the CLI: `sig image-version verify` (the server re-hashes every
//! replica and checks the signature) and `disk download --verify` (the CLI checks the JWS
//! itself, with the public keys anyone can fetch, against the digest of the file it wrote).

use bytes::Bytes;
use hyper::Method;
use serde_json::{Value, json};

use super::{COMPUTE, Session};

/// Checks a downloaded disk's digest against its version's signed provenance.
pub(super) async fn check_download(s: &Session, disk: &Value, digest: &str) -> anyhow::Result<Value> {
    let reference = &disk["properties"]["creationData"]["galleryImageReference"];
    let id = reference["id"].as_str().unwrap_or_default();
    let lower = id.to_ascii_lowercase();
    let named = lower.rsplit_once("/versions/").is_some_and(|(_, v)| v != "latest");
    anyhow::ensure!(
        named,
        "(NotVerifiable) --verify needs a disk made from an image version id; this disk was made from '{}'. \\
         Check the version itself with `galleon sig image-version verify`.",
        if id.is_empty() { "no image version" } else { id }
    );
    let provenance = s.get(&format!("{id}/provenance"), COMPUTE).await?;
    let base = s.client.transport().endpoint().to_string();
    let (_, keys) =
        s.client.blob(Method::GET, &format!("{base}/.well-known/galleon/provenance-keys"), &[], Bytes::new()).await?;
    let keys: Value = serde_json::from_slice(&keys)?;
    let jws = provenance["jws"].as_str().unwrap_or_default();
    let key_for = |kid: &str| {
        keys["keys"].as_array()?.iter().find(|k| k["kid"] == kid).and_then(galleon_core::jws::jwk_public_key)
    };
    let payload = galleon_core::jws::verify(jws, key_for).map_err(|e| {
        anyhow::anyhow!("(ProvenanceInvalid) The signature of {id}'s provenance does not verify: {e:?}.")
    })?;
    let statement: galleon_core::Statement = serde_json::from_slice(&payload)?;
    let lun = reference["lun"].as_i64().map(|l| l as i32);
    let signed = statement.disks.iter().find(|d| d.lun == lun).map(|d| d.digest.as_str());
    anyhow::ensure!(
        signed == Some(digest),
        "(ProvenanceMismatch) The image's digest is {digest}; {id}'s signed provenance says {}.",
        signed.unwrap_or("nothing for this disk")
    );
    Ok(json!({
        "verified": true,
        "version": id,
        "keyId": galleon_core::jws::kid(jws).unwrap_or_default(),
        "digest": digest,
        "createdBy": statement.created_by,
        "createdAt": statement.created_at,
    }))
}

/// `sig image-version verify`: waits for the server's verification and fails unless it passed.
pub(super) async fn verify_version(s: &Session, version_path: &str) -> anyhow::Result<Value> {
    let accepted = s.client.call(Method::POST, &format!("{version_path}/verify?{COMPUTE}"), None).await?;
    let status = s.client.wait(&accepted).await?;
    let report = status.output().clone();
    if report["verified"] != true {
        s.print(&report)?;
        anyhow::bail!("(NotVerified) The image version does not verify: see the report above.");
    }
    Ok(report)
}
