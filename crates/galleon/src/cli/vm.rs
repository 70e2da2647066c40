//! `galleon vm create|show|list|stop|start|deallocate|generalize|delete`. galleon keeps VMs as
//! records that own disks (it runs no guests), so images can be captured as in Azure.

use hyper::Method;
use serde_json::{Value, json};

use super::args::{Named, VmCommand, VmCreate};
use super::{DISKS, IMAGES_AND_VMS as VMS, Session};

fn vm_path(s: &Session, t: &Named) -> String {
    s.compute_path(&t.resource_group, "virtualMachines", &t.name)
}

pub(super) async fn run(s: &Session, command: VmCommand) -> anyhow::Result<()> {
    let value = match command {
        VmCommand::Create(c) => create(s, *c).await?,
        VmCommand::Show { target } => s.get(&vm_path(s, &target), VMS).await?,
        VmCommand::List { resource_group } => {
            s.list(&format!("{}/providers/Microsoft.Compute/virtualMachines", s.group_path(&resource_group)), VMS)
                .await?
        }
        VmCommand::Stop { target } => action(s, &target, "powerOff").await?,
        VmCommand::Start { target } => action(s, &target, "start").await?,
        VmCommand::Deallocate { target } => action(s, &target, "deallocate").await?,
        VmCommand::Generalize { target } => action(s, &target, "generalize").await?,
        VmCommand::Delete { target, yes: _, no_wait } => {
            s.change(Method::DELETE, &vm_path(s, &target), VMS, None, no_wait).await?
        }
    };
    s.print(&value)
}

/// A POST action; az prints nothing for these.
async fn action(s: &Session, target: &Named, action: &str) -> anyhow::Result<Value> {
    let reply = s.client.call(Method::POST, &format!("{}/{action}?{VMS}", vm_path(s, target)), None).await?;
    s.client.wait(&reply, |_| {}).await?;
    Ok(Value::Null)
}

async fn create(s: &Session, c: VmCreate) -> anyhow::Result<Value> {
    let group = c.target.resource_group.clone();
    let disks = [("disks", DISKS)];
    let (image_reference, os_disk) = match (&c.image, &c.attach_os_disk) {
        (Some(image), None) => {
            let id = s.id_or_name(&group, "Microsoft.Compute/images", image);
            (Some(json!({ "id": id })), json!({ "createOption": "FromImage" }))
        }
        (None, Some(disk)) => {
            let Some(os_type) = &c.os_type else {
                anyhow::bail!("usage error: --os-type is required with --attach-os-disk")
            };
            let id = s.resolve(&group, disk, &disks).await?;
            (None, json!({ "createOption": "Attach", "osType": os_type, "managedDisk": { "id": id } }))
        }
        _ => anyhow::bail!("usage error: give --image or --attach-os-disk"),
    };
    let mut data = Vec::new();
    for disk in &c.attach_data_disks {
        let id = s.resolve(&group, disk, &disks).await?;
        data.push(json!({ "lun": data.len(), "createOption": "Attach", "managedDisk": { "id": id } }));
    }
    for size in &c.data_disk_sizes_gb {
        data.push(json!({ "lun": data.len(), "createOption": "Empty", "diskSizeGB": size }));
    }
    let mut storage = json!({ "osDisk": os_disk, "dataDisks": data });
    if let Some(reference) = image_reference {
        storage["imageReference"] = reference;
    }
    let mut properties = json!({ "hardwareProfile": { "vmSize": c.size }, "storageProfile": storage });
    if let Some(user) = c.admin_username {
        properties["osProfile"] = json!({ "computerName": c.target.name, "adminUsername": user });
        if let Some(password) = c.admin_password {
            properties["osProfile"]["adminPassword"] = json!(password);
        }
    }
    let location = s.location_or_group(c.location, &group).await?;
    let body = json!({ "location": location, "properties": properties });
    s.change(Method::PUT, &vm_path(s, &c.target), VMS, Some(&body), c.no_wait).await
}
