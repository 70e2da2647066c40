//! `$skiptoken`: the opaque cursor of a list's `nextLink`. It carries the key to resume after,
//! hex-encoded behind a version letter, so a client cannot mistake it for an id and a token that
//! galleon did not make is refused with 400 instead of silently listing from somewhere.

use axum::http::StatusCode;

use crate::error::ApiError;

const PREFIX: char = 'k';

/// The token for "resume after `key`".
pub(crate) fn encode(key: &str) -> String {
    let mut out = String::with_capacity(1 + key.len() * 2);
    out.push(PREFIX);
    for b in key.bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The key a token resumes after; 400 `InvalidParameter` for anything galleon did not make.
pub(crate) fn decode(token: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "The value of '$skiptoken' is not valid. Use the nextLink of the previous page as it is.",
        )
    };
    let hex = token.strip_prefix(PREFIX).ok_or_else(bad)?;
    if hex.is_empty() || !hex.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    String::from_utf8(bytes).ok().filter(|k| k.starts_with('/')).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_junk() {
        let key = "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/galleries/g";
        assert_eq!(decode(&encode(key)).unwrap(), key);
        for junk in ["", "junk", "k", "k0", "kzz", "k2f2", "'; DROP TABLE docs; --", key] {
            assert!(decode(junk).is_err(), "{junk}");
        }
    }
}
