//! Access tokens: compact JWTs signed with Ed25519 (`alg: EdDSA`), with the public key
//! published as a JWKS. Verification results are cached by token so the hot path of a GET is
//! a hash lookup, not a signature check.

use std::collections::HashMap;
use std::sync::Mutex;

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};

use super::AUDIENCES;

/// What a token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Audience (the resource the token is for).
    pub aud: String,
    /// Issuer URL.
    pub iss: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
    /// Application (client) id.
    pub appid: String,
    /// Object id of the principal.
    pub oid: String,
    /// Subject (the object id).
    pub sub: String,
    /// Tenant id.
    pub tid: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not three base64url parts, or undecodable JSON.
    #[error("The access token is malformed.")]
    Malformed,
    /// The signature does not verify.
    #[error("The access token has an invalid signature.")]
    BadSignature,
    /// Past `exp` (or before `nbf`).
    #[error("The access token has expired or is not yet valid.")]
    Expired,
    /// For another audience.
    #[error("The access token has an invalid audience '{0}'.")]
    WrongAudience(String),
}

const CACHE_LIMIT: usize = 10_000;

/// One key of the set: its id, the pair, and from when it signs (unix seconds).
struct SigningKey {
    kid: String,
    pair: Ed25519KeyPair,
    active_from: i64,
}

/// Signs and verifies access tokens. It holds a set of keys: every key verifies (and is
/// published in the JWKS), and the newest key whose `active_from` has passed signs. A rotation
/// publishes the new key before it signs, so every node knows it by then.
pub struct TokenIssuer {
    keys: Vec<SigningKey>,
    cache: Mutex<HashMap<String, Claims>>,
}

/// A new Ed25519 signing key as PKCS#8 bytes.
pub fn generate_signing_key() -> Vec<u8> {
    Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("system randomness").as_ref().to_vec()
}

impl TokenIssuer {
    /// One PKCS#8 Ed25519 key, signing from the start.
    pub fn new(pkcs8: &[u8]) -> Result<Self, String> {
        Self::with_keys(&[(pkcs8.to_vec(), 0)])
    }

    /// A set of PKCS#8 Ed25519 keys, each with the unix second it signs from.
    pub fn with_keys(keys: &[(Vec<u8>, i64)]) -> Result<Self, String> {
        let mut set = keys
            .iter()
            .map(|(pkcs8, active_from)| {
                let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|e| e.to_string())?;
                Ok(SigningKey { kid: kid_of(&pair), pair, active_from: *active_from })
            })
            .collect::<Result<Vec<_>, String>>()?;
        if set.is_empty() {
            return Err("no signing key".into());
        }
        set.sort_by_key(|k| k.active_from);
        Ok(Self { keys: set, cache: Mutex::new(HashMap::new()) })
    }

    /// The ids of the keys, oldest first.
    pub fn kids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.kid.clone()).collect()
    }

    /// The key that signs now: the newest already active (the oldest if none is yet).
    fn signing_key(&self) -> &SigningKey {
        let t = time::OffsetDateTime::now_utc().unix_timestamp();
        self.keys.iter().rev().find(|k| k.active_from <= t).unwrap_or(&self.keys[0])
    }

    /// Signs `claims` into a compact JWT.
    pub fn sign(&self, claims: &Claims) -> String {
        let key = self.signing_key();
        crate::jws::sign(&key.pair, &key.kid, "JWT", &serde_json::to_vec(claims).expect("claims encode"))
    }

    /// Verifies an ARM token at time `now` (unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        self.verify_for(token, now, AUDIENCES)
    }

    /// Verifies a token meant for one of `audiences` at time `now` (unix seconds).
    pub fn verify_for(&self, token: &str, now: i64, audiences: &[&str]) -> Result<Claims, TokenError> {
        self.verify_if(token, now, |aud| audiences.contains(&aud))
    }

    /// Verifies a token whose audience `accepts` at time `now` (unix seconds).
    pub fn verify_if(&self, token: &str, now: i64, accepts: impl Fn(&str) -> bool) -> Result<Claims, TokenError> {
        let cached = self.cache.lock().ok().and_then(|c| c.get(token).cloned());
        let claims = match cached {
            Some(c) => c,
            None => {
                let c = self.verify_signature(token)?;
                if let Ok(mut cache) = self.cache.lock() {
                    if cache.len() >= CACHE_LIMIT {
                        cache.retain(|_, v| v.exp > now);
                        if cache.len() >= CACHE_LIMIT {
                            cache.clear();
                        }
                    }
                    cache.insert(token.to_string(), c.clone());
                }
                c
            }
        };
        // Checked on every use: the cache holds tokens of every audience.
        if !accepts(&claims.aud) {
            return Err(TokenError::WrongAudience(claims.aud));
        }
        if now >= claims.exp || now + 300 < claims.nbf {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn verify_signature(&self, token: &str) -> Result<Claims, TokenError> {
        // The key the header names; a token naming no key or an unknown one does not verify.
        let key_for = |kid: &str| self.keys.iter().find(|k| k.kid == kid).map(|k| crate::jws::public_key(&k.pair));
        let payload = crate::jws::verify(token, key_for).map_err(|e| match e {
            crate::jws::JwsError::Malformed => TokenError::Malformed,
            crate::jws::JwsError::BadSignature => TokenError::BadSignature,
        })?;
        serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)
    }

    /// The public keys as a JSON Web Key Set (a key about to sign is published already).
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> =
            self.keys.iter().map(|k| crate::jws::jwk(&k.kid, &crate::jws::public_key(&k.pair))).collect();
        serde_json::json!({ "keys": keys })
    }
}

/// A key's id: the start of the BLAKE3 hash of its public key.
fn kid_of(pair: &Ed25519KeyPair) -> String {
    crate::jws::kid_of(pair.public_key().as_ref())
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    use super::*;

    fn claims(aud: &str, exp: i64) -> Claims {
        Claims {
            aud: aud.into(),
            iss: "https://127.0.0.1:8443/t/v2.0".into(),
            iat: 100,
            nbf: 100,
            exp,
            appid: "app".into(),
            oid: "oid".into(),
            sub: "oid".into(),
            tid: "t".into(),
        }
    }

    #[test]
    fn signs_and_verifies() {
        let issuer = TokenIssuer::new(&generate_signing_key()).unwrap();
        let token = issuer.sign(&claims(AUDIENCES[0], 1000));
        assert_eq!(issuer.verify(&token, 500).unwrap().appid, "app");
        // Cached path gives the same answer, and still enforces expiry.
        assert!(issuer.verify(&token, 500).is_ok());
        assert_eq!(issuer.verify(&token, 1000), Err(TokenError::Expired));
    }

    #[test]
    fn refuses_tampering_other_keys_and_audiences() {
        let issuer = TokenIssuer::new(&generate_signing_key()).unwrap();
        let token = issuer.sign(&claims(AUDIENCES[0], 1000));
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        let mut forged = claims(AUDIENCES[0], 1000);
        forged.appid = "admin".into();
        parts[1] = B64.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(issuer.verify(&parts.join("."), 500), Err(TokenError::BadSignature));
        let other = TokenIssuer::new(&generate_signing_key()).unwrap();
        assert_eq!(other.verify(&token, 500), Err(TokenError::BadSignature));
        assert_eq!(issuer.verify("abc", 500), Err(TokenError::Malformed));
        assert_eq!(issuer.verify("a.b.c", 500), Err(TokenError::Malformed));
        let wrong = issuer.sign(&claims("https://storage.azure.com/", 1000));
        assert!(matches!(issuer.verify(&wrong, 500), Err(TokenError::WrongAudience(_))));
    }

    #[test]
    fn a_key_set_signs_with_the_newest_active_key_and_verifies_with_all() {
        let (old, new, later) = (generate_signing_key(), generate_signing_key(), generate_signing_key());
        let before = TokenIssuer::new(&old).unwrap();
        let old_token = before.sign(&claims(AUDIENCES[0], 1000));
        let far = i64::MAX / 2;
        let set = TokenIssuer::with_keys(&[(old.clone(), 0), (new.clone(), 1), (later, far)]).unwrap();
        assert_eq!(set.jwks()["keys"].as_array().unwrap().len(), 3, "published before it signs");
        let token = set.sign(&claims(AUDIENCES[0], 1000));
        let kid = |t: &str| {
            let h: serde_json::Value =
                serde_json::from_slice(&B64.decode(t.split('.').next().unwrap()).unwrap()).unwrap();
            h["kid"].as_str().unwrap().to_string()
        };
        assert_eq!(kid(&token), set.kids()[1], "the newest active key signs");
        assert!(set.verify(&old_token, 500).is_ok(), "tokens of the previous key still verify");
        // Without the old key, its tokens no longer verify.
        let rotated = TokenIssuer::with_keys(&[(new, 0)]).unwrap();
        assert_eq!(rotated.verify(&old_token, 500), Err(TokenError::BadSignature));
        assert!(rotated.verify(&token, 500).is_ok());
    }
}
