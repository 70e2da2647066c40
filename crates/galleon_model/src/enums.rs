//! A macro for the string enums ARM uses: parsed case-insensitively (clients send
//! `standard_zrs` as typed), printed in ARM's casing.

/// Declares an enum with `as_str` and a case-insensitive `parse(target, value)`.
macro_rules! arm_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every accepted value, in ARM casing.
            pub const ALL: &'static [&'static str] = &[$($text),+];

            /// The ARM string.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// Parses case-insensitively; the error names `target` and the allowed values.
            pub fn parse(target: &str, value: &str) -> Result<Self, $crate::Invalid> {
                $(if value.eq_ignore_ascii_case($text) { return Ok(Self::$variant); })+
                Err($crate::Invalid::param(
                    target,
                    format!("The value '{}' of parameter '{}' is not valid. Allowed values are: {}.", value, target, Self::ALL.join(", ")),
                ))
            }
        }
    };
}

pub(crate) use arm_enum;
