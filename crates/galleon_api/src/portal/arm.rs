//! The portal's ARM calls (see [`crate::inproc`]) and the api-versions it uses.

pub(crate) use crate::inproc::{Arm, ArmFailure};

pub(crate) const COMPUTE: &str = "api-version=2024-03-03";
pub(crate) const RESOURCES: &str = "api-version=2022-09-01";
pub(crate) const DISKS: &str = "api-version=2025-01-02";
pub(crate) const IMAGES: &str = "api-version=2024-11-01";
