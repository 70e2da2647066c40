//! ARM paths the portal builds: only from segments the model's naming rules accept, so a typed
//! name can never add a query, a fragment or another path segment. A refused name comes back as
//! an ARM-style failure on its field, with the model's own message.

use galleon_model::names::{validate_gallery_name, validate_image_definition_name, validate_resource_group_name};
use galleon_model::resource_id::ResourceId;
use galleon_model::{GroupRef, Invalid, VersionNumber};

use super::arm::ArmFailure;

fn failure(e: Invalid, target: &str) -> ArmFailure {
    ArmFailure {
        status: axum::http::StatusCode::BAD_REQUEST,
        code: e.code.as_str().into(),
        message: e.message,
        target: Some(target.into()),
    }
}

/// Checks `name` with `rule`; the failure is on `target` (the ARM name of the form's field).
pub(crate) fn checked(name: &str, target: &str, rule: fn(&str) -> Result<(), Invalid>) -> Result<(), ArmFailure> {
    rule(name).map_err(|e| failure(e, target))
}

/// A subscription id as the form sent it: a GUID.
pub(crate) fn subscription(value: &str) -> Result<(), ArmFailure> {
    uuid::Uuid::parse_str(value).map(drop).map_err(|_| ArmFailure {
        status: axum::http::StatusCode::BAD_REQUEST,
        code: "InvalidSubscriptionId".into(),
        message: format!("The provided subscription identifier '{value}' is malformed or invalid."),
        target: Some("subscription".into()),
    })
}

/// A resource group's id from checked parts.
pub(crate) fn group_id(sub: &str, group: &str) -> Result<String, ArmFailure> {
    subscription(sub)?;
    checked(group, "resourceGroup", validate_resource_group_name)?;
    Ok(GroupRef::new(sub, group).id())
}

/// The names in an id of a `Microsoft.Compute` resource with exactly the types `types`
/// (subscription, group, then one name per type); `None` for any other id.
fn parts(id: &str, types: &[&str]) -> Option<Vec<String>> {
    let parsed = ResourceId::parse(id)?;
    let same_types = parsed.segments.len() == types.len()
        && parsed.segments.iter().zip(types).all(|((t, _), want)| t.eq_ignore_ascii_case(want));
    if !parsed.namespace.eq_ignore_ascii_case("Microsoft.Compute") || !same_types {
        return None;
    }
    let names = parsed.segments.into_iter().map(|(_, n)| n);
    Some([parsed.subscription, parsed.resource_group].into_iter().chain(names).collect())
}

/// A gallery id from a link, rebuilt from checked names; `None` if it is not one.
pub(crate) fn gallery_id(id: &str) -> Option<String> {
    let n = parts(id, &["galleries"])?;
    (subscription(&n[0]).is_ok() && validate_resource_group_name(&n[1]).is_ok() && validate_gallery_name(&n[2]).is_ok())
        .then(|| GroupRef::new(&n[0], &n[1]).gallery(&n[2]).id())
}

/// An image definition id from a link, rebuilt from checked names; `None` if it is not one.
pub(crate) fn definition_id(id: &str) -> Option<String> {
    let n = parts(id, &["galleries", "images"])?;
    (subscription(&n[0]).is_ok()
        && validate_resource_group_name(&n[1]).is_ok()
        && validate_gallery_name(&n[2]).is_ok()
        && validate_image_definition_name(&n[3]).is_ok())
    .then(|| GroupRef::new(&n[0], &n[1]).gallery(&n[2]).image(&n[3]).id())
}

/// A version name: `Major.Minor.Patch`.
pub(crate) fn version_name(name: &str) -> Result<(), ArmFailure> {
    name.parse::<VersionNumber>().map(drop).map_err(|e| failure(e, "galleryImageVersionName"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: &str = "/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/rg/providers/Microsoft.Compute/galleries/gal";

    #[test]
    fn only_ids_of_checked_names_pass() {
        assert_eq!(gallery_id(G).as_deref(), Some(G));
        assert!(definition_id(&format!("{G}/images/img")).is_some());
        assert!(gallery_id(&format!("{G}/images/x")).is_none(), "a definition's id is not a gallery's");
        for bad in [
            format!("{G}?api-version=1"),
            G.replace("/gal", "/g#al"),
            G.replace("/rg/", "/r?g/"),
            format!("{G}/images/my image"),
            format!("{G}/images/x?y=1"),
        ] {
            assert!(gallery_id(&bad).is_none(), "{bad}");
            assert!(definition_id(&bad).is_none(), "{bad}");
        }
        assert!(
            checked("myImage?api-version=2024-03-03&x=", "galleryImageName", validate_image_definition_name).is_err()
        );
        assert!(version_name("1.0.0").is_ok() && version_name("1.0.0?x").is_err());
    }
}
