//! The `Microsoft.Network` resources a VM's `networkProfile` refers to: virtual networks with
//! subnets, network security groups, public IP addresses and network interfaces. galleon runs
//! no guests and carries no packets; these are records kept with Azure's rules (address
//! prefixes, subnets inside their network and apart from each other, rule priorities, private
//! addresses allocated from a subnet) so that `az vm create` and ARM templates work as in Azure.

use std::net::Ipv4Addr;

use crate::Invalid;

/// The four network resource types galleon keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum NetworkType {
    /// `Microsoft.Network/virtualNetworks`
    VirtualNetwork,
    /// `Microsoft.Network/networkSecurityGroups`
    NetworkSecurityGroup,
    /// `Microsoft.Network/publicIPAddresses`
    PublicIpAddress,
    /// `Microsoft.Network/networkInterfaces`
    NetworkInterface,
}

impl NetworkType {
    /// Every type.
    pub const ALL: [Self; 4] =
        [Self::VirtualNetwork, Self::NetworkSecurityGroup, Self::PublicIpAddress, Self::NetworkInterface];

    /// The type's path segment as ARM spells it (`virtualNetworks`).
    pub fn segment(self) -> &'static str {
        match self {
            Self::VirtualNetwork => "virtualNetworks",
            Self::NetworkSecurityGroup => "networkSecurityGroups",
            Self::PublicIpAddress => "publicIPAddresses",
            Self::NetworkInterface => "networkInterfaces",
        }
    }

    /// The ARM resource type.
    pub fn arm_type(self) -> String {
        format!("Microsoft.Network/{}", self.segment())
    }

    /// The type of a path segment, in any casing.
    pub fn from_segment(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.segment().eq_ignore_ascii_case(segment))
    }
}

/// Network resource names: 1–80 letters, digits, `_`, `.` and `-`, starting alphanumeric and
/// ending alphanumeric or `_`.
pub fn validate_network_name(name: &str, target: &str) -> Result<(), Invalid> {
    let ok_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    let first_ok = name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    let last_ok = name.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    if (1..=80).contains(&name.len()) && ok_chars && first_ok && last_ok {
        return Ok(());
    }
    Err(Invalid {
        code: crate::InvalidCode::InvalidResourceName,
        target: target.to_string(),
        message: format!(
            "Resource name {name} is invalid. The name can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'."
        ),
    })
}

/// An IPv4 prefix (`10.0.0.0/16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address (host bits zero).
    pub network: u32,
    /// The prefix length.
    pub len: u8,
}

impl Cidr {
    /// Parses a prefix whose host bits are zero, as Azure requires.
    pub fn parse(text: &str, target: &str) -> Result<Self, Invalid> {
        let bad =
            || Invalid::param(target, format!("{text} is not a valid IPv4 address prefix (for example 10.0.0.0/16)."));
        let (addr, len) = text.trim().split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let len: u8 = len.parse().map_err(|_| bad())?;
        if len > 32 {
            return Err(bad());
        }
        let network = u32::from(addr);
        if network & !mask(len) != 0 {
            return Err(Invalid::param(
                target,
                format!(
                    "{text} is not a valid address prefix: its host bits are not zero (did you mean {}/{len}?).",
                    Ipv4Addr::from(network & mask(len))
                ),
            ));
        }
        Ok(Self { network, len })
    }

    /// Whether `other` lies inside this prefix.
    pub fn contains(&self, other: &Cidr) -> bool {
        other.len >= self.len && other.network & mask(self.len) == self.network
    }

    /// Whether the two prefixes share an address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }

    /// Whether `addr` is in this prefix.
    pub fn holds(&self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & mask(self.len) == self.network
    }

    fn last(&self) -> u32 {
        self.network | !mask(self.len)
    }
}

fn mask(len: u8) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) }
}

/// A public IP's allocation method in ARM's casing: `Static` or `Dynamic` (the default).
pub fn allocation_method(method: &str, target: &str) -> Result<&'static str, Invalid> {
    match method.to_ascii_lowercase().as_str() {
        "" | "dynamic" => Ok("Dynamic"),
        "static" => Ok("Static"),
        _ => Err(Invalid::param(
            target,
            format!("Public IP allocation method '{method}' is not valid. Allowed values: Static, Dynamic."),
        )),
    }
}

/// A virtual network's address space and subnets (name, prefix): prefixes valid, every subnet
/// inside the address space, subnets apart from each other, names unique.
pub fn check_virtual_network(prefixes: &[&str], subnets: &[(&str, &str)]) -> Result<(), Invalid> {
    const SPACE: &str = "properties.addressSpace.addressPrefixes";
    if prefixes.is_empty() {
        return Err(Invalid::param(SPACE, "A virtual network needs at least one address prefix."));
    }
    let space: Vec<Cidr> = prefixes.iter().map(|p| Cidr::parse(p, SPACE)).collect::<Result<_, _>>()?;
    for (i, a) in space.iter().enumerate() {
        if space[..i].iter().any(|b| a.overlaps(b)) {
            return Err(Invalid::param(
                SPACE,
                format!("Address prefix {} overlaps another prefix of the virtual network.", prefixes[i]),
            ));
        }
    }
    let mut seen: Vec<(String, Cidr)> = vec![];
    for (i, (name, prefix)) in subnets.iter().enumerate() {
        let target = format!("properties.subnets[{i}]");
        validate_network_name(name, &format!("{target}.name"))?;
        let cidr = Cidr::parse(prefix, &format!("{target}.properties.addressPrefix"))?;
        if !space.iter().any(|s| s.contains(&cidr)) {
            return Err(Invalid::param(
                format!("{target}.properties.addressPrefix"),
                format!(
                    "Subnet '{name}' is not valid because its IP address range {prefix} is outside the IP address range of the virtual network ({}).",
                    prefixes.join(", ")
                ),
            ));
        }
        if let Some((other, _)) = seen.iter().find(|(n, c)| n.eq_ignore_ascii_case(name) || c.overlaps(&cidr)) {
            let message = if other.eq_ignore_ascii_case(name) {
                format!("Subnet name '{name}' is used twice.")
            } else {
                format!("Subnet '{name}' ({prefix}) overlaps subnet '{other}'.")
            };
            return Err(Invalid::param(format!("{target}.properties.addressPrefix"), message));
        }
        seen.push((name.to_string(), cidr));
    }
    Ok(())
}

/// A security rule as far as the rules below look at it.
pub struct RuleShape<'a> {
    /// Name.
    pub name: &'a str,
    /// Priority (100–4096), unique per direction.
    pub priority: Option<i64>,
    /// `Inbound` or `Outbound`.
    pub direction: &'a str,
    /// `Allow` or `Deny`.
    pub access: &'a str,
    /// `Tcp`, `Udp`, `Icmp`, `Esp`, `Ah` or `*`.
    pub protocol: &'a str,
}

/// A network security group's rules.
pub fn check_security_rules(rules: &[RuleShape<'_>]) -> Result<(), Invalid> {
    let mut seen: Vec<(String, i64)> = vec![];
    for (i, r) in rules.iter().enumerate() {
        let target = format!("properties.securityRules[{i}]");
        validate_network_name(r.name, &format!("{target}.name"))?;
        let Some(priority) = r.priority.filter(|p| (100..=4096).contains(p)) else {
            return Err(Invalid::param(
                format!("{target}.properties.priority"),
                format!(
                    "Security rule {} has invalid Priority. Value provided: {}. Allowed range 100-4096.",
                    r.name,
                    r.priority.map_or("none".into(), |p| p.to_string())
                ),
            ));
        };
        for (field, value, allowed) in [
            ("direction", r.direction, &["Inbound", "Outbound"][..]),
            ("access", r.access, &["Allow", "Deny"][..]),
            ("protocol", r.protocol, &["Tcp", "Udp", "Icmp", "Esp", "Ah", "*"][..]),
        ] {
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(value)) {
                return Err(Invalid::param(
                    format!("{target}.properties.{field}"),
                    format!(
                        "Security rule {} has an invalid {field} '{value}'. Allowed values: {}.",
                        r.name,
                        allowed.join(", ")
                    ),
                ));
            }
        }
        let direction = r.direction.to_ascii_lowercase();
        if seen.iter().any(|(d, p)| *p == priority && *d == direction) {
            return Err(Invalid::param(
                format!("{target}.properties.priority"),
                format!(
                    "Security rule {} conflicts with another {} rule: both have priority {priority}.",
                    r.name, r.direction
                ),
            ));
        }
        seen.push((direction, priority));
    }
    Ok(())
}

/// A private address for a network interface in `subnet`: the requested one when it is free
/// and usable, else the lowest free one. Azure reserves the first four addresses of a subnet
/// and its last.
pub fn allocate_private_ip(
    subnet: &Cidr,
    used: &[Ipv4Addr],
    requested: Option<&str>,
    target: &str,
) -> Result<Ipv4Addr, Invalid> {
    let first = subnet.network.saturating_add(4);
    let last = subnet.last().saturating_sub(1);
    if let Some(text) = requested.filter(|t| !t.is_empty()) {
        let addr: Ipv4Addr =
            text.parse().map_err(|_| Invalid::param(target, format!("{text} is not a valid IPv4 address.")))?;
        let n = u32::from(addr);
        if !subnet.holds(addr) || n < first || n > last {
            return Err(Invalid::param(
                target,
                format!("Private IP address {text} is not in the usable range of the subnet."),
            ));
        }
        if used.contains(&addr) {
            return Err(Invalid {
                code: crate::InvalidCode::OperationNotAllowed,
                target: target.to_string(),
                message: format!("IP configuration asks for private IP address {text}, which is already in use."),
            });
        }
        return Ok(addr);
    }
    (first..=last).map(Ipv4Addr::from).find(|a| !used.contains(a)).ok_or_else(|| Invalid {
        code: crate::InvalidCode::OperationNotAllowed,
        target: target.to_string(),
        message: "The subnet has no free private IP address left.".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_parse_and_nest() {
        let net = Cidr::parse("10.0.0.0/16", "t").unwrap();
        let sub = Cidr::parse("10.0.1.0/24", "t").unwrap();
        assert!(net.contains(&sub) && !sub.contains(&net) && net.overlaps(&sub));
        assert!(!Cidr::parse("10.1.0.0/24", "t").unwrap().overlaps(&net));
        for bad in ["10.0.0.0", "10.0.0.1/16", "10.0.0.0/33", "300.0.0.0/8", "x/8"] {
            assert!(Cidr::parse(bad, "t").is_err(), "{bad}");
        }
    }

    #[test]
    fn subnets_stay_inside_their_network_and_apart() {
        assert!(check_virtual_network(&["10.0.0.0/16"], &[("a", "10.0.0.0/24"), ("b", "10.0.1.0/24")]).is_ok());
        let e = check_virtual_network(&["10.0.0.0/16"], &[("a", "10.1.0.0/24")]).unwrap_err();
        assert!(e.message.contains("outside"), "{e}");
        let e = check_virtual_network(&["10.0.0.0/16"], &[("a", "10.0.0.0/24"), ("b", "10.0.0.128/25")]).unwrap_err();
        assert!(e.message.contains("overlaps"), "{e}");
        let e = check_virtual_network(&["10.0.0.0/16"], &[("a", "10.0.0.0/24"), ("A", "10.0.1.0/24")]).unwrap_err();
        assert!(e.message.contains("twice"), "{e}");
        assert!(check_virtual_network(&[], &[]).is_err());
        assert!(check_virtual_network(&["10.0.0.0/16", "10.0.128.0/17"], &[]).is_err());
    }

    #[test]
    fn rule_priorities_are_in_range_and_unique_per_direction() {
        let rule = |name, priority, direction| RuleShape {
            name,
            priority: Some(priority),
            direction,
            access: "Allow",
            protocol: "Tcp",
        };
        assert!(check_security_rules(&[rule("ssh", 1000, "Inbound"), rule("out", 1000, "Outbound")]).is_ok());
        assert!(check_security_rules(&[rule("a", 1000, "Inbound"), rule("b", 1000, "Inbound")]).is_err());
        assert!(check_security_rules(&[rule("a", 99, "Inbound")]).is_err());
        assert!(check_security_rules(&[rule("a", 100, "Sideways")]).is_err());
    }

    #[test]
    fn private_addresses_skip_reserved_ones_and_used_ones() {
        let sub = Cidr::parse("10.0.0.0/29", "t").unwrap(); // .4, .5, .6 usable
        assert_eq!(allocate_private_ip(&sub, &[], None, "t").unwrap(), Ipv4Addr::new(10, 0, 0, 4));
        let used = [Ipv4Addr::new(10, 0, 0, 4)];
        assert_eq!(allocate_private_ip(&sub, &used, None, "t").unwrap(), Ipv4Addr::new(10, 0, 0, 5));
        assert!(allocate_private_ip(&sub, &used, Some("10.0.0.4"), "t").is_err());
        assert!(allocate_private_ip(&sub, &used, Some("10.0.0.7"), "t").is_err(), "broadcast");
        assert_eq!(allocate_private_ip(&sub, &used, Some("10.0.0.6"), "t").unwrap(), Ipv4Addr::new(10, 0, 0, 6));
        let all = [4, 5, 6].map(|n| Ipv4Addr::new(10, 0, 0, n));
        assert!(allocate_private_ip(&sub, &all, None, "t").is_err());
    }

    #[test]
    fn allocation_methods() {
        assert_eq!(allocation_method("", "t").unwrap(), "Dynamic");
        assert_eq!(allocation_method("static", "t").unwrap(), "Static");
        assert!(allocation_method("Sometimes", "t").is_err());
    }

    #[test]
    fn names() {
        assert!(validate_network_name("myVMVNET", "n").is_ok());
        assert!(validate_network_name("my_", "n").is_ok());
        assert!(validate_network_name("-x", "n").is_err());
        assert!(validate_network_name("x-", "n").is_err());
    }
}
