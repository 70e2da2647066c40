//! galleon's domain, with no I/O: resource types, names, ARM ids, version numbers, regions,
//! states, every validation rule of design §3, and `latest` resolution.
//!
//! Everything here is a pure function of its inputs (the current time is a parameter), so the
//! ARM handlers, the portal and the CLI all share one copy of each rule. This crate must never
//! depend on HTTP, SQL, async or the wire format; the optional `serde` feature exists only so the
//! metadata store can persist these values as JSON documents.

pub mod disk;
mod enums;
mod error;
pub mod events;
pub mod gallery;
pub mod image_definition;
pub mod image_version;
pub mod latest;
pub mod managed_image;
pub mod names;
pub mod network;
pub mod rbac;
pub mod refs;
pub mod region;
pub mod resource;
pub mod resource_id;
pub mod retention;
pub mod sharing;
pub mod soft_delete;
pub mod states;
pub mod uefi;
pub mod version_number;
pub mod vm;

pub use error::{Invalid, InvalidCode};
pub use refs::{GalleryRef, GroupRef, ImageRef, VersionRef};
pub use states::ProvisioningState;
pub use version_number::VersionNumber;

/// Tags as ARM keeps them: an ordered string map.
pub type Tags = std::collections::BTreeMap<String, String>;
