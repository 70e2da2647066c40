//! Image version names: `Major.Minor.Patch`, each part an int32 (0..=2147483647).

use std::fmt;
use std::str::FromStr;

use crate::Invalid;

/// A version number's shape as an HTML form `pattern` (the parser below is the rule).
pub const VERSION_NUMBER_PATTERN: &str = "(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)";

/// A parsed image version name. Ordering is numeric, part by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionNumber {
    /// Major part.
    pub major: u32,
    /// Minor part.
    pub minor: u32,
    /// Patch part.
    pub patch: u32,
}

const MAX_PART: u64 = i32::MAX as u64;

/// The service's wording for a bad version name (arm-api.md §6.2).
pub const INVALID_VERSION_MESSAGE: &str = "The image version name is invalid. The image version name should follow Major(int).Minor(int).Patch(int) format, where int is between 0 and 2,147,483,647 (inclusive). For e.g: 1.0.0, 2018.12.1 etc.";

impl FromStr for VersionNumber {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Invalid> {
        let bad = || Invalid::param("galleryImageVersionName", INVALID_VERSION_MESSAGE);
        let parts: Vec<&str> = s.split('.').collect();
        if parts.len() != 3 {
            return Err(bad());
        }
        let mut nums = [0u32; 3];
        for (slot, part) in nums.iter_mut().zip(&parts) {
            // No leading zeros: `01.0.0` and `1.0.0` would be two names of one version (and
            // `latest` ambiguous between them).
            let leading_zero = part.len() > 1 && part.starts_with('0');
            if part.is_empty() || part.len() > 10 || leading_zero || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let value: u64 = part.parse().map_err(|_| bad())?;
            if value > MAX_PART {
                return Err(bad());
            }
            *slot = value as u32;
        }
        Ok(Self { major: nums[0], minor: nums[1], patch: nums[2] })
    }
}

impl fmt::Display for VersionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_zeros_are_refused() {
        for bad in ["01.0.0", "1.00.0", "1.0.007", "00.0.0"] {
            assert!(bad.parse::<VersionNumber>().is_err(), "{bad}");
        }
        for good in ["0.0.0", "10.0.0", "1.10.100", "2018.12.1"] {
            assert!(good.parse::<VersionNumber>().is_ok(), "{good}");
        }
    }

    #[test]
    fn parses_and_orders_numerically() {
        let a: VersionNumber = "1.10.0".parse().unwrap();
        let b: VersionNumber = "1.9.99".parse().unwrap();
        assert!(a > b);
        assert_eq!(a.to_string(), "1.10.0");
        let max: VersionNumber = "2147483647.0.2147483647".parse().unwrap();
        assert_eq!(max.major, 2_147_483_647);
    }

    #[test]
    fn rejects_malformed_names() {
        for bad in [
            "",
            "1",
            "1.0",
            "1.0.0.0",
            "1.a.0",
            "-1.0.0",
            "1..0",
            "2147483648.0.0",
            "1.0.0 ",
            "+1.0.0",
            "99999999999.0.0",
            "latest",
        ] {
            let err = bad.parse::<VersionNumber>().unwrap_err();
            assert_eq!(err.target, "galleryImageVersionName", "{bad}");
            assert!(err.message.contains("Major(int).Minor(int).Patch(int)"));
        }
    }
}
