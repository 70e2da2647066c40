//! The api-versions galleon's own clients (the CLI, the portal, template deployments' reads)
//! send, one per resource provider or feature: the versions `az` sends for the same commands.

pub const COMPUTE: &str = "api-version=2024-03-03";
/// Sharing (`az sig share`).
pub const SHARE: &str = "api-version=2023-07-03";
/// Soft delete (`az sig … --soft-delete`).
pub const SOFT_DELETE: &str = "api-version=2026-03-03";
pub const DISKS: &str = "api-version=2025-01-02";
/// Managed images and virtual machines.
pub const IMAGES_AND_VMS: &str = "api-version=2024-11-01";
pub const NETWORK: &str = "api-version=2023-04-01";
pub const RESOURCES: &str = "api-version=2022-09-01";
pub const ROLES: &str = "api-version=2022-04-01";
/// The activity log (`az monitor activity-log list`).
pub const INSIGHTS: &str = "api-version=2015-04-01";
pub const RESOURCE_GRAPH: &str = "api-version=2021-03-01";
