use time::macros::datetime;

use super::*;
use crate::InvalidCode;

const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);
const MI: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/mi";
const SNAP: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/snapshots/os";
const DISK: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/data";
const SA: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct";

fn region(name: &str, count: Option<i64>, ty: Option<&str>) -> TargetRegionRequest {
    TargetRegionRequest {
        name: Some(name.into()),
        regional_replica_count: count,
        storage_account_type: ty.map(Into::into),
        ..Default::default()
    }
}

/// The seed's `--target-regions "westcentralus" "southcentralus=1" "eastus=1=standard_zrs" --replica-count 2`.
fn seed_request() -> VersionRequest {
    VersionRequest {
        publishing: Some(PublishingRequest {
            target_regions: Some(vec![
                region("westcentralus", None, None),
                region("southcentralus", Some(1), None),
                region("eastus", Some(1), Some("standard_zrs")),
            ]),
            replica_count: Some(2),
            ..Default::default()
        }),
        source_id: Some(MI.into()),
        ..Default::default()
    }
}

#[test]
fn seed_example_resolves_defaults() {
    let v = ImageVersion::create(seed_request(), "westcentralus", NOW).unwrap();
    let r = &v.publishing.target_regions;
    assert_eq!((r[0].regional_replica_count, r[0].storage_account_type), (2, StorageAccountType::StandardLrs));
    assert_eq!((r[1].regional_replica_count, r[1].storage_account_type), (1, StorageAccountType::StandardLrs));
    assert_eq!((r[2].regional_replica_count, r[2].storage_account_type), (1, StorageAccountType::StandardZrs));
    assert_eq!(v.publishing.replica_count, 2);
    assert_eq!(v.publishing.published_date, NOW);
    assert_eq!(v.source_kind, SourceKind::ManagedImage);
    assert_eq!(v.replication.len(), 3);
    assert!(v.replication.iter().all(|s| s.state == ReplicationState::Unknown));
}

#[test]
fn no_target_regions_defaults_to_location_and_count_one() {
    let req = VersionRequest { source_id: Some(MI.into()), ..Default::default() };
    let v = ImageVersion::create(req, "eastus2", NOW).unwrap();
    assert_eq!(v.publishing.target_regions.len(), 1);
    assert_eq!(v.publishing.target_regions[0].name, "eastus2");
    assert_eq!(v.publishing.target_regions[0].regional_replica_count, 1);
}

#[test]
fn region_names_are_canonicalised_and_must_include_location() {
    let mut req = seed_request();
    req.publishing.as_mut().unwrap().target_regions = Some(vec![region("West Central US", None, None)]);
    let v = ImageVersion::create(req, "westcentralus", NOW).unwrap();
    assert_eq!(v.publishing.target_regions[0].name, "westcentralus");
    let err = ImageVersion::create(seed_request(), "westus2", NOW).unwrap_err();
    assert!(err.message.contains("must contain the location"), "{}", err.message);
}

#[test]
fn target_region_shape_rules() {
    let mut req = seed_request();
    req.publishing.as_mut().unwrap().target_regions =
        Some(vec![region("eastus", None, None), region("EastUS", None, None)]);
    let err = ImageVersion::create(req, "eastus", NOW).unwrap_err();
    assert_eq!(err.message, "Duplicate regions are not allowed in target publishing regions.");

    let mut req = seed_request();
    req.publishing.as_mut().unwrap().target_regions = Some(vec![region("eastus", Some(0), None)]);
    let err = ImageVersion::create(req, "eastus", NOW).unwrap_err();
    assert_eq!(err.target, "galleryImageVersion.properties.publishingProfile.targetRegions[0].regionalReplicaCount");

    let mut req = seed_request();
    req.publishing.as_mut().unwrap().replica_count = Some(101);
    assert!(ImageVersion::create(req, "westcentralus", NOW).unwrap_err().message.contains("between 1 and 100"));

    let mut req = seed_request();
    req.publishing.as_mut().unwrap().target_regions = Some(vec![region("eastus", None, Some("Ultra_LRS"))]);
    let err = ImageVersion::create(req, "eastus", NOW).unwrap_err();
    assert!(err.message.contains("Standard_LRS, Standard_ZRS, Premium_LRS"));

    let mut req = seed_request();
    req.publishing.as_mut().unwrap().target_regions = Some(vec![]);
    assert!(ImageVersion::create(req, "eastus", NOW).is_err());
}

#[test]
fn end_of_life_must_be_future() {
    let mut req = seed_request();
    req.publishing.as_mut().unwrap().end_of_life_date = Some(datetime!(2026-01-01 0:00 UTC));
    let err = ImageVersion::create(req, "westcentralus", NOW).unwrap_err();
    assert_eq!(err.target, "galleryImageVersion.properties.publishingProfile.endOfLifeDate");
}

#[test]
fn source_kinds() {
    // Legacy 2018 form.
    let req = VersionRequest { legacy_managed_image_id: Some(MI.into()), ..Default::default() };
    assert_eq!(ImageVersion::create(req, "eastus", NOW).unwrap().source_kind, SourceKind::ManagedImage);
    // VM via virtualMachineId.
    let vm = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";
    let req = VersionRequest { virtual_machine_id: Some(vm.into()), ..Default::default() };
    let v = ImageVersion::create(req, "eastus", NOW).unwrap();
    assert_eq!(v.source_kind, SourceKind::VirtualMachine);
    assert_eq!(v.storage.virtual_machine_id.as_deref(), Some(vm));
    // Another version.
    let other = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i/versions/1.0.0";
    let req = VersionRequest { source_id: Some(other.into()), ..Default::default() };
    assert_eq!(ImageVersion::create(req, "eastus", NOW).unwrap().source_kind, SourceKind::GalleryImageVersion);
    // Snapshot OS disk plus a managed data disk.
    let req = disks_request(SNAP, &[(1, DISK)]);
    let v = ImageVersion::create(req, "eastus", NOW).unwrap();
    assert_eq!(v.source_kind, SourceKind::Disks);
    assert_eq!(v.storage.data_disks[0].lun, 1);
    // VHDs.
    let vhd = |uri: &str| DiskRequest {
        host_caching: None,
        source: Some(DiskSource { id: None, uri: Some(uri.into()), storage_account_id: Some(SA.into()) }),
    };
    let req = VersionRequest {
        os_disk: Some(vhd("http://127.0.0.1:10000/devstoreaccount1/vhds/os.vhd")),
        data_disks: Some(vec![(Some(0), vhd("http://127.0.0.1:10000/devstoreaccount1/vhds/d0.vhd"))]),
        ..Default::default()
    };
    assert_eq!(ImageVersion::create(req, "eastus", NOW).unwrap().source_kind, SourceKind::Vhds);
}

fn disks_request(os: &str, data: &[(i64, &str)]) -> VersionRequest {
    let disk = |id: &str| DiskRequest {
        host_caching: Some("ReadOnly".into()),
        source: Some(DiskSource { id: Some(id.into()), ..Default::default() }),
    };
    VersionRequest {
        os_disk: Some(disk(os)),
        data_disks: Some(data.iter().map(|(lun, id)| (Some(*lun), disk(id))).collect()),
        ..Default::default()
    }
}

#[test]
fn source_refusals() {
    // None at all.
    let err = ImageVersion::create(VersionRequest::default(), "eastus", NOW).unwrap_err();
    assert!(err.message.contains("needs a source"));
    // Two kinds.
    let mut req = disks_request(SNAP, &[]);
    req.source_id = Some(MI.into());
    assert!(ImageVersion::create(req, "eastus", NOW).unwrap_err().message.contains("One and only one source type"));
    // A disk where an image was expected.
    let req = VersionRequest { source_id: Some(DISK.into()), ..Default::default() };
    assert!(ImageVersion::create(req, "eastus", NOW).unwrap_err().message.contains("must either be a managed image"));
    // An image where a disk was expected.
    let req = disks_request(MI, &[]);
    assert!(
        ImageVersion::create(req, "eastus", NOW).unwrap_err().message.contains("must be a managed disk or snapshot")
    );
    // Malformed id.
    let req = VersionRequest { source_id: Some("images/mi".into()), ..Default::default() };
    assert!(
        ImageVersion::create(req, "eastus", NOW).unwrap_err().message.contains("Expect fully qualified resource Id")
    );
    // Duplicate LUNs, duplicate sources, OS = data.
    let other = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/other";
    let req = disks_request(SNAP, &[(0, DISK), (0, other)]);
    assert!(ImageVersion::create(req, "eastus", NOW).unwrap_err().message.contains("Duplicated lun"));
    let req = disks_request(SNAP, &[(0, DISK), (1, DISK)]);
    assert!(ImageVersion::create(req, "eastus", NOW).unwrap_err().message.contains("Duplicated source ids"));
    let req = disks_request(SNAP, &[(0, SNAP)]);
    assert!(ImageVersion::create(req, "eastus", NOW).unwrap_err().message.contains("cannot point to same blob"));
    // Data disks without an OS disk source.
    let mut req = disks_request(SNAP, &[(0, DISK)]);
    req.os_disk = None;
    assert!(ImageVersion::create(req, "eastus", NOW).unwrap_err().target.ends_with("osDiskImage.source"));
    // Negative LUN.
    let req = disks_request(SNAP, &[(-1, DISK)]);
    assert!(ImageVersion::create(req, "eastus", NOW).is_err());
}

#[test]
fn update_keeps_source_and_types_and_guards_region_removal() {
    let v = ImageVersion::create(seed_request(), "westcentralus", NOW).unwrap();
    // az sig image-version update: the echoed profile plus a region, with an empty storage profile.
    let mut req = seed_request();
    req.source_id = None;
    req.publishing.as_mut().unwrap().target_regions.as_mut().unwrap().push(region("westus2", None, None));
    let next = v.update(req, "westcentralus", false, NOW).unwrap();
    assert_eq!(next.publishing.target_regions.len(), 4);
    assert_eq!(next.replication.len(), 4);
    assert_eq!(next.publishing.published_date, v.publishing.published_date);

    // Changing the source.
    let mut req = seed_request();
    req.source_id = Some("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/other".into());
    assert_eq!(v.update(req, "westcentralus", false, NOW).unwrap_err().code, InvalidCode::PropertyChangeNotAllowed);

    // Changing a region's storage type.
    let mut req = seed_request();
    req.publishing.as_mut().unwrap().target_regions.as_mut().unwrap()[2].storage_account_type =
        Some("Premium_LRS".into());
    assert_eq!(v.update(req, "westcentralus", false, NOW).unwrap_err().code, InvalidCode::PropertyChangeNotAllowed);

    // Removing a region: refused by default, allowed with the safety switch.
    let mut req = seed_request();
    req.publishing.as_mut().unwrap().target_regions.as_mut().unwrap().pop();
    let err = v.update(req.clone(), "westcentralus", false, NOW).unwrap_err();
    assert!(err.message.contains("allowDeletionOfReplicatedLocations"));
    req.safety = Some((Some(true), None));
    let next = v.update(req, "westcentralus", false, NOW).unwrap();
    assert_eq!(next.publishing.target_regions.len(), 2);
    assert_eq!(next.replication.len(), 2);
}

#[test]
fn patch_changes_only_what_it_names() {
    let v = ImageVersion::create(seed_request(), "westcentralus", NOW).unwrap();
    let req = VersionRequest {
        publishing: Some(PublishingRequest { exclude_from_latest: Some(true), ..Default::default() }),
        ..Default::default()
    };
    let next = v.update(req, "westcentralus", true, NOW).unwrap();
    assert!(next.publishing.exclude_from_latest);
    assert_eq!(next.publishing.target_regions, v.publishing.target_regions);
}

#[test]
fn delete_before_end_of_life_is_blocked_only_when_asked() {
    let mut req = seed_request();
    req.publishing.as_mut().unwrap().end_of_life_date = Some(datetime!(2030-01-01 0:00 UTC));
    let mut v = ImageVersion::create(req, "westcentralus", NOW).unwrap();
    assert!(v.check_delete(NOW).is_ok());
    v.safety.block_deletion_before_end_of_life = true;
    assert!(v.check_delete(NOW).is_err());
    assert!(v.check_delete(datetime!(2031-01-01 0:00 UTC)).is_ok());
}

#[test]
fn raising_a_replica_count_makes_the_region_pending_again() {
    let mut v = ImageVersion::create(seed_request(), "westcentralus", NOW).unwrap();
    for s in &mut v.replication {
        s.state = ReplicationState::Completed;
        s.progress = 100;
    }
    let mut req = seed_request();
    req.source_id = None;
    req.publishing.as_mut().unwrap().target_regions.as_mut().unwrap()[1].regional_replica_count = Some(2);
    let next = v.update(req, "westcentralus", false, NOW).unwrap();
    let states: Vec<_> = next.replication.iter().map(|s| s.state).collect();
    assert_eq!(states, [ReplicationState::Completed, ReplicationState::Unknown, ReplicationState::Completed]);
}

#[test]
fn replication_mode_is_checked_kept_and_shallow_stays_home() {
    let with_mode = |mode: &str, regions: Vec<TargetRegionRequest>| VersionRequest {
        publishing: Some(PublishingRequest {
            replication_mode: Some(mode.into()),
            target_regions: Some(regions),
            ..Default::default()
        }),
        source_id: Some(MI.into()),
        ..Default::default()
    };
    let home = || vec![region("westcentralus", None, None)];
    let v = ImageVersion::create(with_mode("shallow", home()), "westcentralus", NOW).unwrap();
    assert_eq!(v.publishing.replication_mode.as_deref(), Some("Shallow"), "stored in ARM casing");
    let far = vec![region("westcentralus", None, None), region("eastus", None, None)];
    let e = ImageVersion::create(with_mode("Shallow", far.clone()), "westcentralus", NOW).unwrap_err();
    assert!(e.message.contains("Shallow") && e.target.ends_with("targetRegions"), "{e:?}");
    assert!(ImageVersion::create(with_mode("Deep", home()), "westcentralus", NOW).is_err());
    // Not updatable, and a shallow version cannot grow regions.
    let changed = ImageVersion::create(with_mode("Full", home()), "westcentralus", NOW).unwrap();
    let e = v.update(with_mode("Full", home()), "westcentralus", true, NOW).unwrap_err();
    assert!(e.target.ends_with("replicationMode"), "{e:?}");
    assert!(changed.update(with_mode("Shallow", home()), "westcentralus", true, NOW).is_err());
    let mut grow = with_mode("Shallow", far);
    grow.source_id = None;
    assert!(v.update(grow, "westcentralus", true, NOW).is_err());
    // Leaving it out keeps it.
    let mut same = with_mode("Shallow", home());
    same.publishing.as_mut().unwrap().replication_mode = None;
    same.source_id = None;
    assert_eq!(
        v.update(same, "westcentralus", true, NOW).unwrap().publishing.replication_mode.as_deref(),
        Some("Shallow")
    );
}

#[test]
fn a_transfer_gives_its_rate_and_time_left() {
    let mib = 1 << 20;
    let t = TransferProgress { bytes_done: 0, bytes_needed: 100 * mib, started_ms: 1_000, updated_ms: 1_000 };
    assert_eq!((t.bytes_per_second(), t.eta_seconds()), (None, None), "no rate before anything moved");
    // 20 MiB in 2 s: 10 MiB/s, 80 MiB left, 8 s.
    let t = TransferProgress { bytes_done: 20 * mib, updated_ms: 3_000, ..t };
    assert_eq!((t.bytes_per_second(), t.eta_seconds()), (Some(10 * mib), Some(8)));
    let done = TransferProgress { bytes_done: 100 * mib, ..t };
    assert_eq!(done.eta_seconds(), Some(0));
}
