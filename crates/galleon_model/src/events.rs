//! Event subscriptions (a galleon extension): webhooks that receive CloudEvents 1.0 for image
//! versions. What a subscription may name: an http(s) endpoint (plain http only to this machine,
//! no user info), a name, and a filter of known event types.

use crate::Invalid;

/// The event types galleon sends.
pub const EVENT_TYPES: &[&str] = &[
    "galleon.imageVersion.created",
    "galleon.imageVersion.regionReplicated",
    "galleon.imageVersion.regionFailed",
    "galleon.imageVersion.completed",
    "galleon.imageVersion.deleted",
    "galleon.imageVersion.endOfLifeReached",
    "galleon.test",
];

/// Checks a subscription's name (as ARM child names: 3–64 letters, digits, `-` and `_`).
pub fn check_name(name: &str) -> Result<(), Invalid> {
    let ok = (3..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Invalid::param(
            "eventSubscriptionName",
            format!("The event subscription name '{name}' must be 3 to 64 letters, digits, '-' or '_'."),
        ))
    }
}

/// Checks an endpoint URL: https anywhere, http only to a loopback host; no user info, no
/// fragment.
pub fn check_endpoint(url: &str) -> Result<(), Invalid> {
    let bad = |why: &str| Invalid::param("properties.destination.endpointUrl", format!("The endpoint '{url}' {why}."));
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("is not an absolute http(s) URL"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(bad("has no host"));
    }
    if authority.contains('@') {
        return Err(bad("must not carry user information"));
    }
    if url.contains('#') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not carry a fragment, spaces or control characters"));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    let loopback =
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(bad("must use https (plain http is allowed to this machine only)")),
        _ => Err(bad("must use https")),
    }
}

/// Checks an event type filter.
pub fn check_event_types(types: &[String]) -> Result<(), Invalid> {
    match types.iter().find(|t| !EVENT_TYPES.contains(&t.as_str())) {
        Some(t) => Err(Invalid::param(
            "properties.filter.includedEventTypes",
            format!("'{t}' is not an event type galleon sends ({}).", EVENT_TYPES.join(", ")),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_names_and_types_are_checked() {
        for ok in
            ["https://hooks.example.org/x?y=1", "http://127.0.0.1:9000/hook", "http://localhost/h", "http://[::1]:80/"]
        {
            assert!(check_endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.org/hook",
            "https://user:pw@example.org/",
            "ftp://example.org/",
            "https:///x",
            "example.org/hook",
            "https://example.org/#frag",
            "http://127.0.0.1.evil.org/",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
        assert!(check_name("hooks-1").is_ok() && check_name("a").is_err() && check_name("a/b").is_err());
        assert!(check_event_types(&["galleon.imageVersion.created".into()]).is_ok());
        assert!(check_event_types(&["Microsoft.Storage.BlobCreated".into()]).is_err());
    }
}
