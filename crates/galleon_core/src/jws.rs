//! Compact JWS with Ed25519 (`alg: EdDSA`), as access tokens and signed provenance use it:
//! sign, verify against the key the header's `kid` names, and publish keys as JWKs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

/// Why a JWS does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsError {
    /// Not three base64url parts, or an undecodable header.
    Malformed,
    /// Not EdDSA, no known key for its `kid`, or a signature that does not verify.
    BadSignature,
}

/// A key's id: the start of the BLAKE3 hash of its public key.
pub fn kid_of(public_key: &[u8]) -> String {
    blake3::hash(public_key).to_hex()[..16].to_string()
}

/// Signs `payload` into `header.payload.signature` (header `alg`, `typ`, `kid`).
pub fn sign(pair: &Ed25519KeyPair, kid: &str, typ: &str, payload: &[u8]) -> String {
    let header = serde_json::json!({ "alg": "EdDSA", "typ": typ, "kid": kid });
    let signing_input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(payload));
    let sig = pair.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", B64.encode(sig.as_ref()))
}

/// The `kid` a JWS's header names.
pub fn kid(token: &str) -> Result<String, JwsError> {
    let h = token.split('.').next().ok_or(JwsError::Malformed)?;
    let header: serde_json::Value =
        serde_json::from_slice(&B64.decode(h).map_err(|_| JwsError::Malformed)?).map_err(|_| JwsError::Malformed)?;
    header.get("kid").and_then(|k| k.as_str()).map(str::to_string).ok_or(JwsError::BadSignature)
}

/// Verifies `token` with the public key `key_for` gives for its `kid`; returns the payload.
pub fn verify(token: &str, key_for: impl FnOnce(&str) -> Option<Vec<u8>>) -> Result<Vec<u8>, JwsError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwsError::Malformed);
    };
    let header: serde_json::Value =
        serde_json::from_slice(&B64.decode(h).map_err(|_| JwsError::Malformed)?).map_err(|_| JwsError::Malformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("EdDSA") {
        return Err(JwsError::BadSignature);
    }
    let sig = B64.decode(s).map_err(|_| JwsError::Malformed)?;
    let kid = header.get("kid").and_then(|k| k.as_str()).ok_or(JwsError::BadSignature)?;
    let key = key_for(kid).ok_or(JwsError::BadSignature)?;
    let signing_input = &token[..h.len() + 1 + p.len()];
    UnparsedPublicKey::new(&ED25519, &key)
        .verify(signing_input.as_bytes(), &sig)
        .map_err(|_| JwsError::BadSignature)?;
    B64.decode(p).map_err(|_| JwsError::Malformed)
}

/// A public key as a JWK.
pub fn jwk(kid: &str, public_key: &[u8]) -> serde_json::Value {
    serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid, "x": B64.encode(public_key) })
}

/// The raw public key of a JWK (`x`), if it is an Ed25519 one.
pub fn jwk_public_key(jwk: &serde_json::Value) -> Option<Vec<u8>> {
    (jwk["kty"] == "OKP" && jwk["crv"] == "Ed25519").then(|| B64.decode(jwk["x"].as_str()?).ok()).flatten()
}

/// The public key of a key pair.
pub fn public_key(pair: &Ed25519KeyPair) -> Vec<u8> {
    pair.public_key().as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_verifies_and_refuses_tampering() {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let (pk, kid) = (public_key(&pair), kid_of(&public_key(&pair)));
        let token = sign(&pair, &kid, "x", b"{\"a\":1}");
        assert_eq!(verify(&token, |k| (k == kid).then(|| pk.clone())).unwrap(), b"{\"a\":1}");
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        parts[1] = B64.encode(b"{\"a\":2}");
        assert_eq!(verify(&parts.join("."), |_| Some(pk.clone())), Err(JwsError::BadSignature));
        assert_eq!(verify(&token, |_| None), Err(JwsError::BadSignature));
        assert_eq!(verify("a.b", |_| None), Err(JwsError::Malformed));
        assert_eq!(jwk_public_key(&jwk(&kid, &pk)), Some(pk));
    }
}
