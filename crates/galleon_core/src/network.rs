//! `Microsoft.Network` records: virtual networks, network security groups, public IP addresses
//! and network interfaces (see `galleon_model::network` for what galleon does and does not do
//! with them). Writes are synchronous, as ARM answers them for these types. References are
//! checked here: an interface's subnet, public IP and security group must exist in its region,
//! and nothing in use can be deleted.

use std::net::Ipv4Addr;

use galleon_model::GroupRef;
use galleon_model::network::{
    Cidr, NetworkType, RuleShape, allocate_private_ip, allocation_method, check_security_rules, check_virtual_network,
    validate_network_name,
};
use galleon_model::resource::Tracked;
use galleon_model::{Invalid, ProvisioningState};
use galleon_store::{Batch, Expect, Kind, typed};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::resources::Envelope;
use crate::{Core, CoreError, CoreResult, now};

/// One network resource: its type, its ARM properties as galleon completed them, and the
/// top-level `sku` and `zones` when given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkResource {
    /// Which of the four types.
    pub ty: NetworkType,
    /// `properties`, with ids, addresses and states filled in.
    pub properties: Value,
    /// `sku`, as sent.
    #[serde(default)]
    pub sku: Option<Value>,
    /// `zones`, as sent.
    #[serde(default)]
    pub zones: Option<Value>,
}

/// What a PUT sends besides location and tags.
#[derive(Debug, Clone, Default)]
pub struct NetworkRequest {
    /// `properties`.
    pub properties: Value,
    /// `sku`.
    pub sku: Option<Value>,
    /// `zones`.
    pub zones: Option<Value>,
}

/// The id of a network resource (ARM casing).
pub fn network_id(group: &GroupRef, ty: NetworkType, name: &str) -> String {
    group.provider_id("Microsoft.Network", ty.segment(), name)
}

fn key(id: &str) -> String {
    id.to_ascii_lowercase()
}

fn not_found(group: &GroupRef, ty: NetworkType, name: &str) -> CoreError {
    CoreError::NotFound { type_path: format!("{}/{name}", ty.arm_type()), group: group.resource_group.clone() }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// The resources an interface's properties name (ids as given): subnets and public IPs of its
/// IP configurations, and its security group.
pub fn interface_links(properties: &Value) -> Vec<String> {
    let mut ids = vec![];
    for c in properties["ipConfigurations"].as_array().into_iter().flatten() {
        for pointer in ["/properties/subnet/id", "/properties/publicIPAddress/id"] {
            if let Some(id) = c.pointer(pointer).and_then(Value::as_str) {
                ids.push(id.to_string());
            }
        }
    }
    if let Some(id) = properties.pointer("/networkSecurityGroup/id").and_then(Value::as_str) {
        ids.push(id.to_string());
    }
    ids
}

/// The interface ids a VM's `networkProfile` (JSON text) names.
pub fn profile_interfaces(network_profile: &str) -> Vec<String> {
    let profile: Value = serde_json::from_str(network_profile).unwrap_or(Value::Null);
    profile["networkInterfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["id"].as_str().map(str::to_string))
        .collect()
}

/// Whether `nic` links to `id` (a subnet, public IP or security group; case-insensitive).
fn links_to(nic: &Tracked<NetworkResource>, id: &str) -> bool {
    interface_links(&nic.properties.properties).iter().any(|l| l.eq_ignore_ascii_case(id))
}

fn in_use(code: &'static str, message: String) -> CoreError {
    CoreError::Conflict { code, message }
}

impl Core {
    /// Creates or replaces a network resource; returns it and whether it was created.
    pub async fn put_network(
        &self,
        group: &GroupRef,
        ty: NetworkType,
        name: &str,
        env: Envelope,
        req: crate::links::Checked<NetworkRequest>,
    ) -> CoreResult<(Tracked<NetworkResource>, bool)> {
        let req = req.into_inner();
        let NetworkRequest { mut properties, sku, zones } = req;
        self.get_group(group).await?;
        validate_network_name(name, "name")?;
        let location = self.region(env.location.as_deref(), &ty.arm_type())?;
        let id = network_id(group, ty, name);
        let existing = typed::get::<Tracked<NetworkResource>>(self.store(), Kind::Network, &key(&id)).await?;
        if let Some(old) = &existing
            && old.value.location != location
        {
            return Err(CoreError::Conflict {
                code: "InvalidResourceLocation",
                message: format!(
                    "The resource '{name}' already exists in location '{}' in resource group '{}'. A resource with the same name cannot be created in location '{location}'.",
                    old.value.location, group.resource_group
                ),
            });
        }
        if !properties.is_object() {
            properties = json!({});
        }
        match ty {
            NetworkType::VirtualNetwork => {
                self.complete_vnet(&id, &mut properties, existing.as_ref().map(|e| &e.value)).await?
            }
            NetworkType::NetworkSecurityGroup => complete_nsg(&id, &mut properties)?,
            NetworkType::PublicIpAddress => complete_public_ip(&mut properties)?,
            NetworkType::NetworkInterface => self.complete_nic(&id, &location, &mut properties).await?,
        }
        properties["provisioningState"] = json!("Succeeded");
        let created_at = existing.as_ref().map_or_else(now, |e| e.value.created_at);
        let value = Tracked {
            id: existing.as_ref().map_or(id.clone(), |e| e.value.id.clone()),
            name: existing.as_ref().map_or(name.to_string(), |e| e.value.name.clone()),
            location,
            tags: env.tags.unwrap_or_default(),
            provisioning_state: ProvisioningState::Succeeded,
            created_at,
            properties: NetworkResource { ty, properties, sku, zones },
        };
        let expect = existing.as_ref().map_or(Expect::Absent, |e| Expect::Rev(e.rev));
        self.store().apply(Batch::new().put(typed::doc(Kind::Network, &key(&id), None, &value), expect)).await?;
        Ok((value, existing.is_none()))
    }

    /// Subnets: checked, given ids; a subnet an interface uses cannot be left out or given
    /// another prefix by an update.
    async fn complete_vnet(&self, id: &str, p: &mut Value, old: Option<&Tracked<NetworkResource>>) -> CoreResult<()> {
        let prefixes: Vec<String> = p
            .pointer("/addressSpace/addressPrefixes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        let subnets = p["subnets"].as_array().cloned().unwrap_or_default();
        let shapes: Vec<(String, String)> = subnets
            .iter()
            .map(|s| (str_at(s, "/name").to_string(), str_at(s, "/properties/addressPrefix").to_string()))
            .collect();
        let prefix_refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        let shape_refs: Vec<(&str, &str)> = shapes.iter().map(|(n, p)| (n.as_str(), p.as_str())).collect();
        check_virtual_network(&prefix_refs, &shape_refs)?;
        if let Some(old) = old {
            // Every interface of the subscription (none has the network's id).
            let interfaces = self.interfaces_except(id).await?;
            for s in old.properties.properties["subnets"].as_array().into_iter().flatten() {
                let (name, prefix) = (str_at(s, "/name"), str_at(s, "/properties/addressPrefix"));
                let kept = shapes.iter().any(|(n, p)| n.eq_ignore_ascii_case(name) && p == prefix);
                if !kept && interfaces.iter().any(|n| links_to(n, &format!("{id}/subnets/{name}"))) {
                    return Err(in_use(
                        "InUseSubnetCannotBeUpdated",
                        format!(
                            "Subnet {name} is in use by a network interface and cannot be removed or given another address prefix."
                        ),
                    ));
                }
            }
        }
        let completed: Vec<Value> = subnets
            .into_iter()
            .map(|mut s| {
                s["id"] = json!(format!("{id}/subnets/{}", str_at(&s, "/name")));
                if !s["properties"].is_object() {
                    s["properties"] = json!({});
                }
                s["properties"]["provisioningState"] = json!("Succeeded");
                s["type"] = json!("Microsoft.Network/virtualNetworks/subnets");
                s
            })
            .collect();
        p["subnets"] = Value::Array(completed);
        Ok(())
    }

    /// An interface's IP configurations: each names an existing subnet in the interface's
    /// region and gets a private address from it; public IPs and the security group must exist
    /// there too, and a public IP serves one interface.
    async fn complete_nic(&self, id: &str, location: &str, p: &mut Value) -> CoreResult<()> {
        if let Some(nsg) = p.pointer("/networkSecurityGroup/id").and_then(Value::as_str) {
            self.network_in(nsg, location, NetworkType::NetworkSecurityGroup, "properties.networkSecurityGroup.id")
                .await?;
        }
        let configs = p["ipConfigurations"].as_array().cloned().unwrap_or_default();
        if configs.is_empty() {
            return Err(Invalid::param(
                "properties.ipConfigurations",
                "A network interface needs at least one IP configuration.",
            )
            .into());
        }
        let others = self.interfaces_except(id).await?;
        let mut taken: Vec<(String, Ipv4Addr)> = others
            .iter()
            .flat_map(|n| n.properties.properties["ipConfigurations"].as_array().cloned().unwrap_or_default())
            .filter_map(|c| {
                let subnet = str_at(&c, "/properties/subnet/id").to_ascii_lowercase();
                str_at(&c, "/properties/privateIPAddress").parse().ok().map(|a| (subnet, a))
            })
            .collect();
        let mut completed = vec![];
        for (i, mut c) in configs.into_iter().enumerate() {
            let target = format!("properties.ipConfigurations[{i}]");
            let subnet_id = str_at(&c, "/properties/subnet/id").to_string();
            let prefix = self.subnet_prefix(&subnet_id, location, &format!("{target}.properties.subnet.id")).await?;
            if let Some(pip) = c.pointer("/properties/publicIPAddress/id").and_then(Value::as_str).map(str::to_string) {
                let pip_target = format!("{target}.properties.publicIPAddress.id");
                self.network_in(&pip, location, NetworkType::PublicIpAddress, &pip_target).await?;
                if let Some(user) = others.iter().find(|n| links_to(n, &pip)) {
                    return Err(in_use(
                        "PublicIPAddressInUse",
                        format!(
                            "Resource {pip} is referenced by {} and cannot be used by another network interface.",
                            user.id
                        ),
                    ));
                }
            }
            let requested = str_at(&c, "/properties/privateIPAddress").to_string();
            let method = str_at(&c, "/properties/privateIPAllocationMethod").to_string();
            let requested = (method.eq_ignore_ascii_case("Static") && !requested.is_empty()).then_some(requested);
            let used: Vec<Ipv4Addr> =
                taken.iter().filter(|(s, _)| s.eq_ignore_ascii_case(&subnet_id)).map(|(_, a)| *a).collect();
            let addr = allocate_private_ip(
                &prefix,
                &used,
                requested.as_deref(),
                &format!("{target}.properties.privateIPAddress"),
            )?;
            taken.push((subnet_id.to_ascii_lowercase(), addr));
            let name = match str_at(&c, "/name") {
                "" => format!("ipconfig{}", i + 1),
                n => n.to_string(),
            };
            c["name"] = json!(name);
            c["id"] = json!(format!("{id}/ipConfigurations/{name}"));
            c["properties"]["privateIPAddress"] = json!(addr.to_string());
            c["properties"]["privateIPAllocationMethod"] =
                json!(if requested.is_some() { "Static" } else { "Dynamic" });
            c["properties"]["privateIPAddressVersion"] = json!("IPv4");
            c["properties"]["primary"] = json!(i == 0);
            c["properties"]["provisioningState"] = json!("Succeeded");
            completed.push(c);
        }
        p["ipConfigurations"] = Value::Array(completed);
        Ok(())
    }

    /// Every interface in the store but `id` (the subscription's; addresses are per subnet).
    async fn interfaces_except(&self, id: &str) -> CoreResult<Vec<Tracked<NetworkResource>>> {
        let sub_prefix = id.split("/resourceGroups/").next().unwrap_or_default().to_ascii_lowercase() + "/";
        Ok(self
            .all_network(&sub_prefix)
            .await?
            .into_iter()
            .filter(|n| n.properties.ty == NetworkType::NetworkInterface && !n.id.eq_ignore_ascii_case(id))
            .collect())
    }

    async fn all_network(&self, prefix: &str) -> CoreResult<Vec<Tracked<NetworkResource>>> {
        let mut out = vec![];
        let mut after: Option<String> = None;
        loop {
            let rows =
                typed::list::<Tracked<NetworkResource>>(self.store(), Kind::Network, prefix, after.as_deref(), 500)
                    .await?;
            let last = rows.last().map(|(k, _)| k.clone());
            let full = rows.len() == 500;
            out.extend(rows.into_iter().map(|(_, r)| r.value));
            if !full {
                return Ok(out);
            }
            after = last;
        }
    }

    /// A network resource by id, of type `ty`, in `location`; `target` names the field.
    async fn network_in(
        &self,
        id: &str,
        location: &str,
        ty: NetworkType,
        target: &str,
    ) -> CoreResult<Tracked<NetworkResource>> {
        let found = typed::get::<Tracked<NetworkResource>>(self.store(), Kind::Network, &key(id)).await?;
        let Some(found) = found.map(|r| r.value).filter(|r| r.properties.ty == ty) else {
            return Err(Invalid::param(target, format!("Resource {id} referenced by {target} was not found.")).into());
        };
        if found.location != location {
            return Err(Invalid::param(
                target,
                format!("Resource {id} is in location '{}'; it must be in '{location}', the location of the resource that references it.", found.location),
            )
            .into());
        }
        Ok(found)
    }

    /// The prefix of a subnet given by id (`…/virtualNetworks/{v}/subnets/{s}`).
    async fn subnet_prefix(&self, subnet_id: &str, location: &str, target: &str) -> CoreResult<Cidr> {
        let Some((vnet_id, subnet)) = subnet_id.rsplit_once("/subnets/") else {
            return Err(Invalid::param(target, format!("'{subnet_id}' is not a subnet id.")).into());
        };
        let vnet = self.network_in(vnet_id, location, NetworkType::VirtualNetwork, target).await?;
        let found = vnet.properties.properties["subnets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| str_at(s, "/name").eq_ignore_ascii_case(subnet))
            .map(|s| str_at(s, "/properties/addressPrefix").to_string());
        let Some(prefix) = found else {
            return Err(Invalid::param(target, format!("Subnet {subnet_id} was not found.")).into());
        };
        Ok(Cidr::parse(&prefix, target)?)
    }

    /// One network resource.
    pub async fn get_network(
        &self,
        group: &GroupRef,
        ty: NetworkType,
        name: &str,
    ) -> CoreResult<Tracked<NetworkResource>> {
        self.get_group(group).await?;
        typed::get::<Tracked<NetworkResource>>(self.store(), Kind::Network, &key(&network_id(group, ty, name)))
            .await?
            .map(|r| r.value)
            .ok_or_else(|| not_found(group, ty, name))
    }

    /// The resources of one type in a group, or in the whole subscription when `group` is `None`.
    pub async fn list_network(
        &self,
        subscription: &str,
        group: Option<&GroupRef>,
        ty: NetworkType,
    ) -> CoreResult<Vec<Tracked<NetworkResource>>> {
        self.require_subscription(subscription).await?;
        let prefix = match group {
            Some(g) => {
                self.get_group(g).await?;
                format!("{}/", key(&network_id(g, ty, "")).trim_end_matches('/'))
            }
            None => format!("/subscriptions/{}/", subscription.to_ascii_lowercase()),
        };
        Ok(self.all_network(&prefix).await?.into_iter().filter(|r| r.properties.ty == ty).collect())
    }

    /// Deletes a network resource that nothing uses; `false` when it did not exist.
    pub async fn delete_network(&self, group: &GroupRef, ty: NetworkType, name: &str) -> CoreResult<bool> {
        self.get_group(group).await?;
        let id = network_id(group, ty, name);
        let Some(existing) = typed::get::<Tracked<NetworkResource>>(self.store(), Kind::Network, &key(&id)).await?
        else {
            return Ok(false);
        };
        if let Some((code, message)) = self.network_user(&existing.value).await? {
            return Err(in_use(code, message));
        }
        self.store().apply(Batch::new().delete(Kind::Network, key(&id), Expect::Rev(existing.rev))).await?;
        Ok(true)
    }

    /// What still uses a network resource: an interface (of a subnet, public IP or security
    /// group) or a VM (of an interface).
    async fn network_user(&self, r: &Tracked<NetworkResource>) -> CoreResult<Option<(&'static str, String)>> {
        let lower = r.id.to_ascii_lowercase();
        if r.properties.ty == NetworkType::NetworkInterface {
            let sub = lower.split("/resourcegroups/").next().unwrap_or_default().to_string();
            if let Some(vm) = self.vm_using_interface(&sub, &lower).await? {
                return Ok(Some((
                    "NicInUse",
                    format!(
                        "Network Interface {} is used by existing resource {vm}. In order to delete the network interface, it must be dissociated from the resource.",
                        r.id
                    ),
                )));
            }
            return Ok(None);
        }
        let subnets = format!("{lower}/subnets/");
        for nic in self.interfaces_except(&r.id).await? {
            let used = match r.properties.ty {
                NetworkType::VirtualNetwork => interface_links(&nic.properties.properties)
                    .iter()
                    .any(|l| l.to_ascii_lowercase().starts_with(&subnets)),
                _ => links_to(&nic, &r.id),
            };
            if used {
                let code = match r.properties.ty {
                    NetworkType::VirtualNetwork => "InUseSubnetCannotBeDeleted",
                    NetworkType::PublicIpAddress => "PublicIPAddressCannotBeDeleted",
                    _ => "InUseNetworkSecurityGroupCannotBeDeleted",
                };
                return Ok(Some((code, format!("{} is in use by {} and cannot be deleted.", r.id, nic.id))));
            }
        }
        Ok(None)
    }

    /// The VM whose `networkProfile` names interface `nic` (lowercase id), in subscription
    /// `sub` (lowercase `/subscriptions/{id}`).
    pub(crate) async fn vm_using_interface(&self, sub: &str, nic: &str) -> CoreResult<Option<String>> {
        let mut after: Option<String> = None;
        loop {
            let rows = typed::list::<Tracked<galleon_model::vm::VirtualMachine>>(
                self.store(),
                Kind::Vm,
                &format!("{sub}/"),
                after.as_deref(),
                500,
            )
            .await?;
            let full = rows.len() == 500;
            after = rows.last().map(|(k, _)| k.clone());
            for (_, vm) in rows {
                let profile = vm.value.properties.network_profile.as_deref().unwrap_or_default();
                if profile_interfaces(profile).iter().any(|n| n.eq_ignore_ascii_case(nic)) {
                    return Ok(Some(vm.value.id));
                }
            }
            if !full {
                return Ok(None);
            }
        }
    }

    /// A VM's interfaces exist, are in its region, and serve no other VM.
    pub(crate) async fn check_vm_interfaces(
        &self,
        vm_id: &str,
        location: &str,
        network_profile: &str,
    ) -> CoreResult<()> {
        let sub = vm_id.to_ascii_lowercase().split("/resourcegroups/").next().unwrap_or_default().to_string();
        for (i, id) in profile_interfaces(network_profile).iter().enumerate() {
            let target = format!("properties.networkProfile.networkInterfaces[{i}].id");
            self.network_in(id, location, NetworkType::NetworkInterface, &target).await?;
            if let Some(other) = self.vm_using_interface(&sub, &id.to_ascii_lowercase()).await?
                && !other.eq_ignore_ascii_case(vm_id)
            {
                return Err(in_use(
                    "NicInUse",
                    format!("Network interface {id} is already used by virtual machine {other}."),
                ));
            }
        }
        Ok(())
    }
}

fn complete_nsg(id: &str, p: &mut Value) -> CoreResult<()> {
    let rules = p["securityRules"].as_array().cloned().unwrap_or_default();
    let shapes: Vec<(String, Option<i64>, String, String, String)> = rules
        .iter()
        .map(|r| {
            (
                str_at(r, "/name").to_string(),
                r.pointer("/properties/priority").and_then(Value::as_i64),
                str_at(r, "/properties/direction").to_string(),
                str_at(r, "/properties/access").to_string(),
                str_at(r, "/properties/protocol").to_string(),
            )
        })
        .collect();
    let refs: Vec<RuleShape<'_>> = shapes
        .iter()
        .map(|(name, priority, direction, access, protocol)| RuleShape {
            name,
            priority: *priority,
            direction,
            access,
            protocol,
        })
        .collect();
    check_security_rules(&refs)?;
    let completed: Vec<Value> = rules
        .into_iter()
        .map(|mut r| {
            r["id"] = json!(format!("{id}/securityRules/{}", str_at(&r, "/name")));
            r["properties"]["provisioningState"] = json!("Succeeded");
            r["type"] = json!("Microsoft.Network/networkSecurityGroups/securityRules");
            r
        })
        .collect();
    p["securityRules"] = Value::Array(completed);
    Ok(())
}

fn complete_public_ip(p: &mut Value) -> CoreResult<()> {
    let method = allocation_method(str_at(p, "/publicIPAllocationMethod"), "properties.publicIPAllocationMethod")?;
    p["publicIPAllocationMethod"] = json!(method);
    if str_at(p, "/publicIPAddressVersion").is_empty() {
        p["publicIPAddressVersion"] = json!("IPv4");
    }
    // No address: galleon has no public network to give one from (as a Dynamic address
    // before its VM runs in Azure).
    if let Some(obj) = p.as_object_mut() {
        obj.remove("ipAddress");
    }
    Ok(())
}
