//! `galleon vm create` as `az vm create` makes a VM: a network security group (SSH or RDP open),
//! a public IP, a virtual network and subnet, and an interface (`{vm}NSG`, `{vm}PublicIP`,
//! `{vm}VNET`/`{vm}Subnet`, `{vm}VMNic`), then the VM with its OS disk cached ReadWrite and, for
//! Linux without a password, the SSH public key. It prints az's summary (ids, power state and
//! addresses), not the VM.

use hyper::Method;
use serde_json::{Value, json};

use super::args::VmCreate;
use super::vm::vm_path;
use super::{COMPUTE, DISKS, IMAGES_AND_VMS as VMS, Session};

use galleon_api_types::Resource;
use galleon_api_types::image::ImageProperties;
use galleon_api_types::managed_image::ManagedImageProperties;
use galleon_client::api_version::NETWORK;

pub(super) async fn create(s: &Session, c: VmCreate) -> anyhow::Result<Value> {
    let group = c.target.resource_group.clone();
    let name = c.target.name.clone();
    let disks = [("disks", DISKS)];
    let (image_reference, os_disk, os_type) = match (&c.image, &c.attach_os_disk) {
        (Some(image), None) => {
            let id = s.id_or_name(&group, "Microsoft.Compute/images", image);
            let os_type = image_os_type(s, &id).await;
            (Some(json!({ "id": id })), json!({ "createOption": "FromImage", "caching": "ReadWrite" }), os_type)
        }
        (None, Some(disk)) => {
            let Some(os_type) = &c.os_type else {
                anyhow::bail!("usage error: --os-type is required with --attach-os-disk")
            };
            let id = s.resolve(&group, disk, &disks).await?;
            let disk = json!({ "createOption": "Attach", "osType": os_type, "caching": "ReadWrite", "managedDisk": { "id": id } });
            (None, disk, os_type.clone())
        }
        _ => anyhow::bail!("usage error: give --image or --attach-os-disk"),
    };
    let linux = os_type.eq_ignore_ascii_case("Linux");
    let ssh_key = match (&c.admin_username, &c.admin_password) {
        (Some(_), None) if linux => Some(ssh_public_key(c.ssh_key_values.as_deref(), c.generate_ssh_keys)?),
        _ => None,
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
    let location = s.location_or_group(c.location, &group).await?;
    let nic = network(s, &group, &name, &location, linux).await?;
    let mut properties = json!({
        "hardwareProfile": { "vmSize": c.size },
        "storageProfile": storage,
        "networkProfile": { "networkInterfaces": [{ "id": nic }] },
    });
    if let Some(user) = &c.admin_username {
        properties["osProfile"] = json!({ "computerName": name, "adminUsername": user });
        if let Some(password) = c.admin_password {
            properties["osProfile"]["adminPassword"] = json!(password);
        }
        if let Some(key) = ssh_key {
            properties["osProfile"]["linuxConfiguration"] = json!({
                "disablePasswordAuthentication": true,
                "ssh": { "publicKeys": [{ "path": format!("/home/{user}/.ssh/authorized_keys"), "keyData": key }] },
            });
        }
    }
    let body = json!({ "location": location, "properties": properties });
    let vm_path = vm_path(s, &c.target);
    let vm = s.change(Method::PUT, &vm_path, VMS, Some(&body), c.no_wait).await?;
    if c.no_wait {
        return Ok(vm);
    }
    summary(s, &vm, &vm_path, &nic).await
}

/// The OS type of a gallery image (its definition's) or a managed image; Linux if unknown.
async fn image_os_type(s: &Session, id: &str) -> String {
    let lower = id.to_ascii_lowercase();
    let definition = |id: &str| format!("{id}?{COMPUTE}");
    let found = if let Some(at) = lower.find("/versions/") {
        s.client.get::<Resource<ImageProperties>>(&definition(&id[..at])).await.ok().and_then(|d| d.properties?.os_type)
    } else if lower.contains("/galleries/") {
        s.client.get::<Resource<ImageProperties>>(&definition(id)).await.ok().and_then(|d| d.properties?.os_type)
    } else {
        let image = s.client.get::<Resource<ManagedImageProperties>>(&format!("{id}?{VMS}")).await.ok();
        image.and_then(|i| i.properties?.storage_profile?.os_disk?.os_type)
    };
    found.unwrap_or_else(|| "Linux".into())
}

/// The SSH public key: `--ssh-key-values` (a key or a file holding one), else `~/.ssh/id_rsa.pub`,
/// made with `ssh-keygen` when missing and `--generate-ssh-keys` is given (as az does).
fn ssh_public_key(values: Option<&str>, generate: bool) -> anyhow::Result<String> {
    if let Some(v) = values {
        let text = if std::path::Path::new(v).is_file() { std::fs::read_to_string(v)? } else { v.to_string() };
        return Ok(text.trim().to_string());
    }
    let home = std::env::var_os("HOME").ok_or_else(|| anyhow::anyhow!("HOME is not set"))?;
    let private = std::path::Path::new(&home).join(".ssh/id_rsa");
    let public = private.with_extension("pub");
    if !public.exists() {
        anyhow::ensure!(
            generate,
            "An RSA key file or key value must be supplied to SSH Key Value. You can use --generate-ssh-keys to let CLI generate one for you"
        );
        std::fs::create_dir_all(private.parent().expect("a parent"))?;
        let made = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f"])
            .arg(&private)
            .status()
            .map_err(|e| anyhow::anyhow!("--generate-ssh-keys needs ssh-keygen (OpenSSH): {e}"))?;
        anyhow::ensure!(made.success(), "ssh-keygen failed");
        eprintln!("SSH key files '{}' and '{}' have been generated under ~/.ssh", private.display(), public.display());
    }
    Ok(std::fs::read_to_string(public)?.trim().to_string())
}

/// Creates the VM's security group, public IP, network and interface; returns the interface id.
async fn network(s: &Session, group: &str, vm: &str, location: &str, linux: bool) -> anyhow::Result<String> {
    let path = |kind: &str, name: &str| format!("{}/providers/Microsoft.Network/{kind}/{name}", s.group_path(group));
    let (rule, port) = if linux { ("default-allow-ssh", "22") } else { ("rdp", "3389") };
    let nsg = path("networkSecurityGroups", &format!("{vm}NSG"));
    let rules = json!([{ "name": rule, "properties": { "protocol": "Tcp", "sourcePortRange": "*",
        "destinationPortRange": port, "sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
        "access": "Allow", "priority": 1000, "direction": "Inbound" } }]);
    let body = json!({ "location": location, "properties": { "securityRules": rules } });
    s.change(Method::PUT, &nsg, NETWORK, Some(&body), false).await?;
    let ip = path("publicIPAddresses", &format!("{vm}PublicIP"));
    let body = json!({ "location": location, "sku": { "name": "Standard" },
        "properties": { "publicIPAllocationMethod": "Static" } });
    s.change(Method::PUT, &ip, NETWORK, Some(&body), false).await?;
    let vnet = path("virtualNetworks", &format!("{vm}VNET"));
    let subnet = format!("{vm}Subnet");
    let body = json!({ "location": location, "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] },
        "subnets": [{ "name": subnet, "properties": { "addressPrefix": "10.0.0.0/24" } }] } });
    s.change(Method::PUT, &vnet, NETWORK, Some(&body), false).await?;
    let nic = path("networkInterfaces", &format!("{vm}VMNic"));
    let body = json!({ "location": location, "properties": {
        "ipConfigurations": [{ "name": format!("ipconfig{vm}"), "properties": {
            "privateIPAllocationMethod": "Dynamic",
            "subnet": { "id": format!("{vnet}/subnets/{subnet}") },
            "publicIPAddress": { "id": ip } } }],
        "networkSecurityGroup": { "id": nsg } } });
    s.change(Method::PUT, &nic, NETWORK, Some(&body), false).await?;
    Ok(nic)
}

/// What `az vm create` prints: the VM's id, group, location, power state and addresses.
async fn summary(s: &Session, vm: &Value, vm_path: &str, nic: &str) -> anyhow::Result<Value> {
    let view = s.get(&format!("{vm_path}/instanceView"), VMS).await?;
    let power = view["statuses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|st| st["code"].as_str().is_some_and(|c| c.starts_with("PowerState/")))
        .and_then(|st| st["displayStatus"].as_str())
        .unwrap_or_default()
        .to_string();
    let nic = s.get(nic, NETWORK).await?;
    let config = &nic["properties"]["ipConfigurations"][0]["properties"];
    let public = match config["publicIPAddress"]["id"].as_str() {
        Some(id) => s.get(id, NETWORK).await?,
        None => Value::Null,
    };
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    Ok(json!({
        "id": vm["id"],
        "resourceGroup": super::az_shape::resource_group(vm["id"].as_str().unwrap_or_default()),
        "powerState": power,
        "publicIpAddress": text(&public["properties"]["ipAddress"]),
        "fqdns": text(&public["properties"]["dnsSettings"]["fqdn"]),
        "privateIpAddress": text(&config["privateIPAddress"]),
        "macAddress": text(&nic["properties"]["macAddress"]),
        "location": vm["location"],
    }))
}
