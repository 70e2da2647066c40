//! `Microsoft.Compute/virtualMachines`, as far as galleon keeps them.

use galleon_model::resource::Tracked;
use galleon_model::vm::{DataDiskPlan, DataDiskRequest, OsDiskPlan, VirtualMachine, VmRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Resource;
use crate::disk::ImageReference;
use crate::version::IdOnly;

/// ARM type name.
pub const TYPE: &str = "Microsoft.Compute/virtualMachines";

/// `properties` of a VM.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VmProperties {
    /// `{"vmSize": …}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_profile: Option<Value>,
    /// Disks and image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_profile: Option<VmStorageProfile>,
    /// Echoed without secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_profile: Option<Value>,
    /// Echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_profile: Option<Value>,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_view: Option<Value>,
}

/// `storageProfile` of a VM.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VmStorageProfile {
    /// The image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_reference: Option<ImageReference>,
    /// OS disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_disk: Option<VmDisk>,
    /// Data disks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_disks: Option<Vec<VmDisk>>,
}

/// A VM disk.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VmDisk {
    /// LUN (data disks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lun: Option<i64>,
    /// Disk name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// FromImage | Attach | Empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_option: Option<String>,
    /// Caching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caching: Option<String>,
    /// OS type (OS disk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    /// The managed disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_disk: Option<IdOnly>,
    /// Size.
    #[serde(rename = "diskSizeGB", default, skip_serializing_if = "Option::is_none")]
    pub disk_size_gb: Option<i64>,
}

/// A VM on the wire.
pub type VmResource = Resource<VmProperties>;

/// A request body as the model's request.
pub fn to_request(p: VmProperties) -> VmRequest {
    let sp = p.storage_profile.unwrap_or_default();
    let os = sp.os_disk.unwrap_or_default();
    let os_profile = p.os_profile.map(|mut v| {
        if let Some(o) = v.as_object_mut() {
            o.remove("adminPassword");
            o.remove("customData");
        }
        v.to_string()
    });
    VmRequest {
        vm_size: p.hardware_profile.as_ref().and_then(|h| h.get("vmSize")).and_then(|s| s.as_str()).map(String::from),
        image_id: sp.image_reference.and_then(|r| r.id.or(r.shared_gallery_image_id).or(r.community_gallery_image_id)),
        os_create_option: os.create_option,
        os_disk_id: os.managed_disk.and_then(|m| m.id),
        os_disk_name: os.name,
        os_caching: os.caching,
        data_disks: sp
            .data_disks
            .unwrap_or_default()
            .into_iter()
            .map(|d| DataDiskRequest {
                lun: d.lun,
                create_option: d.create_option,
                managed_disk_id: d.managed_disk.and_then(|m| m.id),
                disk_size_gb: d.disk_size_gb,
            })
            .collect(),
        os_profile,
        network_profile: p.network_profile.map(|v| v.to_string()),
    }
}

/// The `instanceView` statuses.
pub fn instance_view(r: &Tracked<VirtualMachine>) -> Value {
    let provisioning = r.provisioning_state.as_str();
    let power = r.properties.power_state.as_str();
    json!({ "statuses": [
        { "code": format!("ProvisioningState/{}", provisioning.to_ascii_lowercase()), "level": "Info",
          "displayStatus": format!("Provisioning {}", provisioning.to_ascii_lowercase()) },
        { "code": format!("PowerState/{power}"), "level": "Info", "displayStatus": format!("VM {power}") },
    ] })
}

/// The model as ARM shows it.
pub fn to_wire(r: &Tracked<VirtualMachine>, expand_instance_view: bool) -> VmResource {
    let vm = &r.properties;
    let name_of = |id: &Option<String>| id.as_deref().and_then(|i| i.rsplit('/').next()).map(String::from);
    let os_disk = VmDisk {
        name: Some(vm.os_disk_name.clone()),
        create_option: Some(
            match vm.os_disk_plan {
                OsDiskPlan::FromImage(_) => "FromImage",
                OsDiskPlan::Attach(_) => "Attach",
            }
            .into(),
        ),
        caching: vm.os_disk_caching.map(|c| c.as_str().into()),
        managed_disk: vm.os_disk_id.clone().map(|id| IdOnly { id: Some(id) }),
        ..Default::default()
    };
    let data_disks = vm
        .data_disks
        .iter()
        .map(|(lun, plan, id)| VmDisk {
            lun: Some(i64::from(*lun)),
            name: name_of(id),
            create_option: Some(
                match plan {
                    DataDiskPlan::Attach(_) => "Attach",
                    DataDiskPlan::Empty(_) => "Empty",
                    DataDiskPlan::FromImage => "FromImage",
                }
                .into(),
            ),
            managed_disk: id.clone().map(|id| IdOnly { id: Some(id) }),
            disk_size_gb: match plan {
                DataDiskPlan::Empty(gb) => Some(*gb as i64),
                DataDiskPlan::Attach(_) | DataDiskPlan::FromImage => None,
            },
            ..Default::default()
        })
        .collect();
    let parse = |s: &Option<String>| s.as_deref().and_then(|t| serde_json::from_str(t).ok());
    Resource {
        identity: None,
        name: Some(r.name.clone()),
        id: Some(r.id.clone()),
        kind: Some(TYPE.into()),
        location: Some(r.location.clone()),
        tags: Some(r.tags.clone()),
        properties: Some(VmProperties {
            hardware_profile: Some(json!({ "vmSize": vm.vm_size })),
            storage_profile: Some(VmStorageProfile {
                image_reference: vm.image_reference.clone().map(crate::disk::image_reference),
                os_disk: Some(os_disk),
                data_disks: Some(data_disks),
            }),
            os_profile: parse(&vm.os_profile),
            network_profile: parse(&vm.network_profile),
            provisioning_state: Some(r.provisioning_state.as_str().into()),
            instance_view: expand_instance_view.then(|| instance_view(r)),
        }),
    }
}
