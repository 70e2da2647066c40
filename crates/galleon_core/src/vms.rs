//! Virtual machines: records that own disks. Creating one makes (or attaches) its disks in one
//! atomic step; power actions and `generalize` change its state; deleting it detaches its disks.

use galleon_blob::{Manifest, vhd};
use galleon_model::disk::{Creation, Disk, DiskState};
use galleon_model::image_definition::{HyperVGeneration, OsState, OsType};
use galleon_model::names::validate_disk_name;
use galleon_model::resource::Tracked;
use galleon_model::resource_id::{ResourceId, ResourceKind};
use galleon_model::vm::{DataDiskPlan, OsDiskPlan, PowerState, VirtualMachine, VmRequest};
use galleon_model::{GroupRef, Invalid, ProvisioningState};
use galleon_store::{Batch, Expect, Kind, OpStatus, Operation, typed};

use crate::OperationInfo;
use crate::disks::{DiskKind, DiskRef};
use crate::jobs::{Accepted, Job, JobError, finished};
use crate::resources::{Envelope, Pending};
use crate::{Core, CoreError, CoreResult, Page, PageRequest, now};

/// ARM type of virtual machines.
pub const VM_TYPE: &str = "Microsoft.Compute/virtualMachines";

fn key(group: &GroupRef, name: &str) -> String {
    group.compute_id("virtualMachines", name).to_ascii_lowercase()
}

fn not_found(group: &GroupRef, name: &str) -> CoreError {
    CoreError::NotFound { type_path: format!("{VM_TYPE}/{name}"), group: group.resource_group.clone() }
}

/// What a VM offers as a capture source.
pub(crate) struct VmSource {
    /// Generalized once `generalize` was called.
    pub state: OsState,
    /// The OS disk's OS type, when known.
    pub os_type: Option<OsType>,
    /// (lun, digest, GiB); lun -1 is the OS disk.
    pub disks: Vec<(i32, String, u64)>,
    /// The OS disk's Marketplace plan.
    pub plan: Option<galleon_model::image_definition::PurchasePlan>,
}

/// The content an OS disk made from `image_id` gets: (digest, OS type, generation).
struct ImageContent {
    digest: String,
    os_type: OsType,
    generation: HyperVGeneration,
    /// The image's data disks: LUN and digest.
    data_disks: Vec<(i32, String)>,
    /// What it boots on (managed images are x64).
    architecture: galleon_model::image_definition::Architecture,
}

impl Core {
    async fn image_content(&self, image_id: &str, location: &str, target: &str) -> CoreResult<ImageContent> {
        if ResourceId::parse(image_id).and_then(|r| r.kind()) == Some(ResourceKind::ManagedImage) {
            let img = self.managed_image_by_id(image_id, location, target).await?.properties;
            let digest = img.os_disk.digest.clone().unwrap_or_default();
            let data_disks = img.data_disks.iter().filter_map(|(lun, d)| Some((*lun, d.digest.clone()?))).collect();
            return Ok(ImageContent {
                digest,
                os_type: img.os_type,
                generation: img.hyper_v_generation,
                data_disks,
                architecture: galleon_model::image_definition::Architecture::X64,
            });
        }
        let (version, def) = self.version_by_id(image_id, location, target).await?;
        let storage = version.properties.storage;
        let digest = storage.os_disk.and_then(|d| d.digest).unwrap_or_default();
        let data_disks = storage.data_disks.into_iter().filter_map(|d| Some((d.lun, d.disk.digest?))).collect();
        Ok(ImageContent {
            digest,
            os_type: def.properties.os_type,
            generation: def.properties.hyper_v_generation,
            data_disks,
            architecture: def.properties.architecture,
        })
    }

    /// An existing disk that may be attached: same region, with content, not attached elsewhere.
    async fn attachable(&self, id: &str, location: &str, target: &str) -> CoreResult<Tracked<Disk>> {
        let (_, disk) = self.content_of(id, location, target).await?;
        if disk.properties.state == DiskState::Attached {
            return Err(CoreError::Conflict {
                code: "OperationNotAllowed",
                message: format!("Disk {id} is already attached to a virtual machine."),
            });
        }
        Ok(disk)
    }

    /// Creates a VM (or updates an existing one's tags).
    pub async fn put_vm(
        &self,
        group: &GroupRef,
        name: &str,
        env: Envelope,
        req: crate::links::Checked<VmRequest>,
    ) -> CoreResult<Accepted<Tracked<VirtualMachine>>> {
        let req = req.into_inner();
        self.require_group(group).await?;
        validate_disk_name(name)?;
        let location = self.region(env.location.as_deref(), VM_TYPE)?;
        let k = key(group, name);
        if let Some(old) = self.load::<VirtualMachine>(Kind::Vm, &k).await? {
            return self.retag(Kind::Vm, k, old, &location, group, env.tags).await;
        }
        let suffix = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let mut vm = VirtualMachine::create(name, req, &suffix)?;
        match &vm.os_disk_plan {
            OsDiskPlan::FromImage(id) => {
                let image = self.image_content(id, &location, "properties.storageProfile.imageReference.id").await?;
                galleon_model::vm::check_architecture(&vm.vm_size, image.architecture)?;
                // As in Azure: with no data disks named, the image's data disks come with the VM;
                // a FromImage data disk must be one the image has.
                if vm.data_disks.is_empty() {
                    vm.data_disks =
                        image.data_disks.iter().map(|(lun, _)| (*lun, DataDiskPlan::FromImage, None)).collect();
                }
                for (lun, plan, _) in &vm.data_disks {
                    if *plan == DataDiskPlan::FromImage && !image.data_disks.iter().any(|(l, _)| l == lun) {
                        return Err(Invalid::param(
                            format!("properties.storageProfile.dataDisks[lun {lun}].createOption"),
                            format!("The image '{id}' has no data disk with LUN {lun}."),
                        )
                        .into());
                    }
                }
            }
            OsDiskPlan::Attach(id) => {
                drop(self.attachable(id, &location, "properties.storageProfile.osDisk.managedDisk.id").await?)
            }
        }
        if let Some(profile) = &vm.network_profile {
            self.check_vm_interfaces(&group.compute_id("virtualMachines", name), &location, profile).await?;
        }
        for (lun, plan, _) in &vm.data_disks {
            if let DataDiskPlan::Attach(id) = plan {
                self.attachable(
                    id,
                    &location,
                    &format!("properties.storageProfile.dataDisks[lun {lun}].managedDisk.id"),
                )
                .await?;
            }
        }
        let value = Self::creating(group.compute_id("virtualMachines", name), name, location, env.tags, vm);
        let pending = Pending {
            kind: Kind::Vm,
            key: k,
            unique: None,
            previous: None,
            value,
            parent: None,
            job: Job::BuildVm,
            subscription: &group.subscription,
        };
        self.commit(pending).await
    }

    /// Makes or attaches the VM's disks and marks it Succeeded, all in one batch.
    pub(crate) async fn job_build_vm(&self, op: Operation) -> Result<(), JobError> {
        let Some(record) = typed::get::<Tracked<VirtualMachine>>(self.store(), Kind::Vm, &op.resource_key).await?
        else {
            return Err(JobError::Fail(
                "ResourceNotFound".into(),
                "The virtual machine was deleted before it was built.".into(),
            ));
        };
        let mut value = record.value;
        let group = ResourceId::parse(&value.id)
            .map(|r| GroupRef::new(&r.subscription, &r.resource_group))
            .expect("stored ids parse");
        let location = value.location.clone();
        let mut batch = Batch::new();
        let vm = &mut value.properties;
        if vm.os_disk_id.is_none() {
            let (id, disk, rev) = match vm.os_disk_plan.clone() {
                OsDiskPlan::FromImage(image_id) => {
                    let content = self.image_content(&image_id, &location, "storageProfile.imageReference.id").await?;
                    let m = self.load_manifest(&location, &content.digest).await?;
                    let r = DiskRef { group: group.clone(), name: vm.os_disk_name.clone(), kind: DiskKind::Disk };
                    let mut disk = blank_disk();
                    disk.creation = Creation::FromImage { image_id, lun: None };
                    (disk.os_type, disk.hyper_v_generation) = (Some(content.os_type), Some(content.generation));
                    (disk.digest, disk.disk_size_bytes, disk.disk_size_gb) =
                        (Some(content.digest), Some(m.virtual_size), Some(m.size_gb()));
                    disk.state = DiskState::Attached;
                    let mut t = Self::creating(r.id(), &r.name, location.clone(), None, disk);
                    t.provisioning_state = ProvisioningState::Succeeded;
                    (r.id(), t, None)
                }
                OsDiskPlan::Attach(id) => {
                    let mut disk = self.attachable(&id, &location, "storageProfile.osDisk.managedDisk.id").await?;
                    disk.properties.state = DiskState::Attached;
                    let rev = self.load::<Disk>(Kind::Disk, &id.to_ascii_lowercase()).await?.map(|r| r.rev);
                    (disk.id.clone(), disk, rev)
                }
            };
            batch = batch.put(
                typed::doc(Kind::Disk, &id.to_ascii_lowercase(), None, &disk),
                rev.map_or(Expect::Absent, Expect::Rev),
            );
            vm.os_disk_name = disk.name.clone();
            vm.os_disk_id = Some(id);
        }
        // The image's data disks, when some are made from it.
        let image = match (
            &vm.image_reference,
            vm.data_disks.iter().any(|(_, p, m)| *p == DataDiskPlan::FromImage && m.is_none()),
        ) {
            (Some(image_id), true) => Some((
                image_id.clone(),
                self.image_content(image_id, &location, "storageProfile.imageReference.id").await?,
            )),
            _ => None,
        };
        let new_disk = |lun: i32| DiskRef {
            group: group.clone(),
            name: format!("{}_disk{lun}_{}", value.name, &uuid::Uuid::new_v4().simple().to_string()[..12]),
            kind: DiskKind::Disk,
        };
        for (lun, plan, made) in vm.data_disks.iter_mut().filter(|(_, _, made)| made.is_none()) {
            let (id, disk, expect) = match plan {
                DataDiskPlan::FromImage => {
                    let (image_id, content) = image.as_ref().expect("looked up above");
                    let digest =
                        content.data_disks.iter().find(|(l, _)| l == lun).map(|(_, d)| d.clone()).ok_or_else(|| {
                            JobError::Fail(
                                "InvalidParameter".into(),
                                format!("The image has no data disk with LUN {lun}."),
                            )
                        })?;
                    let m = self.load_manifest(&location, &digest).await?;
                    let r = new_disk(*lun);
                    let mut disk = blank_disk();
                    disk.creation = Creation::FromImage { image_id: image_id.clone(), lun: Some(*lun) };
                    (disk.digest, disk.disk_size_bytes, disk.disk_size_gb, disk.state) =
                        (Some(digest), Some(m.virtual_size), Some(m.size_gb()), DiskState::Attached);
                    let mut t = Self::creating(r.id(), &r.name, location.clone(), None, disk);
                    t.provisioning_state = ProvisioningState::Succeeded;
                    (r.id(), t, Expect::Absent)
                }
                DataDiskPlan::Attach(id) => {
                    let mut disk = self.attachable(id, &location, "storageProfile.dataDisks").await?;
                    disk.properties.state = DiskState::Attached;
                    let rev = self.load::<Disk>(Kind::Disk, &id.to_ascii_lowercase()).await?.map(|r| r.rev);
                    (id.clone(), disk, rev.map_or(Expect::Absent, Expect::Rev))
                }
                DataDiskPlan::Empty(gb) => {
                    let size = *gb << 30;
                    let m = Manifest {
                        virtual_size: size,
                        footer: vhd::build(size).to_vec(),
                        chunks: vec![None; Manifest::chunk_count(size)],
                    };
                    let digest = self.save_manifest(&location, &m).await?;
                    let r = new_disk(*lun);
                    let mut disk = blank_disk();
                    disk.creation = Creation::Empty;
                    (disk.digest, disk.disk_size_bytes, disk.disk_size_gb, disk.state) =
                        (Some(digest), Some(size), Some(*gb), DiskState::Attached);
                    let mut t = Self::creating(r.id(), &r.name, location.clone(), None, disk);
                    t.provisioning_state = ProvisioningState::Succeeded;
                    (r.id(), t, Expect::Absent)
                }
            };
            batch = batch.put(typed::doc(Kind::Disk, &id.to_ascii_lowercase(), None, &disk), expect);
            *made = Some(id);
        }
        value.provisioning_state = ProvisioningState::Succeeded;
        batch = batch
            .put(typed::doc(Kind::Vm, &op.resource_key, None, &value), Expect::Rev(record.rev))
            .operation(finished(op, None));
        self.store().apply(batch).await?;
        Ok(())
    }

    /// One VM.
    pub async fn get_vm(&self, group: &GroupRef, name: &str) -> CoreResult<Tracked<VirtualMachine>> {
        self.read(Kind::Vm, &key(group, name), async {
            self.require_group(group).await.map(|()| not_found(group, name))
        })
        .await
    }

    /// VMs of a group, or of the subscription.
    pub async fn list_vms(
        &self,
        subscription: &str,
        group: Option<&GroupRef>,
        page: &PageRequest,
    ) -> CoreResult<Page<Tracked<VirtualMachine>>> {
        self.list_scoped(Kind::Vm, "virtualmachines", subscription, group, page).await
    }

    /// `powerOff`, `deallocate`, `start`, `restart` or `generalize`; returns a finished operation.
    pub async fn vm_action(&self, group: &GroupRef, name: &str, action: &str) -> CoreResult<OperationInfo> {
        let k = key(group, name);
        let record = self.load::<VirtualMachine>(Kind::Vm, &k).await?.ok_or_else(|| not_found(group, name))?;
        let mut value = record.value;
        Self::check_idle(&value)?;
        let vm = &mut value.properties;
        match action {
            "poweroff" => vm.power_state = PowerState::Stopped,
            "deallocate" => vm.power_state = PowerState::Deallocated,
            "start" | "restart" => vm.power_state = PowerState::Running,
            "generalize" => {
                if vm.power_state == PowerState::Running {
                    return Err(CoreError::Conflict {
                        code: "OperationNotAllowed",
                        message: "The virtual machine must be stopped or deallocated before it is generalized.".into(),
                    });
                }
                vm.generalized = true;
            }
            other => return Err(Invalid::param("action", format!("Unknown action '{other}'.")).into()),
        }
        let mut op = self.new_operation(
            &group.subscription,
            &value.location,
            &k,
            &Job::Provision { kind: Kind::Vm.as_str().into() },
        );
        (op.status, op.end_time) = (OpStatus::Succeeded, Some(now()));
        let batch =
            Batch::new().put(typed::doc(Kind::Vm, &k, None, &value), Expect::Rev(record.rev)).operation(op.clone());
        self.store().apply(batch).await?;
        Ok(op.into())
    }

    /// Starts deleting a VM; its disks are detached (kept) at once. `None` when absent.
    pub async fn delete_vm(&self, group: &GroupRef, name: &str) -> CoreResult<Option<OperationInfo>> {
        self.require_group(group).await?;
        let k = key(group, name);
        let Some(existing) = self.load::<VirtualMachine>(Kind::Vm, &k).await? else {
            return Ok(None);
        };
        Self::check_idle(&existing.value)?;
        let vm = &existing.value.properties;
        let disks = vm.os_disk_id.iter().chain(vm.data_disks.iter().filter_map(|(_, _, id)| id.as_ref()));
        let mut batch = Batch::new();
        for id in disks {
            if let Some(mut d) = self.load::<Disk>(Kind::Disk, &id.to_ascii_lowercase()).await? {
                d.value.properties.state = DiskState::Unattached;
                batch = batch.put(typed::doc(Kind::Disk, &id.to_ascii_lowercase(), None, &d.value), Expect::Rev(d.rev));
            }
        }
        self.store().apply(batch).await?;
        Ok(Some(self.begin_delete(Kind::Vm, &k, existing, None, None, &group.subscription).await?))
    }

    /// A VM as a capture source, in `location`: its OS state and its disks' digests and sizes
    /// by LUN (-1 = OS), and the OS disk's OS type when known.
    pub(crate) async fn vm_source(&self, id: &str, location: &str, target: &str) -> CoreResult<VmSource> {
        let parsed = ResourceId::parse(id)
            .filter(|r| r.kind() == Some(ResourceKind::VirtualMachine))
            .ok_or_else(|| Invalid::param(target, format!("'{id}' is not a virtual machine id.")))?;
        let group = GroupRef::new(&parsed.subscription, &parsed.resource_group);
        let missing =
            || Invalid::param(target, format!("Source was not found: {id}. Please make sure the source exists."));
        let vm = self.load::<VirtualMachine>(Kind::Vm, &key(&group, parsed.name())).await?.ok_or_else(missing)?.value;
        if vm.location != location {
            return Err(missing().into());
        }
        let os = vm
            .properties
            .os_disk_id
            .clone()
            .ok_or_else(|| Invalid::param(target, format!("The virtual machine {id} is still being created.")))?;
        let mut disks = Vec::new();
        let mut os_type = None;
        let mut plan = None;
        for (lun, disk_id) in std::iter::once((-1, os))
            .chain(vm.properties.data_disks.iter().filter_map(|(l, _, d)| d.clone().map(|d| (*l, d))))
        {
            let (digest, disk) = self.content_of(&disk_id, location, target).await?;
            if lun < 0 {
                os_type = disk.properties.os_type;
                plan = disk.properties.purchase_plan.clone();
            }
            disks.push((lun, digest, disk.properties.disk_size_gb.unwrap_or(0)));
        }
        let state = if vm.properties.generalized { OsState::Generalized } else { OsState::Specialized };
        Ok(VmSource { state, os_type, disks, plan })
    }
}

/// A disk record for a disk a VM makes for itself; the caller fills in creation and content.
fn blank_disk() -> Disk {
    Disk {
        creation: Creation::Empty,
        os_type: None,
        hyper_v_generation: None,
        disk_size_gb: None,
        disk_size_bytes: None,
        sku: "Standard_LRS".into(),
        state: DiskState::Unattached,
        digest: None,
        unique_id: uuid::Uuid::new_v4().to_string(),
        access: None,
        finishing: None,
        purchase_plan: None,
    }
}
