//! ARM JSON wire types for `Microsoft.Compute/galleries` and what the clients call around it,
//! with conversions to and from `galleon_model`. Shared by the server, the CLI and tests.
//!
//! Request types keep enum values and dates as strings so that the model, not serde, decides
//! what is valid and names the field in its error; numbers are `i64` so an out-of-range count
//! is a rule violation, not a parse failure.

pub mod common;
pub mod dates;
pub mod disk;
pub mod gallery;
pub mod image;
pub mod managed_image;
pub mod security_profile;
pub mod shared;
pub mod version;
pub mod vm;

pub use common::{ErrorBody, ErrorResponse, List, OperationStatus, Resource, refuse_unsupported};
