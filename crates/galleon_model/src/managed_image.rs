//! Managed images (`Microsoft.Compute/images`): an OS disk and data disks, each taken from a
//! snapshot, a managed disk or a VHD blob, or all of them from a virtual machine.

use std::collections::HashSet;

use crate::Invalid;
use crate::image_definition::{HyperVGeneration, OsState, OsType};
use crate::image_version::HostCaching;
use crate::resource_id::{ResourceId, ResourceKind};

/// Where one disk of an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ImageDiskSource {
    /// `snapshot.id`
    Snapshot(String),
    /// `managedDisk.id`
    ManagedDisk(String),
    /// `blobUri`
    BlobUri(String),
    /// Taken from the source virtual machine.
    FromVirtualMachine,
}

/// One disk of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ImageDisk {
    /// Source.
    pub source: ImageDiskSource,
    /// Host caching.
    pub caching: Option<HostCaching>,
    /// Size, once known.
    pub disk_size_gb: Option<u64>,
    /// Content digest, once built.
    pub digest: Option<String>,
}

impl ImageDisk {
    /// Host caching as Azure reports it: what was asked, else `ReadWrite` for the OS disk and
    /// `None` for a data disk.
    pub fn effective_caching(&self, os_disk: bool) -> HostCaching {
        self.caching.unwrap_or(if os_disk { HostCaching::ReadWrite } else { HostCaching::None })
    }
}

/// A managed image.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ManagedImage {
    /// OS type of the OS disk.
    pub os_type: OsType,
    /// OS state of the OS disk.
    pub os_state: OsState,
    /// Hyper-V generation.
    pub hyper_v_generation: HyperVGeneration,
    /// The OS disk.
    pub os_disk: ImageDisk,
    /// Data disks by LUN.
    pub data_disks: Vec<(i32, ImageDisk)>,
    /// `sourceVirtualMachine.id`, when captured from a VM.
    pub source_virtual_machine: Option<String>,
    /// The Marketplace plan of the OS disk's content, if any.
    pub purchase_plan: Option<crate::image_definition::PurchasePlan>,
}

/// One disk as a request gives it.
#[derive(Debug, Clone, Default)]
pub struct ImageDiskRequest {
    /// `snapshot.id`
    pub snapshot: Option<String>,
    /// `managedDisk.id`
    pub managed_disk: Option<String>,
    /// `blobUri`
    pub blob_uri: Option<String>,
    /// `caching`
    pub caching: Option<String>,
}

/// An image create request.
#[derive(Debug, Clone, Default)]
pub struct ImageRequest {
    /// `storageProfile.osDisk.osType`
    pub os_type: Option<String>,
    /// `storageProfile.osDisk.osState`
    pub os_state: Option<String>,
    /// `hyperVGeneration`
    pub hyper_v_generation: Option<String>,
    /// `storageProfile.osDisk`
    pub os_disk: Option<ImageDiskRequest>,
    /// `storageProfile.dataDisks`: (lun, disk)
    pub data_disks: Vec<(Option<i64>, ImageDiskRequest)>,
    /// `sourceVirtualMachine.id`
    pub source_virtual_machine: Option<String>,
}

const SP: &str = "properties.storageProfile";

fn disk(req: &ImageDiskRequest, target: &str, from_vm: bool) -> Result<ImageDisk, Invalid> {
    let caching = req.caching.as_deref().map(|c| HostCaching::parse(&format!("{target}.caching"), c)).transpose()?;
    let given =
        [req.snapshot.is_some(), req.managed_disk.is_some(), req.blob_uri.is_some()].iter().filter(|x| **x).count();
    let source = match (&req.snapshot, &req.managed_disk, &req.blob_uri) {
        _ if given > 1 => {
            return Err(Invalid::param(
                target,
                format!("'{target}' must name exactly one of snapshot, managedDisk or blobUri."),
            ));
        }
        (Some(id), _, _) => {
            expect(id, ResourceKind::Snapshot, &format!("{target}.snapshot.id"))?;
            ImageDiskSource::Snapshot(id.clone())
        }
        (_, Some(id), _) => {
            expect(id, ResourceKind::Disk, &format!("{target}.managedDisk.id"))?;
            ImageDiskSource::ManagedDisk(id.clone())
        }
        (_, _, Some(uri)) => ImageDiskSource::BlobUri(uri.clone()),
        (None, None, None) if from_vm => ImageDiskSource::FromVirtualMachine,
        (None, None, None) => {
            return Err(Invalid::param(
                target,
                format!("'{target}' needs a snapshot, managedDisk or blobUri (or the image a sourceVirtualMachine)."),
            ));
        }
    };
    if from_vm && source != ImageDiskSource::FromVirtualMachine {
        return Err(Invalid::param(
            target,
            "An image captured from a virtual machine takes its disks from it; do not name disk sources too.",
        ));
    }
    Ok(ImageDisk { source, caching, disk_size_gb: None, digest: None })
}

fn expect(id: &str, kind: ResourceKind, target: &str) -> Result<(), Invalid> {
    match ResourceId::parse(id).and_then(|r| r.kind()) {
        Some(k) if k == kind => Ok(()),
        _ => Err(Invalid::param(target, format!("'{id}' is not the id of a {}.", kind.type_name()))),
    }
}

impl ManagedImage {
    /// Validates a create request.
    pub fn create(req: ImageRequest) -> Result<Self, Invalid> {
        let from_vm = match &req.source_virtual_machine {
            Some(id) => {
                expect(id, ResourceKind::VirtualMachine, "properties.sourceVirtualMachine.id")?;
                true
            }
            None => false,
        };
        let os_req = req.os_disk.clone().unwrap_or_default();
        if !from_vm && req.os_disk.is_none() {
            return Err(Invalid::param(format!("{SP}.osDisk"), format!("'{SP}.osDisk' is required.")));
        }
        let os_type = match (&req.os_type, from_vm) {
            (Some(v), _) => OsType::parse(&format!("{SP}.osDisk.osType"), v)?,
            (None, true) => OsType::Linux,
            (None, false) => {
                return Err(Invalid::param(
                    format!("{SP}.osDisk.osType"),
                    format!("'{SP}.osDisk.osType' is required."),
                ));
            }
        };
        let os_state = match &req.os_state {
            Some(v) => OsState::parse(&format!("{SP}.osDisk.osState"), v)?,
            None => OsState::Generalized,
        };
        let hyper_v_generation = match &req.hyper_v_generation {
            Some(v) => HyperVGeneration::parse("properties.hyperVGeneration", v)?,
            None => HyperVGeneration::V1,
        };
        let os_disk = disk(&os_req, &format!("{SP}.osDisk"), from_vm)?;
        let mut luns = HashSet::new();
        let mut data_disks = Vec::new();
        for (i, (lun, d)) in req.data_disks.iter().enumerate() {
            let target = format!("{SP}.dataDisks[{i}]");
            let lun = lun.filter(|l| (0..=i64::from(i32::MAX)).contains(l)).ok_or_else(|| {
                Invalid::param(
                    format!("{target}.lun"),
                    format!("'{target}.lun' is required and must be between 0 and 2147483647."),
                )
            })?;
            if !luns.insert(lun) {
                return Err(Invalid::param(
                    format!("{SP}.dataDisks"),
                    "Duplicated lun numbers have been detected in the input data disks. Lun number must be unique for each data disk.",
                ));
            }
            data_disks.push((lun as i32, disk(d, &target, false)?));
        }
        Ok(Self {
            os_type,
            os_state,
            hyper_v_generation,
            os_disk,
            data_disks,
            source_virtual_machine: req.source_virtual_machine,
            purchase_plan: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAP: &str = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/snapshots/s";
    const DISK: &str = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/disks/d";

    fn req() -> ImageRequest {
        ImageRequest {
            os_type: Some("Linux".into()),
            os_disk: Some(ImageDiskRequest { snapshot: Some(SNAP.into()), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn accepts_each_source_and_defaults() {
        let img = ManagedImage::create(req()).unwrap();
        assert_eq!(img.os_state, OsState::Generalized);
        assert_eq!(img.os_disk.source, ImageDiskSource::Snapshot(SNAP.into()));
        let mut r = req();
        r.data_disks = vec![(Some(0), ImageDiskRequest { managed_disk: Some(DISK.into()), ..Default::default() })];
        assert_eq!(ManagedImage::create(r).unwrap().data_disks.len(), 1);
        let vm = ImageRequest {
            source_virtual_machine: Some(
                "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v".into(),
            ),
            ..Default::default()
        };
        assert_eq!(ManagedImage::create(vm).unwrap().os_disk.source, ImageDiskSource::FromVirtualMachine);
    }

    #[test]
    fn refuses_bad_shapes() {
        let mut r = req();
        r.os_disk.as_mut().unwrap().managed_disk = Some(DISK.into());
        assert!(ManagedImage::create(r).unwrap_err().message.contains("exactly one"));
        let mut r = req();
        r.os_disk = Some(ImageDiskRequest { snapshot: Some(DISK.into()), ..Default::default() });
        assert!(ManagedImage::create(r).is_err());
        let mut r = req();
        r.os_type = None;
        assert!(ManagedImage::create(r).is_err());
        let mut r = req();
        let d = ImageDiskRequest { managed_disk: Some(DISK.into()), ..Default::default() };
        r.data_disks = vec![(Some(1), d.clone()), (Some(1), d)];
        assert!(ManagedImage::create(r).unwrap_err().message.contains("Duplicated lun"));
    }
}
