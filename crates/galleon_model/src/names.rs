//! Naming rules for resource groups, galleries, image definitions and identifier parts
//! (design §3, arm-api.md §4). Names are case-insensitive and case-preserving: `key` gives the
//! canonical form every comparison uses.

use crate::{Invalid, InvalidCode};

/// The canonical comparison key of a name or id: ASCII lowercase.
pub fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn name_error(target: &str, message: String) -> Invalid {
    Invalid { code: InvalidCode::InvalidResourceName, target: target.to_string(), message }
}

// Each rule below also as an HTML `pattern` (a JavaScript regex, `v` flag), for forms that check
// before they submit; the functions stay the rule the API enforces.

/// [`validate_gallery_name`] as a form pattern.
pub const GALLERY_NAME_PATTERN: &str = "[A-Za-z0-9]([A-Za-z0-9._]{0,78}[A-Za-z0-9])?";
/// [`validate_image_definition_name`] as a form pattern.
pub const IMAGE_DEFINITION_NAME_PATTERN: &str = "[A-Za-z0-9]([A-Za-z0-9._\\-]{0,78}[A-Za-z0-9])?";
/// [`validate_disk_name`] as a form pattern.
pub const DISK_NAME_PATTERN: &str = "[A-Za-z0-9]([A-Za-z0-9_.\\-]{0,78}[A-Za-z0-9_])?";
/// [`validate_resource_group_name`] as a form pattern.
/// (Letters and digits of any script, as `char::is_alphanumeric` takes them: `\p{Alphabetic}`
/// and `\p{N}`; a bare `\w` is ASCII-only in JavaScript.)
pub const RESOURCE_GROUP_NAME_PATTERN: &str =
    "[\\-_.\\(\\)\\p{Alphabetic}\\p{N}]{0,89}[\\-_\\(\\)\\p{Alphabetic}\\p{N}]";

/// Gallery names: 1–80 letters, digits, `_` and `.`, starting and ending alphanumeric. No dashes.
pub fn validate_gallery_name(name: &str) -> Result<(), Invalid> {
    let ok_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    if (1..=80).contains(&name.len()) && ok_chars && ends_alphanumeric(name) {
        return Ok(());
    }
    Err(name_error(
        "galleryName",
        format!(
            "Gallery name '{name}' is invalid. Allowed characters are English alphanumeric characters, with underscores, and periods allowed in the middle, up to 80 characters total. All other special characters, including dashes, are disallowed."
        ),
    ))
}

/// Image definition names: 1–80 letters, digits, `_`, `-` and `.`, starting and ending alphanumeric.
pub fn validate_image_definition_name(name: &str) -> Result<(), Invalid> {
    let ok_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if (1..=80).contains(&name.len()) && ok_chars && ends_alphanumeric(name) {
        return Ok(());
    }
    Err(name_error(
        "galleryImageName",
        format!(
            "Gallery image name '{name}' is invalid. Allowed characters are English alphanumeric characters, with underscores, hyphens and periods allowed in the middle, up to 80 characters total."
        ),
    ))
}

/// Disk and snapshot names: 1–80 letters, digits, `_`, `-` and `.`; starting alphanumeric,
/// ending alphanumeric or `_`.
pub fn validate_disk_name(name: &str) -> Result<(), Invalid> {
    let ok_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    let first = name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    let last = name.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    if (1..=80).contains(&name.len()) && ok_chars && first && last {
        return Ok(());
    }
    Err(name_error(
        "diskName",
        format!(
            "The name '{name}' is invalid. Use 1-80 letters, digits, underscores, periods and hyphens, starting with a letter or digit and ending with a letter, digit or underscore."
        ),
    ))
}

/// Resource group names: 1–90 of letters, digits, `-`, `_`, `.`, `(`, `)`; not ending in `.`.
pub fn validate_resource_group_name(name: &str) -> Result<(), Invalid> {
    let ok_chars = name.chars().all(|c| c.is_alphanumeric() || "-_.()".contains(c));
    if (1..=90).contains(&name.chars().count()) && ok_chars && !name.ends_with('.') {
        return Ok(());
    }
    Err(name_error(
        "resourceGroupName",
        format!(
            "Resource group name '{name}' is invalid. It must be 1-90 characters of letters, digits, underscores, hyphens, periods and parentheses, and cannot end with a period."
        ),
    ))
}

/// Publisher (≤128), offer and SKU (≤64): letters, digits, `-`, `.`, `_`; non-empty; not ending in `.`.
pub fn validate_identifier_part(field: &str, value: &str, max: usize) -> Result<(), Invalid> {
    let ok_chars = value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    if !value.is_empty() && value.len() <= max && ok_chars && !value.ends_with('.') {
        return Ok(());
    }
    Err(Invalid::param(
        format!("galleryImage.properties.identifier.{field}"),
        format!(
            "Asset name galleryImage.properties.identifier.{field} is not valid. It cannot be empty. Allowed characters are uppercase or lowercase letters, digits, hyphen(-), period (.), underscore (_). Names are not allowed to end with period(.). The length of the name cannot exceed {max} characters."
        ),
    ))
}

fn ends_alphanumeric(name: &str) -> bool {
    let first = name.bytes().next();
    let last = name.bytes().last();
    matches!((first, last), (Some(f), Some(l)) if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gallery_names() {
        for ok in ["g", "myGallery", "my_gallery.v2", &"a".repeat(80)] {
            assert!(validate_gallery_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "my-gallery", "_g", "g_", ".g", "g.", "g h", "gä", &"a".repeat(81)] {
            let err = validate_gallery_name(bad).unwrap_err();
            assert_eq!(err.target, "galleryName");
            assert_eq!(err.code, InvalidCode::InvalidResourceName);
        }
    }

    #[test]
    fn image_definition_names() {
        for ok in ["myImageDefinition", "ubuntu-22.04_lts", "a"] {
            assert!(validate_image_definition_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a.", "a b", "a/b", &"a".repeat(81)] {
            assert!(validate_image_definition_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resource_group_names() {
        for ok in ["myGalleryRG", "clitest.rg000001", "rg(1)", "a-b_c"] {
            assert!(validate_resource_group_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "rg.", "a/b", "a b", &"r".repeat(91)] {
            assert!(validate_resource_group_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identifier_parts() {
        assert!(validate_identifier_part("publisher", "Canonical", 128).is_ok());
        assert!(validate_identifier_part("sku", "22_04-lts.gen2", 64).is_ok());
        assert!(validate_identifier_part("offer", "", 64).is_err());
        assert!(validate_identifier_part("offer", "off.", 64).is_err());
        assert!(validate_identifier_part("offer", "o ff", 64).is_err());
        assert!(validate_identifier_part("offer", &"o".repeat(65), 64).is_err());
        assert!(validate_identifier_part("publisher", &"o".repeat(128), 128).is_ok());
        let err = validate_identifier_part("sku", "x.", 64).unwrap_err();
        assert_eq!(err.target, "galleryImage.properties.identifier.sku");
    }

    #[test]
    fn keys_fold_case() {
        assert_eq!(key("MyGallery"), key("mygallery"));
    }
}
