//! ARM matches the fixed segments of a path case-insensitively (`resourceGroups` and
//! `resourcegroups`, `Microsoft.Compute` and `microsoft.compute`); routing is case-sensitive.
//! This rewrite runs before routing and lowercases exactly the fixed segments, leaving names
//! (which keep the user's casing) untouched.

use axum::http::Uri;

/// Rewrites an ARM path's fixed segments to lowercase; other paths are returned unchanged.
pub fn normalize_path(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    // segments[0] is "" (leading slash). Tenant-root paths start with `providers` itself
    // (`/providers/Microsoft.Authorization/roleAssignments/…`).
    let root = segments.len() >= 2 && segments[1].eq_ignore_ascii_case("providers");
    if segments.len() < 2 || !(segments[1].eq_ignore_ascii_case("subscriptions") || root) {
        return None;
    }
    let mut out: Vec<String> = Vec::with_capacity(segments.len());
    // Before "providers", fixed words sit at odd positions (subscriptions, resourceGroups,
    // providers); after it come the namespace and then type/name pairs.
    let mut providers_at: Option<usize> = root.then_some(1);
    for (i, seg) in segments.iter().enumerate() {
        let lower = seg.to_ascii_lowercase();
        let fixed = match providers_at {
            Some(p) => i == p + 1 || (i >= p + 2 && (i - p - 2) % 2 == 0),
            None => i % 2 == 1,
        } || (root && i == 1);
        // A nested `providers` (…/galleries/g/providers/Microsoft.Authorization/…) starts over.
        if fixed && lower == "providers" && !(root && i == 1) {
            providers_at = Some(i);
        }
        out.push(if fixed { lower } else { (*seg).to_string() });
    }
    Some(out.join("/"))
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
