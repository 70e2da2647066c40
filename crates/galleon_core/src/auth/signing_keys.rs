//! The token signing keys every node shares, kept in the metadata store as one setting. A
//! rotation adds a key that is published (JWKS, and every node's verifier after its next reload)
//! a minute before it signs, keeps the key signing now so its tokens stay valid, and drops the
//! ones before it. Nodes reload the set every few seconds.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use galleon_store::{Batch, Expect, Kind, StoreError, typed};
use serde::{Deserialize, Serialize};

use super::{TokenIssuer, generate_signing_key};
use crate::{Core, CoreError, CoreResult, now};

/// The setting's key.
pub const SETTING: &str = "token-signing-key";
/// How long a new key is published before it signs: longer than nodes take to reload it.
pub const PUBLISH_AHEAD_SECONDS: i64 = 60;
/// How often a node reloads the keys.
pub const RELOAD_SECONDS: u64 = 10;

/// The stored key set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredKeys {
    /// The single key of installations from before rotation (signs from the start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pkcs8: Option<String>,
    /// The keys, each with the unix second it signs from.
    #[serde(default)]
    keys: Vec<StoredKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredKey {
    pkcs8: String,
    active_from: i64,
}

impl StoredKeys {
    /// A set of one key, signing from the start.
    pub fn new(pkcs8: &[u8]) -> Self {
        Self { pkcs8: None, keys: vec![StoredKey { pkcs8: STANDARD.encode(pkcs8), active_from: 0 }] }
    }

    /// The keys as (PKCS#8, signs from).
    pub fn decode(&self) -> Result<Vec<(Vec<u8>, i64)>, String> {
        let legacy = self.pkcs8.iter().map(|k| StoredKey { pkcs8: k.clone(), active_from: 0 });
        legacy
            .chain(self.keys.iter().cloned())
            .map(|k| STANDARD.decode(&k.pkcs8).map(|b| (b, k.active_from)).map_err(|e| e.to_string()))
            .collect()
    }
}

/// What a rotation did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    /// The new key's id.
    pub kid: String,
    /// When it starts signing (unix seconds).
    pub active_from: i64,
    /// Every key id now published, oldest first.
    pub keys: Vec<String>,
}

fn corrupt(reason: impl std::fmt::Display) -> CoreError {
    CoreError::Store(StoreError::Corrupt { key: SETTING.into(), reason: reason.to_string() })
}

impl Core {
    /// Installs the stored key set when it changed since the last load; true when it did.
    pub async fn reload_signing_keys(&self) -> CoreResult<bool> {
        let Some(stored) = typed::get::<StoredKeys>(self.store(), Kind::Setting, SETTING).await? else {
            return Ok(false);
        };
        if stored.rev == self.keys_rev.load(Ordering::Acquire) {
            return Ok(false);
        }
        let issuer = TokenIssuer::with_keys(&stored.value.decode().map_err(corrupt)?).map_err(corrupt)?;
        *self.tokens.write().expect("token issuer lock") = Arc::new(issuer);
        self.keys_rev.store(stored.rev, Ordering::Release);
        Ok(true)
    }

    /// Stores `pkcs8` as the key set unless one is stored already, then loads the stored set.
    pub async fn ensure_signing_keys(&self, pkcs8: &[u8]) -> CoreResult<()> {
        let doc = typed::doc(Kind::Setting, SETTING, None, &StoredKeys::new(pkcs8));
        match self.store().apply(Batch::new().put(doc, Expect::Absent)).await {
            Ok(()) | Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        self.reload_signing_keys().await.map(drop)
    }

    /// Adds a new signing key, published now and signing from a minute on; the key signing now
    /// stays (its tokens keep working), older ones go. A rotation still waiting to take effect
    /// is refused (409): rotating again would drop keys whose tokens are still in use.
    pub async fn rotate_signing_key(&self) -> CoreResult<Rotation> {
        let Some(stored) = typed::get::<StoredKeys>(self.store(), Kind::Setting, SETTING).await? else {
            return Err(corrupt("no key set is stored"));
        };
        let t = now().unix_timestamp();
        let keys = stored.value.decode().map_err(corrupt)?;
        if let Some((_, from)) = keys.iter().find(|(_, from)| *from > t) {
            return Err(CoreError::Conflict {
                code: "RotationInProgress",
                message: format!("A new signing key starts signing in {} s; rotate again after that.", from - t),
            });
        }
        // The key signing now: the newest already active.
        let current = keys.iter().filter(|(_, from)| *from <= t).max_by_key(|(_, from)| *from).cloned();
        let fresh = generate_signing_key();
        let active_from = t + PUBLISH_AHEAD_SECONDS;
        let mut next = StoredKeys { pkcs8: None, keys: vec![] };
        for (pkcs8, from) in current.into_iter().chain(std::iter::once((fresh.clone(), active_from))) {
            next.keys.push(StoredKey { pkcs8: STANDARD.encode(pkcs8), active_from: from });
        }
        let doc = typed::doc(Kind::Setting, SETTING, None, &next);
        self.store().apply(Batch::new().put(doc, Expect::Rev(stored.rev))).await.map_err(|e| match e {
            StoreError::Conflict { .. } => CoreError::Conflict {
                code: "Conflict",
                message: "The signing keys were changed by another request. Retry.".into(),
            },
            e => e.into(),
        })?;
        self.reload_signing_keys().await?;
        let tokens = self.tokens();
        let kid = TokenIssuer::new(&fresh).map_err(corrupt)?.kids().remove(0);
        Ok(Rotation { kid, active_from, keys: tokens.kids() })
    }
}
