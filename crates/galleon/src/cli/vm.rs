//! `galleon vm create|show|list|stop|start|deallocate|generalize|delete`. galleon keeps VMs as
//! records that own disks (it runs no guests), so images can be captured as in Azure.

use hyper::Method;
use serde_json::Value;

use super::args::{Named, VmCommand};
use super::{IMAGES_AND_VMS as VMS, Session};

pub(super) fn vm_path(s: &Session, t: &Named) -> String {
    s.compute_path(&t.resource_group, "virtualMachines", &t.name)
}

pub(super) async fn run(s: &Session, command: VmCommand) -> anyhow::Result<()> {
    let value = match command {
        VmCommand::Create(c) => super::vm_create::create(s, *c).await?,
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
    s.client.wait(&reply).await?;
    Ok(Value::Null)
}
