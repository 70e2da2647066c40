//! Managed disks and snapshots (`Microsoft.Compute/disks`, `Microsoft.Compute/snapshots`): how
//! they are created (`creationData.createOption`), and what they hold once created.

use crate::Invalid;
use crate::enums::arm_enum;
use crate::image_definition::{HyperVGeneration, OsType, PurchasePlan};
use crate::resource_id::{ResourceId, ResourceKind};

arm_enum!(
    /// `creationData.createOption`.
    CreateOption {
        Empty => "Empty",
        Import => "Import",
        Upload => "Upload",
        Copy => "Copy",
        FromImage => "FromImage",
    }
);

arm_enum!(
    /// `diskState`.
    DiskState {
        Unattached => "Unattached",
        Attached => "Attached",
        ReadyToUpload => "ReadyToUpload",
        ActiveUpload => "ActiveUpload",
        ActiveSas => "ActiveSAS",
    }
);

/// Azure's smallest upload: 20 MiB of data plus the footer.
pub const MIN_UPLOAD_BYTES: u64 = 20 * (1 << 20) + 512;
/// Largest disk galleon accepts (32 TiB, Azure's limit).
pub const MAX_DISK_GB: u64 = 32 * 1024;

/// Where a disk's content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Creation {
    /// Zeros of `diskSizeGB`.
    Empty,
    /// A VHD (or raw image) at a URL.
    Import {
        /// The URL.
        source_uri: String,
        /// The storage account id, when given.
        storage_account_id: Option<String>,
    },
    /// Bytes uploaded through a Write access URL.
    Upload {
        /// The VHD length the upload will have.
        upload_size_bytes: u64,
    },
    /// Another disk or snapshot.
    Copy {
        /// Its id.
        source_resource_id: String,
    },
    /// A gallery image version (or `…/images/{def}` / `…/versions/latest`).
    FromImage {
        /// The reference as given.
        image_id: String,
        /// The image's data disk to take (`galleryImageReference.lun`); the OS disk when absent.
        #[cfg_attr(feature = "serde", serde(default))]
        lun: Option<i32>,
    },
}

impl Creation {
    /// The ARM option name.
    pub fn option(&self) -> CreateOption {
        match self {
            Self::Empty => CreateOption::Empty,
            Self::Import { .. } => CreateOption::Import,
            Self::Upload { .. } => CreateOption::Upload,
            Self::Copy { .. } => CreateOption::Copy,
            Self::FromImage { .. } => CreateOption::FromImage,
        }
    }
}

/// A disk or snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Disk {
    /// How it was created.
    pub creation: Creation,
    /// OS type, when it holds an OS.
    pub os_type: Option<OsType>,
    /// Hyper-V generation.
    pub hyper_v_generation: Option<HyperVGeneration>,
    /// Size in GiB (rounded up).
    pub disk_size_gb: Option<u64>,
    /// Exact size of the data in bytes, once known.
    pub disk_size_bytes: Option<u64>,
    /// Storage SKU name (`Standard_LRS`…), echoed.
    pub sku: String,
    /// State.
    pub state: DiskState,
    /// The manifest digest of its content, once it has content.
    pub digest: Option<String>,
    /// A unique id.
    pub unique_id: String,
    /// The access URL grant in force, if any.
    pub access: Option<AccessGrant>,
    /// While an upload is being finished: the operation doing it (a repeated `endGetAccess`
    /// follows it instead of starting another).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub finishing: Option<String>,
    /// `purchasePlan` of the content (a Marketplace plan), carried into images made from it.
    pub purchase_plan: Option<PurchasePlan>,
}

/// A `beginGetAccess` grant: the hash of the URL's secret, its mode and expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AccessGrant {
    /// BLAKE3 (hex) of the secret in the URL.
    pub token_hash: String,
    /// Write (upload) rather than read.
    pub write: bool,
    /// Unix seconds after which the URL stops working.
    pub expires_at: i64,
}

/// What a create request says.
#[derive(Debug, Clone, Default)]
pub struct DiskRequest {
    /// `creationData.createOption`.
    pub create_option: Option<String>,
    /// `creationData.sourceUri`.
    pub source_uri: Option<String>,
    /// `creationData.storageAccountId`.
    pub storage_account_id: Option<String>,
    /// `creationData.sourceResourceId`.
    pub source_resource_id: Option<String>,
    /// `creationData.uploadSizeBytes`.
    pub upload_size_bytes: Option<i64>,
    /// `creationData.galleryImageReference.id` or `imageReference.id`.
    pub image_id: Option<String>,
    /// `creationData.galleryImageReference.lun`.
    pub image_lun: Option<i64>,
    /// `diskSizeGB`.
    pub disk_size_gb: Option<i64>,
    /// `osType`.
    pub os_type: Option<String>,
    /// `hyperVGeneration`.
    pub hyper_v_generation: Option<String>,
    /// `sku.name`.
    pub sku: Option<String>,
    /// `purchasePlan`.
    pub purchase_plan: Option<PurchasePlan>,
}

const CD: &str = "properties.creationData";

fn missing(field: &str, option: &str) -> Invalid {
    Invalid::param(format!("{CD}.{field}"), format!("'{CD}.{field}' is required when createOption is {option}."))
}

impl Disk {
    /// Validates a create request. `what` is `disk` or `snapshot` (snapshots cannot be Empty or FromImage).
    pub fn create(req: DiskRequest, unique_id: String, snapshot: bool) -> Result<Self, Invalid> {
        let option =
            CreateOption::parse(&format!("{CD}.createOption"), req.create_option.as_deref().unwrap_or_default())?;
        if snapshot && matches!(option, CreateOption::Empty | CreateOption::FromImage) {
            return Err(Invalid::param(
                format!("{CD}.createOption"),
                format!(
                    "A snapshot cannot be created with createOption {}; use Copy, Import or Upload.",
                    option.as_str()
                ),
            ));
        }
        let creation = match option {
            CreateOption::Empty => Creation::Empty,
            CreateOption::Import => Creation::Import {
                source_uri: req.source_uri.clone().ok_or_else(|| missing("sourceUri", "Import"))?,
                storage_account_id: req.storage_account_id.clone(),
            },
            CreateOption::Upload => {
                let n = req.upload_size_bytes.ok_or_else(|| missing("uploadSizeBytes", "Upload"))?;
                let max = MAX_DISK_GB << 30 | 512;
                let ok = u64::try_from(n)
                    .is_ok_and(|n| (MIN_UPLOAD_BYTES..=max).contains(&n) && (n - 512).is_multiple_of(1 << 20));
                if !ok {
                    return Err(Invalid::param(
                        format!("{CD}.uploadSizeBytes"),
                        format!(
                            "uploadSizeBytes {n} must be a whole number of MiB plus 512 bytes (the VHD footer), between {MIN_UPLOAD_BYTES} and {max} ({MAX_DISK_GB} GiB)."
                        ),
                    ));
                }
                Creation::Upload { upload_size_bytes: n as u64 }
            }
            CreateOption::Copy => {
                let id = req.source_resource_id.clone().ok_or_else(|| missing("sourceResourceId", "Copy"))?;
                let kind = ResourceId::parse(&id).and_then(|r| r.kind());
                if !matches!(kind, Some(ResourceKind::Disk | ResourceKind::Snapshot)) {
                    return Err(Invalid::param(
                        format!("{CD}.sourceResourceId"),
                        format!("'{id}' is not the id of a managed disk or snapshot."),
                    ));
                }
                Creation::Copy { source_resource_id: id }
            }
            CreateOption::FromImage => Creation::FromImage {
                image_id: req.image_id.clone().ok_or_else(|| missing("galleryImageReference.id", "FromImage"))?,
                lun: req
                    .image_lun
                    .map(|l| {
                        i32::try_from(l).ok().filter(|l| *l >= 0).ok_or_else(|| {
                            Invalid::param(
                                format!("{CD}.galleryImageReference.lun"),
                                format!(
                                    "'{CD}.galleryImageReference.lun' must be a data disk LUN (0 or more), not {l}."
                                ),
                            )
                        })
                    })
                    .transpose()?,
            },
        };
        let disk_size_gb = match req.disk_size_gb {
            None if option == CreateOption::Empty => {
                return Err(Invalid::param(
                    "properties.diskSizeGB",
                    "'properties.diskSizeGB' is required when createOption is Empty.",
                ));
            }
            None => None,
            Some(n) if (1..=MAX_DISK_GB as i64).contains(&n) => Some(n as u64),
            Some(n) => {
                return Err(Invalid::param(
                    "properties.diskSizeGB",
                    format!("diskSizeGB {n} must be between 1 and {MAX_DISK_GB}."),
                ));
            }
        };
        let os_type = req.os_type.as_deref().map(|v| OsType::parse("properties.osType", v)).transpose()?;
        let hyper_v_generation = req
            .hyper_v_generation
            .as_deref()
            .map(|v| HyperVGeneration::parse("properties.hyperVGeneration", v))
            .transpose()?;
        let sku = match req.sku {
            None => "Standard_LRS".to_string(),
            Some(name) => canonical_sku(&name, snapshot)?,
        };
        let state = if option == CreateOption::Upload { DiskState::ReadyToUpload } else { DiskState::Unattached };
        Ok(Self {
            creation,
            os_type,
            hyper_v_generation,
            disk_size_gb,
            disk_size_bytes: None,
            sku,
            state,
            digest: None,
            unique_id,
            access: None,
            finishing: None,
            purchase_plan: req.purchase_plan,
        })
    }
}

/// Azure's disk storage SKUs, and the subset snapshots take.
const DISK_SKUS: &[&str] = &[
    "Standard_LRS",
    "Premium_LRS",
    "StandardSSD_LRS",
    "UltraSSD_LRS",
    "Premium_ZRS",
    "StandardSSD_ZRS",
    "PremiumV2_LRS",
];
const SNAPSHOT_SKUS: &[&str] = &["Standard_LRS", "Premium_LRS", "Standard_ZRS"];

/// A SKU name in Azure's casing, or the error ARM answers for an unknown one.
fn canonical_sku(name: &str, snapshot: bool) -> Result<String, Invalid> {
    let known = if snapshot { SNAPSHOT_SKUS } else { DISK_SKUS };
    known.iter().find(|k| k.eq_ignore_ascii_case(name)).map(|k| k.to_string()).ok_or_else(|| {
        Invalid::param(
            "sku.name",
            format!("The value '{name}' of sku.name is not valid. Allowed values: {}.", known.join(", ")),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(option: &str) -> DiskRequest {
        DiskRequest { create_option: Some(option.into()), ..Default::default() }
    }

    #[test]
    fn each_option_needs_its_field() {
        assert_eq!(Disk::create(req("Empty"), "u".into(), false).unwrap_err().target, "properties.diskSizeGB");
        assert!(Disk::create(DiskRequest { disk_size_gb: Some(8), ..req("empty") }, "u".into(), false).is_ok());
        assert_eq!(
            Disk::create(req("Import"), "u".into(), false).unwrap_err().target,
            "properties.creationData.sourceUri"
        );
        assert_eq!(
            Disk::create(req("Copy"), "u".into(), false).unwrap_err().target,
            "properties.creationData.sourceResourceId"
        );
        assert!(Disk::create(req("FromImage"), "u".into(), false).is_err());
        assert!(
            Disk::create(req("Teleport"), "u".into(), false)
                .unwrap_err()
                .message
                .contains("Empty, Import, Upload, Copy, FromImage")
        );
    }

    #[test]
    fn upload_sizes_are_vhd_sized() {
        let up = |n: i64| Disk::create(DiskRequest { upload_size_bytes: Some(n), ..req("Upload") }, "u".into(), false);
        assert_eq!(up(MIN_UPLOAD_BYTES as i64).unwrap().state, DiskState::ReadyToUpload);
        assert!(up(MIN_UPLOAD_BYTES as i64 - 1).is_err());
        assert!(up(32 * (1 << 20)).is_err(), "no footer room");
        assert!(up(-1).is_err());
        assert!(up((MAX_DISK_GB << 30 | 512) as i64).is_ok());
        assert!(up(((MAX_DISK_GB + 1) << 30 | 512) as i64).is_err(), "larger than a disk may be");
        assert!(up((1i64 << 62) + 512).is_err(), "4 EiB");
    }

    #[test]
    fn skus_are_azures() {
        let with = |sku: &str, snapshot: bool| {
            Disk::create(
                DiskRequest { sku: Some(sku.into()), disk_size_gb: Some(1), ..req("Empty") },
                "u".into(),
                snapshot,
            )
        };
        assert_eq!(with("premium_lrs", false).unwrap().sku, "Premium_LRS");
        assert!(with("Gold_LRS", false).unwrap_err().message.contains("Gold_LRS"));
        assert!(with("UltraSSD_LRS", false).is_ok());
    }

    #[test]
    fn copy_needs_a_disk_or_snapshot_and_snapshots_cannot_be_empty() {
        let copy = |id: &str| {
            Disk::create(DiskRequest { source_resource_id: Some(id.into()), ..req("Copy") }, "u".into(), true)
        };
        assert!(copy("/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/disks/d").is_ok());
        assert!(copy("/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/images/i").is_err());
        assert!(Disk::create(DiskRequest { disk_size_gb: Some(1), ..req("Empty") }, "u".into(), true).is_err());
    }
}
