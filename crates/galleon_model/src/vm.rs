//! Virtual machines (`Microsoft.Compute/virtualMachines`) as galleon keeps them: a record that
//! owns an OS disk and data disks, with a power state and a generalized flag. galleon does not
//! run guests; a VM exists so images can be captured from it and disks made for it, as in Azure.

use std::collections::HashSet;

use crate::Invalid;
use crate::enums::arm_enum;
use crate::image_version::HostCaching;
use crate::resource_id::{ResourceId, ResourceKind};

arm_enum!(
    /// Power state, as `instanceView` reports it (`PowerState/…`).
    PowerState { Running => "running", Stopped => "stopped", Deallocated => "deallocated" }
);

/// How a VM's OS disk is obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OsDiskPlan {
    /// A new disk from an image (gallery version, definition/latest, or managed image id).
    FromImage(String),
    /// An existing managed disk.
    Attach(String),
}

/// One data disk request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DataDiskPlan {
    /// An existing managed disk.
    Attach(String),
    /// A new empty disk of this many GiB.
    Empty(u64),
    /// A new disk made from the VM image's data disk at the same LUN.
    FromImage,
}

/// A VM.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct VirtualMachine {
    /// `hardwareProfile.vmSize`, echoed.
    pub vm_size: String,
    /// The image it was created from, if any.
    pub image_reference: Option<String>,
    /// Id of its OS disk once created or attached.
    pub os_disk_id: Option<String>,
    /// Name of the OS disk.
    pub os_disk_name: String,
    /// How to get the OS disk (kept for the build job).
    pub os_disk_plan: OsDiskPlan,
    /// OS disk caching.
    pub os_disk_caching: Option<HostCaching>,
    /// Data disks: (lun, plan, disk id once made).
    pub data_disks: Vec<(i32, DataDiskPlan, Option<String>)>,
    /// Power state.
    pub power_state: PowerState,
    /// Whether `generalize` was called.
    pub generalized: bool,
    /// `osProfile`, echoed as JSON text (secrets are not echoed).
    pub os_profile: Option<String>,
    /// `networkProfile`, echoed as JSON text.
    pub network_profile: Option<String>,
}

/// A VM create request.
#[derive(Debug, Clone, Default)]
pub struct VmRequest {
    /// `hardwareProfile.vmSize`
    pub vm_size: Option<String>,
    /// `storageProfile.imageReference.id`
    pub image_id: Option<String>,
    /// `storageProfile.osDisk.createOption`
    pub os_create_option: Option<String>,
    /// `storageProfile.osDisk.managedDisk.id`
    pub os_disk_id: Option<String>,
    /// `storageProfile.osDisk.name`
    pub os_disk_name: Option<String>,
    /// `storageProfile.osDisk.caching`
    pub os_caching: Option<String>,
    /// `storageProfile.dataDisks`.
    pub data_disks: Vec<DataDiskRequest>,
    /// `osProfile` as JSON text.
    pub os_profile: Option<String>,
    /// `networkProfile` as JSON text.
    pub network_profile: Option<String>,
}

/// One data disk of a VM request.
#[derive(Debug, Clone, Default)]
pub struct DataDiskRequest {
    /// `lun`
    pub lun: Option<i64>,
    /// `createOption` (Attach, Empty or FromImage)
    pub create_option: Option<String>,
    /// `managedDisk.id`
    pub managed_disk_id: Option<String>,
    /// `diskSizeGB`
    pub disk_size_gb: Option<i64>,
}

const SP: &str = "properties.storageProfile";

impl VirtualMachine {
    /// Validates a create request for VM `name`; `suffix` makes generated disk names unique.
    pub fn create(name: &str, req: VmRequest, suffix: &str) -> Result<Self, Invalid> {
        let option = req
            .os_create_option
            .clone()
            .unwrap_or_else(|| if req.image_id.is_some() { "FromImage".into() } else { "Attach".into() });
        let os_disk_plan = if option.eq_ignore_ascii_case("FromImage") {
            let id = req.image_id.clone().ok_or_else(|| {
                Invalid::param(
                    format!("{SP}.imageReference.id"),
                    "A VM whose OS disk is created FromImage needs storageProfile.imageReference.id.",
                )
            })?;
            match ResourceId::parse(&id).and_then(|r| r.kind()) {
                Some(ResourceKind::ManagedImage | ResourceKind::GalleryImageVersion) => {}
                _ if id.to_ascii_lowercase().contains("/providers/microsoft.compute/galleries/") => {}
                _ => {
                    return Err(Invalid::param(
                        format!("{SP}.imageReference.id"),
                        format!("'{id}' is not a gallery image version, image definition or managed image id."),
                    ));
                }
            }
            OsDiskPlan::FromImage(id)
        } else if option.eq_ignore_ascii_case("Attach") {
            let id = req.os_disk_id.clone().ok_or_else(|| {
                Invalid::param(
                    format!("{SP}.osDisk.managedDisk.id"),
                    "An attached OS disk needs storageProfile.osDisk.managedDisk.id.",
                )
            })?;
            if ResourceId::parse(&id).and_then(|r| r.kind()) != Some(ResourceKind::Disk) {
                return Err(Invalid::param(
                    format!("{SP}.osDisk.managedDisk.id"),
                    format!("'{id}' is not a managed disk id."),
                ));
            }
            OsDiskPlan::Attach(id)
        } else {
            return Err(Invalid::param(
                format!("{SP}.osDisk.createOption"),
                format!("createOption '{option}' must be FromImage or Attach."),
            ));
        };
        let os_disk_caching =
            req.os_caching.as_deref().map(|c| HostCaching::parse(&format!("{SP}.osDisk.caching"), c)).transpose()?;
        let mut luns = HashSet::new();
        let mut data_disks = Vec::new();
        for (i, d) in req.data_disks.iter().enumerate() {
            let (lun, option, id, size) = (d.lun, &d.create_option, &d.managed_disk_id, &d.disk_size_gb);
            let target = format!("{SP}.dataDisks[{i}]");
            let lun = lun
                .filter(|l| (0..64).contains(l))
                .ok_or_else(|| Invalid::param(format!("{target}.lun"), "lun must be between 0 and 63."))?;
            if !luns.insert(lun) {
                return Err(Invalid::param(
                    format!("{SP}.dataDisks"),
                    "Duplicated lun numbers have been detected in the input data disks. Lun number must be unique for each data disk.",
                ));
            }
            let plan = match (option.as_deref().map(str::to_ascii_lowercase).as_deref(), id, size) {
                (Some("attach"), Some(id), _) => DataDiskPlan::Attach(id.clone()),
                (Some("empty"), _, Some(gb)) if (1..=32767).contains(gb) => DataDiskPlan::Empty(*gb as u64),
                (Some("fromimage"), _, _) if matches!(os_disk_plan, OsDiskPlan::FromImage(_)) => {
                    DataDiskPlan::FromImage
                }
                (Some("fromimage"), _, _) => {
                    return Err(Invalid::param(
                        format!("{target}.createOption"),
                        "A data disk can be created FromImage only when the VM is created from an image.",
                    ));
                }
                _ => {
                    return Err(Invalid::param(
                        target,
                        "A data disk is Attach with managedDisk.id, Empty with diskSizeGB, or FromImage.",
                    ));
                }
            };
            data_disks.push((lun as i32, plan, None));
        }
        Ok(Self {
            vm_size: req.vm_size.unwrap_or_else(|| "Standard_DS1_v2".into()),
            image_reference: req.image_id,
            os_disk_id: None,
            os_disk_name: req.os_disk_name.unwrap_or_else(|| format!("{name}_OsDisk_1_{suffix}")),
            os_disk_plan,
            os_disk_caching,
            data_disks,
            power_state: PowerState::Running,
            generalized: false,
            os_profile: req.os_profile,
            network_profile: req.network_profile,
        })
    }
}

/// The processor architecture a VM size runs: Azure's Arm64 sizes carry `p` among the
/// lowercase feature letters after the vCPU count (`Standard_D2ps_v5`, `Standard_E4pds_v5`,
/// `Standard_B2pts_v2`); every other size is x64.
pub fn size_architecture(vm_size: &str) -> crate::image_definition::Architecture {
    let rest = vm_size.strip_prefix("Standard_").or_else(|| vm_size.strip_prefix("standard_")).unwrap_or(vm_size);
    let series = rest.split('_').next().unwrap_or_default();
    let features =
        series.trim_start_matches(|c: char| c.is_ascii_uppercase()).trim_start_matches(|c: char| c.is_ascii_digit());
    if features.contains('p') && features.chars().all(|c| c.is_ascii_lowercase()) {
        crate::image_definition::Architecture::Arm64
    } else {
        crate::image_definition::Architecture::X64
    }
}

/// A VM of `vm_size` can boot an image of `image`'s architecture.
pub fn check_architecture(vm_size: &str, image: crate::image_definition::Architecture) -> Result<(), Invalid> {
    let size = size_architecture(vm_size);
    if size == image {
        return Ok(());
    }
    Err(Invalid::param(
        "properties.hardwareProfile.vmSize",
        format!(
            "The VM size '{vm_size}' runs {} images; the image is {}. Choose a size of the image's architecture.",
            size.as_str(),
            image.as_str()
        ),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn arm64_sizes_are_told_apart() {
        use crate::image_definition::Architecture::{Arm64, X64};
        for (size, arch) in [
            ("Standard_D2ps_v5", Arm64),
            ("Standard_E4pds_v5", Arm64),
            ("Standard_B2pts_v2", Arm64),
            ("Standard_D2plds_v5", Arm64),
            ("Standard_DS1_v2", X64),
            ("Standard_D2s_v5", X64),
            ("Standard_B1ms", X64),
            ("Standard_D2as_v5", X64),
        ] {
            assert_eq!(super::size_architecture(size), arch, "{size}");
        }
        assert!(super::check_architecture("Standard_D2ps_v5", X64).is_err());
        assert!(super::check_architecture("Standard_DS1_v2", X64).is_ok());
    }

    use super::*;

    const VERSION: &str =
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0";

    #[test]
    fn from_image_and_attach() {
        let vm =
            VirtualMachine::create("vm1", VmRequest { image_id: Some(VERSION.into()), ..Default::default() }, "abc")
                .unwrap();
        assert_eq!(vm.os_disk_plan, OsDiskPlan::FromImage(VERSION.into()));
        assert_eq!(vm.os_disk_name, "vm1_OsDisk_1_abc");
        let disk = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/disks/d";
        let attach =
            VmRequest { os_create_option: Some("Attach".into()), os_disk_id: Some(disk.into()), ..Default::default() };
        assert_eq!(VirtualMachine::create("vm", attach, "x").unwrap().os_disk_plan, OsDiskPlan::Attach(disk.into()));
    }

    #[test]
    fn refusals() {
        assert!(VirtualMachine::create("vm", VmRequest::default(), "x").is_err());
        let bad = VmRequest {
            image_id: Some("/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/disks/d".into()),
            ..Default::default()
        };
        assert!(VirtualMachine::create("vm", bad, "x").is_err());
        let empty = DataDiskRequest {
            lun: Some(0),
            create_option: Some("Empty".into()),
            managed_disk_id: None,
            disk_size_gb: Some(1),
        };
        let dup =
            VmRequest { image_id: Some(VERSION.into()), data_disks: vec![empty.clone(), empty], ..Default::default() };
        assert!(VirtualMachine::create("vm", dup, "x").unwrap_err().message.contains("Duplicated lun"));
    }
}
