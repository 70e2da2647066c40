//! `Microsoft.Compute/images` (managed images).

use galleon_model::managed_image::{ImageDisk, ImageDiskRequest, ImageDiskSource, ImageRequest, ManagedImage};
use galleon_model::resource::Tracked;
use serde::{Deserialize, Serialize};

use crate::Resource;
use crate::version::IdOnly;

/// ARM type name.
pub const TYPE: &str = "Microsoft.Compute/images";

/// `properties` of a managed image.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ManagedImageProperties {
    /// The VM it was captured from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_virtual_machine: Option<IdOnly>,
    /// Its disks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_profile: Option<ImageStorageProfile>,
    /// V1 | V2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hyper_v_generation: Option<String>,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
}

/// `storageProfile`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageStorageProfile {
    /// OS disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_disk: Option<ImageDiskWire>,
    /// Data disks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_disks: Option<Vec<ImageDiskWire>>,
    /// Echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_resilient: Option<bool>,
}

/// One disk of an image (OS disks have `osType`/`osState`, data disks `lun`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageDiskWire {
    /// Data disks only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lun: Option<i64>,
    /// OS disk only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    /// OS disk only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_state: Option<String>,
    /// Source snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<IdOnly>,
    /// Source disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_disk: Option<IdOnly>,
    /// Source VHD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_uri: Option<String>,
    /// Caching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caching: Option<String>,
    /// Size.
    #[serde(rename = "diskSizeGB", default, skip_serializing_if = "Option::is_none")]
    pub disk_size_gb: Option<u64>,
    /// galleon: content digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// A managed image on the wire.
pub type ManagedImageResource = Resource<ManagedImageProperties>;

fn disk_request(d: &ImageDiskWire) -> ImageDiskRequest {
    ImageDiskRequest {
        snapshot: d.snapshot.as_ref().and_then(|x| x.id.clone()),
        managed_disk: d.managed_disk.as_ref().and_then(|x| x.id.clone()),
        blob_uri: d.blob_uri.clone(),
        caching: d.caching.clone(),
    }
}

/// A request body as the model's request.
pub fn to_request(p: ManagedImageProperties) -> ImageRequest {
    let sp = p.storage_profile.unwrap_or_default();
    ImageRequest {
        os_type: sp.os_disk.as_ref().and_then(|d| d.os_type.clone()),
        os_state: sp.os_disk.as_ref().and_then(|d| d.os_state.clone()),
        hyper_v_generation: p.hyper_v_generation,
        os_disk: sp.os_disk.as_ref().map(disk_request),
        data_disks: sp.data_disks.unwrap_or_default().iter().map(|d| (d.lun, disk_request(d))).collect(),
        source_virtual_machine: p.source_virtual_machine.and_then(|x| x.id),
    }
}

fn disk_wire(d: &ImageDisk, os_disk: bool) -> ImageDiskWire {
    let mut w = ImageDiskWire {
        caching: Some(d.effective_caching(os_disk).as_str().into()),
        disk_size_gb: d.disk_size_gb,
        digest: d.digest.clone(),
        ..Default::default()
    };
    match &d.source {
        ImageDiskSource::Snapshot(id) => w.snapshot = Some(IdOnly { id: Some(id.clone()) }),
        ImageDiskSource::ManagedDisk(id) => w.managed_disk = Some(IdOnly { id: Some(id.clone()) }),
        ImageDiskSource::BlobUri(uri) => w.blob_uri = Some(uri.clone()),
        ImageDiskSource::FromVirtualMachine => {}
    }
    w
}

/// The model as ARM shows it.
pub fn to_wire(r: &Tracked<ManagedImage>) -> ManagedImageResource {
    let i = &r.properties;
    let mut os = disk_wire(&i.os_disk, true);
    os.os_type = Some(i.os_type.as_str().into());
    os.os_state = Some(i.os_state.as_str().into());
    Resource {
        identity: None,
        name: Some(r.name.clone()),
        id: Some(r.id.clone()),
        kind: Some(TYPE.into()),
        location: Some(r.location.clone()),
        tags: Some(r.tags.clone()),
        properties: Some(ManagedImageProperties {
            source_virtual_machine: i.source_virtual_machine.clone().map(|id| IdOnly { id: Some(id) }),
            storage_profile: Some(ImageStorageProfile {
                os_disk: Some(os),
                data_disks: Some(
                    i.data_disks
                        .iter()
                        .map(|(lun, d)| ImageDiskWire { lun: Some(i64::from(*lun)), ..disk_wire(d, false) })
                        .collect(),
                ),
                zone_resilient: Some(false),
            }),
            hyper_v_generation: Some(i.hyper_v_generation.as_str().into()),
            provisioning_state: Some(r.provisioning_state.as_str().into()),
        }),
    }
}
