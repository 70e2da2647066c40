//! ARM matches the fixed segments of a path case-insensitively (`resourceGroups` and
//! `resourcegroups`, `Microsoft.Compute` and `microsoft.compute`); routing is case-sensitive.
//! This rewrite runs before routing and lowercases exactly the fixed segments, leaving names
//! (which keep the user's casing) untouched.

use axum::http::Uri;

/// Rewrites an ARM path's fixed segments to lowercase; other paths are returned unchanged.
pub fn normalize_path(path: &str) -> Option<String> {
    // The first segment is "" (leading slash). Tenant-root paths start with `providers` itself
    // (`/providers/Microsoft.Authorization/roleAssignments/…`).
    let first = path.split('/').nth(1)?;
    let root = first.eq_ignore_ascii_case("providers");
    if !(first.eq_ignore_ascii_case("subscriptions") || root) {
        return None;
    }
    // One buffer, fixed words lowercased in place: every request goes through here.
    let mut out = String::with_capacity(path.len());
    // Before "providers", fixed words sit at odd positions (subscriptions, resourceGroups,
    // providers); after it come the namespace and then type/name pairs.
    let mut providers_at: Option<usize> = root.then_some(1);
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let fixed = match providers_at {
            Some(p) => i == p + 1 || (i >= p + 2 && (i - p - 2) % 2 == 0),
            None => i % 2 == 1,
        } || (root && i == 1);
        let start = out.len();
        out.push_str(seg);
        if fixed {
            out[start..].make_ascii_lowercase();
            // A nested `providers` (…/galleries/g/providers/Microsoft.Authorization/…) starts over.
            if &out[start..] == "providers" && !(root && i == 1) {
                providers_at = Some(i);
            }
        }
    }
    Some(out)
}

/// Collapses repeated slashes (`//metadata/endpoints`, as clients that join a base URL ending in
/// `/` with a path starting with `/` send).
fn collapse_slashes(path: &str) -> Option<String> {
    path.contains("//").then(|| {
        let mut out = String::with_capacity(path.len());
        for c in path.chars() {
            if !(c == '/' && out.ends_with('/')) {
                out.push(c);
            }
        }
        out
    })
}

/// Applies [`normalize_path`] (and slash collapsing) to a URI, keeping its query.
pub fn normalize_uri(uri: &Uri) -> Option<Uri> {
    let collapsed = collapse_slashes(uri.path());
    let raw = collapsed.as_deref().unwrap_or(uri.path());
    let path = normalize_path(raw).or(collapsed)?;
    if path == uri.path() {
        return None;
    }
    let pq = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = pq.parse().ok();
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_fixed_segments_only() {
        let p = "/Subscriptions/SUB/resourceGroups/MyRG/providers/Microsoft.Compute/galleries/MyGal/Images/Img/Versions/1.0.0";
        assert_eq!(
            normalize_path(p).unwrap(),
            "/subscriptions/SUB/resourcegroups/MyRG/providers/microsoft.compute/galleries/MyGal/images/Img/versions/1.0.0"
        );
        assert_eq!(normalize_path("/subscriptions/S/resourcegroups/RG").unwrap(), "/subscriptions/S/resourcegroups/RG");
        assert_eq!(
            normalize_path("/Providers/Microsoft.Authorization/roleAssignments/ID").unwrap(),
            "/providers/microsoft.authorization/roleassignments/ID"
        );
        assert_eq!(
            normalize_path("/subscriptions/S/providers/Microsoft.Compute/locations/WestUS/capsOperations/ID").unwrap(),
            "/subscriptions/S/providers/microsoft.compute/locations/WestUS/capsoperations/ID"
        );
        assert_eq!(normalize_path("/healthz"), None);
        assert_eq!(
            normalize_path("/subscriptions/S/resourceGroups/R/providers/Microsoft.Compute/galleries/G/providers/Microsoft.Authorization/roleAssignments/X").unwrap(),
            "/subscriptions/S/resourcegroups/R/providers/microsoft.compute/galleries/G/providers/microsoft.authorization/roleassignments/X"
        );
        assert_eq!(
            normalize_uri(&"//metadata/endpoints?api-version=1".parse().unwrap()).unwrap(),
            "/metadata/endpoints?api-version=1"
        );
        assert_eq!(normalize_uri(&"/subscriptions//S".parse().unwrap()).unwrap().path(), "/subscriptions/S");
        assert_eq!(normalize_uri(&"/healthz".parse().unwrap()), None);
        // A resource group called "providers" stays a name.
        assert_eq!(
            normalize_path("/subscriptions/S/resourceGroups/Providers").unwrap(),
            "/subscriptions/S/resourcegroups/Providers"
        );
    }
}
