//! Service principals: a client id and a secret, stored as a salted BLAKE3 hash. Secrets are 256
//! random bits, so a fast keyed hash is enough; a slow password hash would only slow logins.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use galleon_store::typed;
use galleon_store::{Batch, Expect, Kind};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use super::AuthError;
use super::tokens::Claims;
use crate::{Core, CoreError, CoreResult, now};

/// A stored principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// Application (client) id.
    pub client_id: String,
    /// Object id.
    pub object_id: String,
    /// Display name.
    pub display_name: String,
    /// Hex salt.
    pub salt: String,
    /// Hex BLAKE3 of salt and secret.
    pub secret_hash: String,
}

/// A principal just created, with its secret (shown once, never stored).
#[derive(Debug, Clone)]
pub struct NewPrincipal {
    /// The principal.
    pub principal: Principal,
    /// The secret.
    pub secret: String,
}

/// `n` bytes from the system's secure randomness.
pub(crate) fn random(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    SystemRandom::new().fill(&mut buf).expect("system randomness");
    buf
}

fn hash(salt: &str, secret: &str) -> blake3::Hash {
    let mut h = blake3::Hasher::new_derive_key("galleon 2026 principal secret");
    h.update(salt.as_bytes());
    h.update(secret.as_bytes());
    h.finalize()
}

/// A fresh secret with its salt and salted hash: `(secret, salt, hash)`.
fn new_secret() -> (String, String, String) {
    let salt = blake3::Hash::from(<[u8; 32]>::try_from(random(32)).expect("32 bytes")).to_hex().to_string();
    // Never a leading '-': command lines would read the secret as an option.
    let secret = loop {
        let secret = B64.encode(random(32));
        if !secret.starts_with('-') {
            break secret;
        }
    };
    let digest = hash(&salt, &secret).to_hex().to_string();
    (secret, salt, digest)
}

fn key(client_id: &str) -> String {
    client_id.to_ascii_lowercase()
}

/// How long an access token lives.
const TOKEN_LIFETIME_SECONDS: i64 = 3599;

impl Core {
    /// Creates a principal with a fresh secret.
    pub async fn create_principal(&self, display_name: &str) -> CoreResult<NewPrincipal> {
        let (secret, salt, secret_hash) = new_secret();
        let principal = Principal {
            client_id: uuid::Uuid::new_v4().to_string(),
            object_id: uuid::Uuid::new_v4().to_string(),
            display_name: display_name.to_string(),
            secret_hash,
            salt,
        };
        let doc = typed::doc(Kind::Principal, &key(&principal.client_id), None, &principal);
        self.store().apply(Batch::new().put(doc, Expect::Absent)).await?;
        Ok(NewPrincipal { principal, secret })
    }

    /// Every principal (without secrets: only hashes are stored).
    pub async fn list_principals(&self) -> CoreResult<Vec<Principal>> {
        Ok(typed::list::<Principal>(self.store(), Kind::Principal, "", None, 100_000)
            .await?
            .into_iter()
            .map(|(_, p)| p.value)
            .collect())
    }

    /// Gives a principal a new secret (the old one stops working); `None` if there is no such principal.
    pub async fn reset_secret(&self, client_id: &str) -> CoreResult<Option<NewPrincipal>> {
        let Some(found) = typed::get::<Principal>(self.store(), Kind::Principal, &key(client_id)).await? else {
            return Ok(None);
        };
        let mut principal = found.value;
        let secret;
        (secret, principal.salt, principal.secret_hash) = new_secret();
        let doc = typed::doc(Kind::Principal, &key(client_id), None, &principal);
        self.store().apply(Batch::new().put(doc, Expect::Rev(found.rev))).await?;
        Ok(Some(NewPrincipal { principal, secret }))
    }

    /// Deletes a principal and its role assignments; false if there was none.
    pub async fn delete_principal(&self, client_id: &str) -> CoreResult<bool> {
        let Some(found) = typed::get::<Principal>(self.store(), Kind::Principal, &key(client_id)).await? else {
            return Ok(false);
        };
        let mut batch = Batch::new().delete(Kind::Principal, key(client_id), Expect::Any);
        for a in self.assignments_of(&found.value.object_id).await? {
            batch = batch.delete(Kind::RoleAssignment, a.id.to_ascii_lowercase(), Expect::Any);
        }
        self.store().apply(batch).await?;
        Ok(true)
    }

    /// The object id of the principal with this client id.
    pub async fn principal_object_id(&self, client_id: &str) -> CoreResult<Option<String>> {
        Ok(typed::get::<Principal>(self.store(), Kind::Principal, &key(client_id)).await?.map(|p| p.value.object_id))
    }

    /// Whether a principal with this client id exists.
    pub async fn principal_exists(&self, client_id: &str) -> CoreResult<bool> {
        Ok(self.store().get(Kind::Principal, &key(client_id)).await?.is_some())
    }

    /// Client-credentials grant: checks the secret and returns `(access_token, expires_in)`.
    /// An unknown client and a wrong secret get the same answer.
    /// `source` is the caller's address (failed attempts are limited per client id and per source).
    pub async fn issue_token(
        &self,
        tenant: &str,
        client_id: &str,
        secret: &str,
        scope: &str,
        issuer: &str,
        source: &str,
    ) -> CoreResult<(String, i64)> {
        let t = now().unix_timestamp();
        let keys = [format!("client:{}", client_id.to_ascii_lowercase()), format!("source:{source}")];
        // This node's counts first (no database work for a key it already refuses), then every
        // node's.
        if keys.iter().any(|k| !self.token_failures.allowed(k, t)) || self.shared_failures_exceeded(&keys, t).await? {
            return Err(AuthError::RateLimited.into());
        }
        let result = self.check_secret_and_sign(tenant, client_id, secret, scope, issuer).await;
        if matches!(&result, Err(CoreError::Unauthenticated(AuthError::InvalidClient))) {
            for k in &keys {
                self.token_failures.failed(k, t);
            }
            self.record_shared_failure(&keys, t).await?;
        }
        result
    }

    async fn check_secret_and_sign(
        &self,
        tenant: &str,
        client_id: &str,
        secret: &str,
        scope: &str,
        issuer: &str,
    ) -> CoreResult<(String, i64)> {
        let stored = typed::get::<Principal>(self.store(), Kind::Principal, &key(client_id)).await?;
        let ok = stored.as_ref().is_some_and(|p| {
            let expected = blake3::Hash::from_hex(&p.value.secret_hash).ok();
            expected == Some(hash(&p.value.salt, secret))
        });
        if !ok || !tenant.eq_ignore_ascii_case(&self.config().tenant_id) {
            return Err(AuthError::InvalidClient.into());
        }
        let p = stored.expect("checked above").value;
        // `https://management.core.windows.net//.default` asks for `https://management.core.windows.net/`.
        let audience = scope.split_whitespace().next().unwrap_or_default();
        let audience =
            audience.strip_suffix("/.default").or_else(|| audience.strip_suffix(".default")).unwrap_or(audience);
        let t = now().unix_timestamp();
        let claims = Claims {
            aud: audience.to_string(),
            iss: issuer.to_string(),
            iat: t,
            nbf: t,
            exp: t + TOKEN_LIFETIME_SECONDS,
            appid: p.client_id.clone(),
            oid: p.object_id.clone(),
            sub: p.object_id,
            tid: self.config().tenant_id.clone(),
        };
        if super::Audience::of(&claims.aud, super::issuer_base(issuer)).is_none() {
            return Err(AuthError::UnknownResource(audience.to_string()).into());
        }
        Ok((self.tokens().sign(&claims), TOKEN_LIFETIME_SECONDS))
    }

    /// Checks a bearer token meant for galleon's Graph surface at `base_url` (its own URL, or
    /// Microsoft Graph's) and returns its claims.
    pub fn authenticate_graph(&self, token: &str, base_url: &str) -> CoreResult<Claims> {
        self.tokens()
            .verify_if(token, now().unix_timestamp(), |aud| {
                super::Audience::of(aud, Some(base_url)) == Some(super::Audience::Graph)
            })
            .map_err(|e| CoreError::from(AuthError::from(e)))
    }

    /// Fresh ARM claims for a principal (a resumed deployment acts as the one who started it).
    pub fn claims_for(&self, appid: &str, oid: &str) -> Claims {
        let t = now().unix_timestamp();
        Claims {
            aud: super::AUDIENCES[1].to_string(),
            iss: format!("galleon/{}/v2.0", self.config().tenant_id),
            iat: t,
            nbf: t,
            exp: t + TOKEN_LIFETIME_SECONDS,
            appid: appid.to_string(),
            oid: oid.to_string(),
            sub: oid.to_string(),
            tid: self.config().tenant_id.clone(),
        }
    }

    /// Checks an ARM bearer token and returns its claims. Besides Azure's ARM audiences, the
    /// URL the token was issued at (its issuer's base) is an ARM audience.
    pub fn authenticate(&self, token: &str) -> CoreResult<Claims> {
        let at = now().unix_timestamp();
        let claims = self.tokens().verify_if(token, at, |_| true).map_err(AuthError::from)?;
        match super::Audience::of(&claims.aud, super::issuer_base(&claims.iss)) {
            Some(super::Audience::Arm) => Ok(claims),
            _ => Err(AuthError::from(super::tokens::TokenError::WrongAudience(claims.aud)).into()),
        }
    }
}
