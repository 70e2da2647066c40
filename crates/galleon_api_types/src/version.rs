//! `Microsoft.Compute/galleries/images/versions` (image versions).

use galleon_model::Invalid;
use galleon_model::image_version::{
    DiskImage, DiskRequest, DiskSource, ImageVersion, PublishingRequest, SourceKind, TargetRegionRequest,
    VersionRequest,
};
use galleon_model::region::display_name;
use galleon_model::resource::Tracked;
use galleon_model::states::aggregate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Resource, dates};

/// ARM type name.
pub const TYPE: &str = "Microsoft.Compute/galleries/images/versions";

/// Api-versions before this one carry the source in `publishingProfile.source.managedImage`.
pub const STORAGE_PROFILE_SOURCE_SINCE: &str = "2019-07-01";

/// `properties` of a version.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VersionProperties {
    /// Publishing profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publishing_profile: Option<PublishingWire>,
    /// Storage profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_profile: Option<StorageWire>,
    /// Safety profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_profile: Option<SafetyWire>,
    /// Only with `$expand=ReplicationStatus`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_status: Option<ReplicationStatusWire>,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// UEFI settings (set at creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_profile: Option<crate::security_profile::SecurityProfileWire>,
    /// `true` restores the soft-deleted version of this name (request only).
    #[serde(default, skip_serializing)]
    pub restore: Option<bool>,
}

/// `publishingProfile`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PublishingWire {
    /// Target regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_regions: Option<Vec<TargetRegionWire>>,
    /// Default replicas per region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_count: Option<i64>,
    /// Excluded from latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_from_latest: Option<bool>,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_date: Option<String>,
    /// End of life.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_life_date: Option<String>,
    /// Default storage type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account_type: Option<String>,
    /// Full | Shallow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_mode: Option<String>,
    /// 2018-06-01 / 2019-03-01 source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<LegacySource>,
    /// Not implemented yet: refused.
    #[serde(default, skip_serializing)]
    pub target_extended_locations: Option<Value>,
}

/// 2018-06-01 `publishingProfile.source`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LegacySource {
    /// The managed image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_image: Option<IdOnly>,
}

/// `{"id": …}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct IdOnly {
    /// The id.
    #[serde(default)]
    pub id: Option<String>,
}

/// One target region.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TargetRegionWire {
    /// Region (display name in responses).
    #[serde(default)]
    pub name: Option<String>,
    /// Replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regional_replica_count: Option<i64>,
    /// Storage type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account_type: Option<String>,
    /// Encryption settings, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Value>,
    /// Region-level latest exclusion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_from_latest: Option<bool>,
}

/// `storageProfile`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StorageWire {
    /// Artifact-level source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<FullSource>,
    /// OS disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_disk_image: Option<DiskWire>,
    /// Data disks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_disk_images: Option<Vec<DataDiskWire>>,
}

/// `storageProfile.source`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FullSource {
    /// Managed image, VM or version id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// VM id (newer api-versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_machine_id: Option<String>,
    /// A community gallery's image or version (`/CommunityGalleries/{p}/Images/{i}[/Versions/{v}]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_gallery_image_id: Option<String>,
}

/// A disk image.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DiskWire {
    /// Size (read-only).
    #[serde(rename = "sizeInGB", default, skip_serializing_if = "Option::is_none")]
    pub size_in_gb: Option<u32>,
    /// Host caching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_caching: Option<String>,
    /// Source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<DiskSourceWire>,
    /// galleon: the content's manifest digest (BLAKE3), once built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// A data disk image: a disk image with its LUN.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DataDiskWire {
    /// LUN.
    #[serde(default)]
    pub lun: Option<i64>,
    /// Size, caching and source.
    #[serde(flatten)]
    pub disk: DiskWire,
}

/// A disk's source.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DiskSourceWire {
    /// Disk or snapshot id (or a storage account id, 2020-09-30 VHD form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// VHD URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Storage account id of a VHD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account_id: Option<String>,
}

/// `safetyProfile`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SafetyWire {
    /// Whether regions may be removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_deletion_of_replicated_locations: Option<bool>,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_for_policy_violation: Option<bool>,
    /// Whether deletes before EOL are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_deletion_before_end_of_life: Option<bool>,
}

/// `replicationStatus`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationStatusWire {
    /// Unknown | InProgress | Completed | Failed.
    pub aggregated_state: String,
    /// Per region.
    pub summary: Vec<RegionReplicationWire>,
}

/// One region of `replicationStatus.summary`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RegionReplicationWire {
    /// Display name.
    pub region: String,
    /// Unknown | Replicating | Completed | Failed.
    pub state: String,
    /// Why.
    pub details: String,
    /// 0–100.
    pub progress: i64,
    /// galleon's addition: bytes copied, bytes to copy, rate and time left (Azure's clients
    /// ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferWire>,
}

impl TransferWire {
    /// `12 of 64 MiB, 10.0 MiB/s, about 5 s left` (the CLI's and the portal's words).
    pub fn describe(&self) -> String {
        let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
        let mut out = format!("{:.0} of {:.0} MiB", mib(self.bytes_done), mib(self.bytes_needed));
        if let Some(rate) = self.bytes_per_second {
            out.push_str(&format!(", {:.1} MiB/s", mib(rate)));
        }
        match self.eta_seconds {
            Some(0) => {}
            Some(s) => out.push_str(&format!(", about {s} s left")),
            None if self.bytes_done < self.bytes_needed => out.push_str(", starting"),
            None => {}
        }
        out
    }
}

/// A region's copy in bytes (whole 1 MiB chunks).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TransferWire {
    pub bytes_done: u64,
    pub bytes_needed: u64,
    /// From the start of the copy to its last count; absent before any byte moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_per_second: Option<u64>,
    /// At that rate; 0 once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<u64>,
}

/// A version on the wire.
pub type VersionResource = Resource<VersionProperties>;

const PP: &str = "galleryImageVersion.properties.publishingProfile";

fn disk_request(d: DiskWire) -> DiskRequest {
    DiskRequest { host_caching: d.host_caching, source: d.source.map(disk_source) }
}

fn disk_source(s: DiskSourceWire) -> DiskSource {
    DiskSource { id: s.id, uri: s.uri, storage_account_id: s.storage_account_id }
}

/// A request body as the model's request.
pub fn to_request(p: VersionProperties) -> Result<VersionRequest, Invalid> {
    crate::refuse_unsupported(&[(
        "properties.publishingProfile.targetExtendedLocations",
        p.publishing_profile.as_ref().is_some_and(|x| x.target_extended_locations.is_some()),
    )])?;
    let uefi = match p.security_profile.clone() {
        Some(sp) => crate::security_profile::to_request(sp)?,
        None => None,
    };
    let publishing = p.publishing_profile.clone();
    let legacy = publishing
        .as_ref()
        .and_then(|x| x.source.as_ref())
        .and_then(|s| s.managed_image.as_ref())
        .and_then(|m| m.id.clone());
    let storage = p.storage_profile.unwrap_or_default();
    let source = storage.source.unwrap_or_default();
    // galleon does not encrypt replicas with customer keys: a request for it is refused, never
    // echoed as if it were done (an empty `encryption` asks for nothing).
    let regions = publishing.as_ref().and_then(|x| x.target_regions.as_ref());
    for (i, r) in regions.into_iter().flatten().enumerate() {
        let asks = |v: &Value| match v {
            Value::Null => false,
            Value::Object(m) => m
                .values()
                .any(|x| !x.is_null() && x != &Value::Object(Default::default()) && x != &Value::Array(vec![])),
            _ => true,
        };
        if r.encryption.as_ref().is_some_and(asks) {
            return Err(Invalid::param(
                format!("properties.publishingProfile.targetRegions[{i}].encryption"),
                format!(
                    "The property 'properties.publishingProfile.targetRegions[{i}].encryption' (disk encryption sets) is not supported by galleon: replicas are not encrypted with customer keys."
                ),
            ));
        }
    }
    let publishing = match publishing {
        None => None,
        Some(x) => Some(PublishingRequest {
            target_regions: x.target_regions.map(|rs| {
                rs.into_iter()
                    .map(|r| TargetRegionRequest {
                        name: r.name,
                        regional_replica_count: r.regional_replica_count,
                        storage_account_type: r.storage_account_type,
                        exclude_from_latest: r.exclude_from_latest,
                        encryption: r.encryption.map(|e| e.to_string()),
                    })
                    .collect()
            }),
            replica_count: x.replica_count,
            exclude_from_latest: x.exclude_from_latest,
            end_of_life_date: dates::parse_opt(&format!("{PP}.endOfLifeDate"), x.end_of_life_date.as_deref())?,
            storage_account_type: x.storage_account_type,
            replication_mode: x.replication_mode,
        }),
    };
    Ok(VersionRequest {
        publishing,
        legacy_managed_image_id: legacy,
        source_id: source.id,
        community_source_id: source.community_gallery_image_id,
        virtual_machine_id: source.virtual_machine_id,
        os_disk: storage.os_disk_image.map(disk_request),
        data_disks: storage.data_disk_images.map(|ds| ds.into_iter().map(|d| (d.lun, disk_request(d.disk))).collect()),
        safety: p
            .safety_profile
            .map(|s| (s.allow_deletion_of_replicated_locations, s.block_deletion_before_end_of_life)),
        uefi,
        restore: p.restore,
    })
}

fn disk_wire(d: &DiskImage) -> DiskWire {
    DiskWire {
        size_in_gb: d.size_in_gb,
        host_caching: d.host_caching.map(|h| h.as_str().into()),
        digest: d.digest.clone(),
        source: d.source.as_ref().map(|s| DiskSourceWire {
            id: s.id.clone(),
            uri: s.uri.clone(),
            storage_account_id: s.storage_account_id.clone(),
        }),
    }
}

/// The model as ARM shows it for `api_version`; `expand` adds `replicationStatus`.
pub fn to_wire(r: &Tracked<ImageVersion>, api_version: &str, expand: bool) -> VersionResource {
    let v = &r.properties;
    let legacy = api_version < STORAGE_PROFILE_SOURCE_SINCE;
    let p = &v.publishing;
    let legacy_source = (legacy && v.source_kind == SourceKind::ManagedImage)
        .then(|| LegacySource { managed_image: Some(IdOnly { id: v.storage.source_id.clone() }) });
    let publishing = PublishingWire {
        target_regions: Some(
            p.target_regions
                .iter()
                .map(|t| TargetRegionWire {
                    name: Some(display_name(&t.name)),
                    regional_replica_count: Some(i64::from(t.regional_replica_count)),
                    storage_account_type: Some(t.storage_account_type.as_str().into()),
                    encryption: t.encryption.as_deref().and_then(|e| serde_json::from_str(e).ok()),
                    exclude_from_latest: t.exclude_from_latest,
                })
                .collect(),
        ),
        replica_count: Some(i64::from(p.replica_count)),
        exclude_from_latest: Some(p.exclude_from_latest),
        published_date: Some(dates::format(p.published_date)),
        end_of_life_date: p.end_of_life_date.map(dates::format),
        storage_account_type: Some(p.storage_account_type.as_str().into()),
        replication_mode: p.replication_mode.clone(),
        source: legacy_source,
        target_extended_locations: None,
    };
    let s = &v.storage;
    let has_source = s.source_id.is_some() || s.virtual_machine_id.is_some();
    let storage = StorageWire {
        source: (has_source && !legacy).then(|| {
            let community = s
                .source_id
                .as_deref()
                .is_some_and(|id| id.trim_start_matches('/').to_ascii_lowercase().starts_with("communitygalleries/"));
            FullSource {
                id: s.source_id.clone().filter(|_| !community),
                virtual_machine_id: s.virtual_machine_id.clone(),
                community_gallery_image_id: s.source_id.clone().filter(|_| community),
            }
        }),
        os_disk_image: s.os_disk.as_ref().map(disk_wire),
        data_disk_images: (!s.data_disks.is_empty()).then(|| {
            s.data_disks
                .iter()
                .map(|d| DataDiskWire { lun: Some(i64::from(d.lun)), disk: disk_wire(&d.disk) })
                .collect()
        }),
    };
    let replication_status = expand.then(|| ReplicationStatusWire {
        aggregated_state: aggregate(v.replication.iter().map(|s| s.state)).into(),
        summary: v
            .replication
            .iter()
            .map(|s| RegionReplicationWire {
                region: display_name(&s.region),
                state: s.state.as_str().into(),
                details: s.details.clone(),
                progress: i64::from(s.progress),
                transfer: s.transfer.map(|t| TransferWire {
                    bytes_done: t.bytes_done,
                    bytes_needed: t.bytes_needed,
                    bytes_per_second: t.bytes_per_second(),
                    eta_seconds: t.eta_seconds(),
                }),
            })
            .collect(),
    });
    Resource {
        name: Some(r.name.clone()),
        id: Some(r.id.clone()),
        kind: Some(TYPE.into()),
        location: Some(r.location.clone()),
        tags: Some(r.tags.clone()),
        properties: Some(VersionProperties {
            publishing_profile: Some(publishing),
            storage_profile: Some(storage),
            safety_profile: Some(SafetyWire {
                allow_deletion_of_replicated_locations: Some(v.safety.allow_deletion_of_replicated_locations),
                reported_for_policy_violation: Some(false),
                block_deletion_before_end_of_life: Some(v.safety.block_deletion_before_end_of_life),
            }),
            replication_status,
            provisioning_state: Some(r.provisioning_state.as_str().into()),
            security_profile: v.uefi.as_ref().map(crate::security_profile::to_wire),
            restore: None,
        }),
        identity: None,
    }
}

/// A soft-deleted version as `…/softDeletedArtifactTypes/Images/artifacts/{i}/versions` lists it.
pub fn soft_deleted_wire(gallery_id: &str, image: &str, r: &Tracked<ImageVersion>) -> Value {
    let d = r.properties.soft_deleted;
    let time = |t: Option<time::OffsetDateTime>| t.map(dates::format);
    serde_json::json!({
        "name": r.name,
        "id": format!("{gallery_id}/softDeletedArtifactTypes/Images/artifacts/{image}/versions/{}", r.name),
        "type": "Microsoft.Compute/galleries/softDeletedArtifactTypes/artifacts/versions",
        "location": r.location,
        "properties": {
            "resourceArmId": r.id,
            "softDeletedArtifactType": "Images",
            "softDeletedTime": time(d.map(|d| d.deleted_at)),
            "consumptionEndTime": time(d.map(|d| d.consumption_end)),
            "hardDeletionTargetTime": time(d.map(|d| d.hard_delete_at)),
        },
    })
}

#[cfg(test)]
mod transfer_tests {
    use super::TransferWire;

    #[test]
    fn transfers_are_described_in_mib_with_rate_and_time_left() {
        let mib = 1 << 20;
        let t = TransferWire {
            bytes_done: 12 * mib,
            bytes_needed: 64 * mib,
            bytes_per_second: Some(10 * mib),
            eta_seconds: Some(6),
        };
        assert_eq!(t.describe(), "12 of 64 MiB, 10.0 MiB/s, about 6 s left");
        let starting = TransferWire { bytes_done: 0, bytes_needed: 64 * mib, ..Default::default() };
        assert_eq!(starting.describe(), "0 of 64 MiB, starting");
        let done = TransferWire {
            bytes_done: 64 * mib,
            bytes_needed: 64 * mib,
            bytes_per_second: Some(mib),
            eta_seconds: Some(0),
        };
        assert_eq!(done.describe(), "64 of 64 MiB, 1.0 MiB/s");
    }
}
