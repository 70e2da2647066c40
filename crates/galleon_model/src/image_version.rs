//! Image versions (`Microsoft.Compute/galleries/images/versions`): the publishing profile
//! (target regions, replica counts, storage types, latest, end of life), the storage profile
//! (exactly one kind of source), the safety profile, per-region replication state, and the
//! rules for create and update.

use std::collections::HashSet;

use time::OffsetDateTime;

use crate::Invalid;
use crate::enums::arm_enum;
use crate::image_definition::check_future_eol;
use crate::names::key;
use crate::region::canonical;
use crate::resource_id::{ResourceId, ResourceKind};
use crate::states::ReplicationState;

arm_enum!(
    /// `publishingProfile.replicationMode`.
    ReplicationMode {
        /// Every target region gets its own copy (the default).
        Full => "Full",
        /// The image stays in its source region only, not copied: quick, for development.
        Shallow => "Shallow",
    }
);

arm_enum!(
    /// Storage account type of a replica.
    StorageAccountType { StandardLrs => "Standard_LRS", StandardZrs => "Standard_ZRS", PremiumLrs => "Premium_LRS" }
);
arm_enum!(
    /// Host caching of a disk image.
    HostCaching { None => "None", ReadOnly => "ReadOnly", ReadWrite => "ReadWrite" }
);

/// Azure's bounds for replica counts.
pub const MAX_REPLICA_COUNT: i64 = 100;

/// A resolved target region.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TargetRegion {
    /// Canonical region name.
    pub name: String,
    /// Replicas in this region (defaults to the profile's `replicaCount`).
    pub regional_replica_count: u32,
    /// Storage type (defaults to the profile's).
    pub storage_account_type: StorageAccountType,
    /// Region-level override of the version's `excludeFromLatest`, when given.
    pub exclude_from_latest: Option<bool>,
    /// `encryption`, kept verbatim as JSON text (galleon does not encrypt replicas itself).
    pub encryption: Option<String>,
}

/// A resolved publishing profile.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PublishingProfile {
    /// Where the version is replicated.
    pub target_regions: Vec<TargetRegion>,
    /// Default replicas per region.
    pub replica_count: u32,
    /// Excluded from `latest`.
    pub exclude_from_latest: bool,
    /// Informational end of life.
    pub end_of_life_date: Option<OffsetDateTime>,
    /// Set when the version is created.
    pub published_date: OffsetDateTime,
    /// Default storage type; not updatable.
    pub storage_account_type: StorageAccountType,
    /// `replicationMode` (`Full` or `Shallow`), echoed when given.
    pub replication_mode: Option<String>,
}

/// The source of one disk: a managed disk or snapshot id, or a VHD `uri` in a storage account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DiskSource {
    /// Managed disk / snapshot id, or (2020-09-30 form) the storage account id of a VHD.
    pub id: Option<String>,
    /// VHD blob URL.
    pub uri: Option<String>,
    /// Storage account id of a VHD (2025 form).
    pub storage_account_id: Option<String>,
}

/// One disk of a version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DiskImage {
    /// Host caching.
    pub host_caching: Option<HostCaching>,
    /// Per-disk source, when the version is built from disks, snapshots or VHDs.
    pub source: Option<DiskSource>,
    /// Size, known once the content is built.
    pub size_in_gb: Option<u32>,
    /// Manifest digest of the disk's content, once built.
    pub digest: Option<String>,
}

/// A data disk of a version.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DataDiskImage {
    /// Logical unit number, unique per version.
    pub lun: i32,
    /// The disk.
    pub disk: DiskImage,
}

/// What a version is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum SourceKind {
    /// A managed image (`storageProfile.source.id` or the 2018 `publishingProfile.source.managedImage`).
    ManagedImage,
    /// A virtual machine.
    VirtualMachine,
    /// Another gallery image version.
    GalleryImageVersion,
    /// Managed disks and/or snapshots, per disk.
    Disks,
    /// VHD blobs, per disk.
    Vhds,
}

/// A resolved storage profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StorageProfile {
    /// `source.id`.
    pub source_id: Option<String>,
    /// `source.virtualMachineId`.
    pub virtual_machine_id: Option<String>,
    /// OS disk.
    pub os_disk: Option<DiskImage>,
    /// Data disks, by LUN.
    pub data_disks: Vec<DataDiskImage>,
}

/// `safetyProfile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SafetyProfile {
    /// Whether removing a replicated region is allowed.
    pub allow_deletion_of_replicated_locations: bool,
    /// Whether deletes before the end-of-life date are refused.
    pub block_deletion_before_end_of_life: bool,
}

/// Replication state of the version in one target region.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RegionStatus {
    /// Canonical region name.
    pub region: String,
    /// State.
    pub state: ReplicationState,
    /// 0–100.
    pub progress: u8,
    /// Why, when failed.
    pub details: String,
    /// Bytes copied and still to copy (absent in documents of older releases, and for regions
    /// that had nothing to copy).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub transfer: Option<TransferProgress>,
}

/// A region's copy in bytes, counted in whole chunks (1 MiB each; a disk's last chunk may be
/// shorter, so the figures are an upper bound), with when it started and was last counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TransferProgress {
    pub bytes_done: u64,
    pub bytes_needed: u64,
    /// Unix milliseconds.
    pub started_ms: i64,
    /// Unix milliseconds of the last count.
    pub updated_ms: i64,
}

impl TransferProgress {
    /// Bytes per second from the start to the last count; none before any time has passed.
    pub fn bytes_per_second(&self) -> Option<u64> {
        let ms = self.updated_ms - self.started_ms;
        (ms > 0 && self.bytes_done > 0).then(|| self.bytes_done * 1000 / ms as u64)
    }

    /// Seconds left at that rate (rounded up); zero when done, none while no rate is known.
    pub fn eta_seconds(&self) -> Option<u64> {
        let left = self.bytes_needed.saturating_sub(self.bytes_done);
        if left == 0 {
            return Some(0);
        }
        self.bytes_per_second().map(|rate| left.div_ceil(rate.max(1)))
    }
}

/// A validated image version.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ImageVersion {
    /// Publishing profile.
    pub publishing: PublishingProfile,
    /// Storage profile (source and disks).
    pub storage: StorageProfile,
    /// What kind of source it was built from.
    pub source_kind: SourceKind,
    /// Safety profile.
    pub safety: SafetyProfile,
    /// Replication state per target region, in target-region order.
    pub replication: Vec<RegionStatus>,
    /// `securityProfile.uefiSettings`; set at creation only.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub uefi: Option<crate::uefi::UefiSettings>,
    /// Set while the version is soft-deleted.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub soft_deleted: Option<crate::soft_delete::SoftDeletion>,
    /// The object id of the principal that created it (for its signed provenance).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub created_by: Option<String>,
}

/// A target region as a request gives it.
#[derive(Debug, Clone, Default)]
pub struct TargetRegionRequest {
    /// Region name as sent.
    pub name: Option<String>,
    /// `regionalReplicaCount`.
    pub regional_replica_count: Option<i64>,
    /// `storageAccountType` as sent.
    pub storage_account_type: Option<String>,
    /// `excludeFromLatest`.
    pub exclude_from_latest: Option<bool>,
    /// `encryption` as JSON text.
    pub encryption: Option<String>,
}

/// A publishing profile as a request gives it.
#[derive(Debug, Clone, Default)]
pub struct PublishingRequest {
    /// `targetRegions`.
    pub target_regions: Option<Vec<TargetRegionRequest>>,
    /// `replicaCount`.
    pub replica_count: Option<i64>,
    /// `excludeFromLatest`.
    pub exclude_from_latest: Option<bool>,
    /// `endOfLifeDate`.
    pub end_of_life_date: Option<OffsetDateTime>,
    /// `storageAccountType` as sent.
    pub storage_account_type: Option<String>,
    /// `replicationMode` as sent.
    pub replication_mode: Option<String>,
}

/// A disk image as a request gives it.
#[derive(Debug, Clone, Default)]
pub struct DiskRequest {
    /// `hostCaching` as sent.
    pub host_caching: Option<String>,
    /// `source`.
    pub source: Option<DiskSource>,
}

/// A version create/update request, before defaults and rules.
#[derive(Debug, Clone, Default)]
pub struct VersionRequest {
    /// `publishingProfile`.
    pub publishing: Option<PublishingRequest>,
    /// 2018-06-01/2019-03-01 `publishingProfile.source.managedImage.id`.
    pub legacy_managed_image_id: Option<String>,
    /// `storageProfile.source.id`.
    pub source_id: Option<String>,
    /// `storageProfile.source.communityGalleryImageId`.
    pub community_source_id: Option<String>,
    /// `storageProfile.source.virtualMachineId`.
    pub virtual_machine_id: Option<String>,
    /// `storageProfile.osDiskImage`.
    pub os_disk: Option<DiskRequest>,
    /// `storageProfile.dataDiskImages`: (lun, disk).
    pub data_disks: Option<Vec<(Option<i64>, DiskRequest)>>,
    /// `safetyProfile`: (allowDeletionOfReplicatedLocations, blockDeletionBeforeEndOfLife).
    pub safety: Option<(Option<bool>, Option<bool>)>,
    /// `securityProfile.uefiSettings`.
    pub uefi: Option<crate::uefi::UefiRequest>,
    /// `restore`: bring back the soft-deleted version of this name.
    pub restore: Option<bool>,
}

const PP: &str = "galleryImageVersion.properties.publishingProfile";
const SP: &str = "galleryImageVersion.properties.storageProfile";

impl VersionRequest {
    /// True when the request says nothing about the storage profile (`"storageProfile": {}`),
    /// which an update treats as "unchanged", as `az sig image-version update` relies on.
    pub fn storage_is_empty(&self) -> bool {
        self.legacy_managed_image_id.is_none()
            && self.source_id.is_none()
            && self.community_source_id.is_none()
            && self.virtual_machine_id.is_none()
            && self.os_disk.as_ref().is_none_or(|d| d.source.is_none() && d.host_caching.is_none())
            && self.data_disks.as_ref().is_none_or(Vec::is_empty)
    }
}

/// Shallow replication keeps the image where its source is: the version's own region only.
fn check_shallow(regions: &[TargetRegion], location: &str) -> Result<(), Invalid> {
    match regions.iter().find(|r| r.name != location) {
        Some(other) => Err(Invalid::param(
            format!("{PP}.targetRegions"),
            format!(
                "A version with replicationMode Shallow stays in its source region '{location}'; it cannot target '{}'. Use replicationMode Full to replicate it.",
                other.name
            ),
        )),
        None => Ok(()),
    }
}

impl ImageVersion {
    /// Builds a version from a create request: defaults, then every rule of design §3 that can
    /// be checked without looking at the source itself. `location` is the version's canonical region.
    pub fn create(req: VersionRequest, location: &str, now: OffsetDateTime) -> Result<Self, Invalid> {
        let (storage, source_kind) = resolve_storage(&req)?;
        let pubreq = req.publishing.clone().unwrap_or_default();
        let storage_account_type = match &pubreq.storage_account_type {
            Some(t) => StorageAccountType::parse(&format!("{PP}.storageAccountType"), t)?,
            None => StorageAccountType::StandardLrs,
        };
        let replica_count = replica_count(pubreq.replica_count, &format!("{PP}.replicaCount"))?.unwrap_or(1);
        let requested = pubreq
            .target_regions
            .clone()
            .unwrap_or_else(|| vec![TargetRegionRequest { name: Some(location.to_string()), ..Default::default() }]);
        let target_regions = resolve_regions(&requested, replica_count, storage_account_type, &[])?;
        check_location_targeted(&target_regions, location)?;
        let replication_mode = match &pubreq.replication_mode {
            Some(m) => Some(ReplicationMode::parse(&format!("{PP}.replicationMode"), m)?),
            None => None,
        };
        if replication_mode == Some(ReplicationMode::Shallow) {
            check_shallow(&target_regions, location)?;
        }
        if let Some(eol) = pubreq.end_of_life_date {
            check_future_eol(eol, now, &format!("{PP}.endOfLifeDate"))?;
        }
        let (allow, block) = req.safety.unwrap_or_default();
        let replication = target_regions.iter().map(|r| unknown_status(&r.name)).collect();
        let uefi = req.uefi.as_ref().map(crate::uefi::UefiSettings::parse).transpose()?;
        Ok(Self {
            publishing: PublishingProfile {
                target_regions,
                replica_count,
                exclude_from_latest: pubreq.exclude_from_latest.unwrap_or(false),
                end_of_life_date: pubreq.end_of_life_date,
                published_date: now,
                storage_account_type,
                replication_mode: replication_mode.map(|m| m.as_str().to_string()),
            },
            storage,
            source_kind,
            safety: SafetyProfile {
                allow_deletion_of_replicated_locations: allow.unwrap_or(false),
                block_deletion_before_end_of_life: block.unwrap_or(false),
            },
            replication,
            uefi,
            soft_deleted: None,
            created_by: None,
        })
    }

    /// Applies an update (a full PUT of an existing version when `patch` is false, a PATCH when
    /// true). The source and the storage types are fixed; target regions, counts, latest, end of
    /// life and the safety profile may change. Removing a region needs
    /// `allowDeletionOfReplicatedLocations`.
    pub fn update(
        &self,
        req: VersionRequest,
        location: &str,
        patch: bool,
        now: OffsetDateTime,
    ) -> Result<Self, Invalid> {
        if !req.storage_is_empty() {
            let (storage, _) = resolve_storage(&req)?;
            if !same_sources(&storage, &self.storage) {
                return Err(Invalid::immutable(format!("{SP}.source.id")));
            }
        }
        if let Some(u) = &req.uefi
            && Some(crate::uefi::UefiSettings::parse(u)?) != self.uefi
        {
            return Err(Invalid::immutable("galleryImageVersion.properties.securityProfile.uefiSettings"));
        }
        let mut next = self.clone();
        if let Some((allow, block)) = req.safety {
            if let Some(a) = allow {
                next.safety.allow_deletion_of_replicated_locations = a;
            }
            if let Some(b) = block {
                next.safety.block_deletion_before_end_of_life = b;
            }
        }
        let Some(pubreq) = req.publishing else {
            return Ok(next);
        };
        if let Some(t) = &pubreq.storage_account_type {
            let t = StorageAccountType::parse(&format!("{PP}.storageAccountType"), t)?;
            if t != self.publishing.storage_account_type {
                return Err(Invalid::immutable(format!("{PP}.storageAccountType")));
            }
        }
        let mode_of =
            |m: Option<&str>| m.and_then(|m| ReplicationMode::parse("", m).ok()).unwrap_or(ReplicationMode::Full);
        let current_mode = mode_of(self.publishing.replication_mode.as_deref());
        if let Some(m) = &pubreq.replication_mode
            && ReplicationMode::parse(&format!("{PP}.replicationMode"), m)? != current_mode
        {
            return Err(Invalid::immutable(format!("{PP}.replicationMode")));
        }
        if let Some(count) = replica_count(pubreq.replica_count, &format!("{PP}.replicaCount"))? {
            next.publishing.replica_count = count;
        }
        if let Some(x) = pubreq.exclude_from_latest {
            next.publishing.exclude_from_latest = x;
        } else if !patch {
            next.publishing.exclude_from_latest = false;
        }
        if pubreq.end_of_life_date != self.publishing.end_of_life_date && (pubreq.end_of_life_date.is_some() || !patch)
        {
            if let Some(eol) = pubreq.end_of_life_date {
                check_future_eol(eol, now, &format!("{PP}.endOfLifeDate"))?;
            }
            next.publishing.end_of_life_date = pubreq.end_of_life_date;
        }
        if let Some(requested) = &pubreq.target_regions {
            let regions = resolve_regions(
                requested,
                next.publishing.replica_count,
                self.publishing.storage_account_type,
                &self.publishing.target_regions,
            )?;
            check_location_targeted(&regions, location)?;
            if current_mode == ReplicationMode::Shallow {
                check_shallow(&regions, location)?;
            }
            let removed: Vec<&str> = self
                .publishing
                .target_regions
                .iter()
                .filter(|old| !regions.iter().any(|r| r.name == old.name))
                .map(|r| r.name.as_str())
                .collect();
            if !removed.is_empty() && !next.safety.allow_deletion_of_replicated_locations {
                return Err(Invalid {
                    code: crate::InvalidCode::OperationNotAllowed,
                    target: format!("{PP}.targetRegions"),
                    message: format!(
                        "Removing replicated regions ({}) is not allowed because safetyProfile.allowDeletionOfReplicatedLocations is false. Set it to true to remove regions.",
                        removed.join(", ")
                    ),
                });
            }
            // A new region, or one asked for more replicas than it has, is pending again; the
            // others keep their state (only new copies are made).
            next.replication = regions
                .iter()
                .map(|r| {
                    let grew = self
                        .publishing
                        .target_regions
                        .iter()
                        .find(|old| old.name == r.name)
                        .is_none_or(|old| r.regional_replica_count > old.regional_replica_count);
                    match self.replication.iter().find(|s| s.region == r.name) {
                        Some(status) if !grew => status.clone(),
                        _ => unknown_status(&r.name),
                    }
                })
                .collect();
            next.publishing.target_regions = regions;
        }
        Ok(next)
    }

    /// Whether this version may be deleted now (`blockDeletionBeforeEndOfLife`).
    pub fn check_delete(&self, now: OffsetDateTime) -> Result<(), Invalid> {
        match self.publishing.end_of_life_date {
            Some(eol) if self.safety.block_deletion_before_end_of_life && eol > now => Err(Invalid {
                code: crate::InvalidCode::OperationNotAllowed,
                target: "galleryImageVersion.properties.safetyProfile.blockDeletionBeforeEndOfLife".into(),
                message: "This image version cannot be deleted before its end-of-life date because safetyProfile.blockDeletionBeforeEndOfLife is true.".into(),
            }),
            _ => Ok(()),
        }
    }

    /// Every source id the version names (artifact source or per-disk ids and URIs).
    pub fn source_ids(&self) -> Vec<String> {
        let s = &self.storage;
        let disks = s.os_disk.iter().chain(s.data_disks.iter().map(|d| &d.disk));
        s.source_id
            .iter()
            .chain(s.virtual_machine_id.iter())
            .cloned()
            .chain(disks.filter_map(|d| d.source.as_ref()).filter_map(|src| src.uri.clone().or_else(|| src.id.clone())))
            .collect()
    }
}

fn unknown_status(region: &str) -> RegionStatus {
    RegionStatus {
        region: region.to_string(),
        state: ReplicationState::Unknown,
        progress: 0,
        details: String::new(),
        transfer: None,
    }
}

fn replica_count(value: Option<i64>, target: &str) -> Result<Option<u32>, Invalid> {
    match value {
        None => Ok(None),
        Some(v) if (1..=MAX_REPLICA_COUNT).contains(&v) => Ok(Some(v as u32)),
        Some(v) => Err(Invalid::param(
            target,
            format!(
                "The value {v} of parameter '{target}' is out of range. The value must be between 1 and {MAX_REPLICA_COUNT}, inclusive."
            ),
        )),
    }
}

fn resolve_regions(
    requested: &[TargetRegionRequest],
    default_count: u32,
    default_type: StorageAccountType,
    existing: &[TargetRegion],
) -> Result<Vec<TargetRegion>, Invalid> {
    if requested.is_empty() {
        return Err(Invalid::param(format!("{PP}.targetRegions"), "At least one target region is required."));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(requested.len());
    for (i, r) in requested.iter().enumerate() {
        let target = format!("{PP}.targetRegions[{i}]");
        let name = r.name.as_deref().map(canonical).filter(|n| !n.is_empty()).ok_or_else(|| {
            Invalid::param(format!("{target}.name"), format!("Required parameter '{target}.name' is missing (null)."))
        })?;
        if !seen.insert(name.clone()) {
            return Err(Invalid::param(
                format!("{PP}.targetRegions"),
                "Duplicate regions are not allowed in target publishing regions.",
            ));
        }
        let count = replica_count(r.regional_replica_count, &format!("{target}.regionalReplicaCount"))?
            .unwrap_or(default_count);
        let storage_account_type = match &r.storage_account_type {
            Some(t) => StorageAccountType::parse(&format!("{target}.storageAccountType"), t)?,
            None => existing.iter().find(|e| e.name == name).map_or(default_type, |e| e.storage_account_type),
        };
        if let Some(old) = existing.iter().find(|e| e.name == name)
            && old.storage_account_type != storage_account_type
        {
            return Err(Invalid::immutable(format!("{target}.storageAccountType")));
        }
        out.push(TargetRegion {
            name,
            regional_replica_count: count,
            storage_account_type,
            exclude_from_latest: r.exclude_from_latest,
            encryption: r.encryption.clone(),
        });
    }
    Ok(out)
}

fn check_location_targeted(regions: &[TargetRegion], location: &str) -> Result<(), Invalid> {
    if regions.iter().any(|r| r.name == location) {
        return Ok(());
    }
    let names: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
    Err(Invalid::param(
        format!("{PP}.targetRegions"),
        format!(
            "Gallery image version publishing profile regions '{}' must contain the location of image version '{location}'.",
            names.join(", ")
        ),
    ))
}

fn expect_kind(id: &str, target: &str, allowed: &[ResourceKind], what: &str) -> Result<ResourceKind, Invalid> {
    let parsed = ResourceId::parse(id).ok_or_else(|| {
        Invalid::param(
            target,
            format!("Property id '{id}' at path '{target}' is invalid. Expect fully qualified resource Id that start with '/subscriptions/{{subscriptionId}}' or '/providers/{{resourceProviderNamespace}}/'."),
        )
    })?;
    match parsed.kind() {
        Some(k) if allowed.contains(&k) => Ok(k),
        _ => Err(Invalid::param(target, format!("The source id: {id} must {what}."))),
    }
}

/// The disk-level source kinds a version may be built from.
const DISK_KINDS: &[ResourceKind] = &[ResourceKind::Disk, ResourceKind::Snapshot];

fn resolve_disk(req: &DiskRequest, target: &str) -> Result<(DiskImage, Option<SourceKind>), Invalid> {
    let host_caching = match &req.host_caching {
        Some(h) => Some(HostCaching::parse(&format!("{target}.hostCaching"), h)?),
        None => None,
    };
    let mut kind = None;
    let source = match &req.source {
        Some(src) if src.uri.is_some() => {
            let account = src.storage_account_id.as_ref().or(src.id.as_ref()).ok_or_else(|| {
                Invalid::param(format!("{target}.source.storageAccountId"), format!("A VHD source at '{target}.source.uri' needs the storage account id in '{target}.source.storageAccountId'."))
            })?;
            expect_kind(
                account,
                &format!("{target}.source.storageAccountId"),
                &[ResourceKind::StorageAccount],
                "be a storage account",
            )?;
            let uri = src.uri.as_deref().unwrap_or_default();
            if !(uri.starts_with("https://") || uri.starts_with("http://") || uri.starts_with("file://")) {
                return Err(Invalid::param(
                    format!("{target}.source.uri"),
                    format!("The VHD uri '{uri}' is not an absolute http(s) or file URL."),
                ));
            }
            kind = Some(SourceKind::Vhds);
            Some(src.clone())
        }
        Some(src) if src.id.is_some() => {
            let id = src.id.as_deref().unwrap_or_default();
            expect_kind(id, &format!("{target}.source.id"), DISK_KINDS, "be a managed disk or snapshot")?;
            kind = Some(SourceKind::Disks);
            Some(src.clone())
        }
        _ => None,
    };
    Ok((DiskImage { host_caching, source, size_in_gb: None, digest: None }, kind))
}

fn resolve_storage(req: &VersionRequest) -> Result<(StorageProfile, SourceKind), Invalid> {
    let one_kind = || {
        Invalid::param(
            SP,
            "The gallery artifact version source can only be specified either directly under storageProfile or within individual OS or data disks. One and only one source type (user image, snapshot, disk, virtual machine) can be provided.",
        )
    };
    let mut artifact: Option<(String, SourceKind)> = None;
    let mut candidates = Vec::new();
    if let Some(id) = &req.legacy_managed_image_id {
        candidates.push((
            id.clone(),
            "galleryImageVersion.properties.publishingProfile.source.managedImage.id",
            &[ResourceKind::ManagedImage][..],
            "be a managed image",
        ));
    }
    if let Some(id) = &req.source_id {
        candidates.push((
            id.clone(),
            "galleryImageVersion.properties.storageProfile.source.id",
            &[ResourceKind::ManagedImage, ResourceKind::VirtualMachine, ResourceKind::GalleryImageVersion][..],
            "either be a managed image, virtual machine or another gallery image version",
        ));
    }
    if let Some(id) = &req.virtual_machine_id {
        candidates.push((
            id.clone(),
            "galleryImageVersion.properties.storageProfile.source.virtualMachineId",
            &[ResourceKind::VirtualMachine][..],
            "be a virtual machine",
        ));
    }
    if let Some(id) = &req.community_source_id {
        if !candidates.is_empty() || artifact.is_some() {
            return Err(one_kind());
        }
        let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
        let shape = matches!(parts.as_slice(), [g, _, i, _] | [g, _, i, _, _, _]
            if g.eq_ignore_ascii_case("CommunityGalleries") && i.eq_ignore_ascii_case("Images"));
        if !shape {
            return Err(Invalid::param(
                format!("{SP}.source.communityGalleryImageId"),
                format!(
                    "'{id}' is not a community gallery image: /CommunityGalleries/{{publicName}}/Images/{{image}}[/Versions/{{version}}]."
                ),
            ));
        }
        artifact = Some((id.clone(), SourceKind::GalleryImageVersion));
    }
    if candidates.len() > 1 {
        return Err(one_kind());
    }
    if let Some((id, target, allowed, what)) = candidates.pop() {
        let kind = match expect_kind(&id, target, allowed, what)? {
            ResourceKind::ManagedImage => SourceKind::ManagedImage,
            ResourceKind::VirtualMachine => SourceKind::VirtualMachine,
            _ => SourceKind::GalleryImageVersion,
        };
        artifact = Some((id, kind));
    }

    let os_disk = match &req.os_disk {
        Some(d) => Some(resolve_disk(d, &format!("{SP}.osDiskImage"))?),
        None => None,
    };
    let mut data_disks = Vec::new();
    let mut luns = HashSet::new();
    for (i, (lun, d)) in req.data_disks.clone().unwrap_or_default().iter().enumerate() {
        let target = format!("{SP}.dataDiskImages[{i}]");
        let lun = lun.ok_or_else(|| {
            Invalid::param(format!("{target}.lun"), format!("Required parameter '{target}.lun' is missing (null)."))
        })?;
        if !(0..=i64::from(i32::MAX)).contains(&lun) {
            return Err(Invalid::param(
                format!("{target}.lun"),
                format!("The lun {lun} of '{target}' must be between 0 and 2147483647."),
            ));
        }
        if !luns.insert(lun) {
            return Err(Invalid::param(
                format!("{SP}.dataDiskImages"),
                "Duplicated lun numbers have been detected in the input data disks. Lun number must be unique for each data disk.",
            ));
        }
        data_disks.push((lun as i32, resolve_disk(d, &target)?));
    }

    let disk_kinds: Vec<SourceKind> =
        os_disk.iter().map(|(_, k)| *k).chain(data_disks.iter().map(|(_, (_, k))| *k)).flatten().collect();
    let kind = match (&artifact, disk_kinds.first()) {
        (Some(_), Some(_)) => return Err(one_kind()),
        (Some((_, k)), None) => *k,
        (None, Some(first)) => {
            if disk_kinds.iter().any(|k| k != first) {
                return Err(one_kind());
            }
            if os_disk.as_ref().is_none_or(|(_, k)| k.is_none()) {
                return Err(Invalid::param(
                    format!("{SP}.osDiskImage.source"),
                    "An OS disk source is required when the version is built from disks, snapshots or VHDs.",
                ));
            }
            *first
        }
        (None, None) => {
            return Err(Invalid::param(
                SP,
                "The image version needs a source: storageProfile.source (a managed image, virtual machine or gallery image version) or storageProfile.osDiskImage.source (a managed disk, snapshot or VHD).",
            ));
        }
    };
    let mut seen = HashSet::new();
    for (_, (disk, _)) in &data_disks {
        if let Some(src) = &disk.source {
            let k = key(src.uri.as_deref().or(src.id.as_deref()).unwrap_or_default());
            if !seen.insert(k) {
                return Err(Invalid::param(
                    format!("{SP}.dataDiskImages"),
                    "Duplicated source ids are found in the input disks. Source id should be unique for each disk.",
                ));
            }
        }
    }
    if let Some(src) = os_disk.as_ref().and_then(|(d, _)| d.source.as_ref()) {
        let k = key(src.uri.as_deref().or(src.id.as_deref()).unwrap_or_default());
        if seen.contains(&k) {
            return Err(Invalid::param(
                SP,
                format!(
                    "OSDiskImage and DataDiskImage cannot point to same blob {}",
                    src.uri.as_deref().or(src.id.as_deref()).unwrap_or_default()
                ),
            ));
        }
    }
    let (source_id, virtual_machine_id) = match artifact {
        Some((id, _)) if req.virtual_machine_id.is_some() => (None, Some(id)),
        Some((id, _)) => (Some(id), None),
        None => (None, None),
    };
    let storage = StorageProfile {
        source_id,
        virtual_machine_id,
        os_disk: os_disk.map(|(d, _)| d),
        data_disks: data_disks.into_iter().map(|(lun, (disk, _))| DataDiskImage { lun, disk }).collect(),
    };
    Ok((storage, kind))
}

fn same_sources(a: &StorageProfile, b: &StorageProfile) -> bool {
    let ids = |s: &StorageProfile| -> Vec<String> {
        let disks = s.os_disk.iter().map(|d| (-1, d)).chain(s.data_disks.iter().map(|d| (d.lun, &d.disk)));
        s.source_id
            .iter()
            .chain(s.virtual_machine_id.iter())
            .map(|x| key(x))
            .chain(disks.filter_map(|(lun, d)| {
                d.source
                    .as_ref()
                    .map(|src| format!("{lun}:{}", key(src.uri.as_deref().or(src.id.as_deref()).unwrap_or_default())))
            }))
            .collect()
    };
    ids(a) == ids(b)
}

pub mod source_rules;

#[cfg(test)]
mod tests;
