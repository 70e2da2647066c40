//! `galleon sig …`: galleries, image definitions and image versions, with az's arguments.

use galleon_api_types::Resource;
use galleon_api_types::version::VersionProperties;
use galleon_client::api_version::SOFT_DELETE;
use hyper::Method;
use serde_json::{Map, Value, json};

use super::args::{
    DefinitionCommand, DefinitionCreate, DefinitionRef, GalleryRef, RetentionCommand, RetentionRules, SigCommand,
    VersionCommand, VersionCreate, VersionRef, VersionUpdate,
};
use super::{COMPUTE, RESOURCES, Session, location_of, target_regions};

pub(super) async fn run(s: &Session, command: SigCommand) -> anyhow::Result<()> {
    let value = match command {
        SigCommand::Create { gallery, location, description, permissions, soft_delete, community, no_wait } => {
            let location = match location {
                Some(l) => l,
                None => location_of(&s.get(&s.group_path(&gallery.resource_group), RESOURCES).await?)?,
            };
            let mut body = json!({ "location": location, "properties": {} });
            if let Some(d) = description {
                body["properties"]["description"] = json!(d);
            }
            if let Some(p) = permissions {
                body["properties"]["sharingProfile"] = json!({ "permissions": p });
            }
            soft_delete.apply(&mut body);
            community.apply(&mut body);
            s.change(Method::PUT, &gallery_path(s, &gallery), COMPUTE, Some(&body), no_wait).await?
        }
        SigCommand::Show { gallery, sharing_groups } => {
            let api = if sharing_groups { format!("{COMPUTE}&$expand=sharingProfile/Groups") } else { COMPUTE.into() };
            s.get(&gallery_path(s, &gallery), &api).await?
        }
        SigCommand::List { resource_group: Some(group) } => {
            s.list(&format!("{}/providers/Microsoft.Compute/galleries", s.group_path(&group)), COMPUTE).await?
        }
        SigCommand::List { resource_group: None } => {
            s.list(&format!("/subscriptions/{}/providers/Microsoft.Compute/galleries", s.subscription), COMPUTE).await?
        }
        SigCommand::Update { gallery, description, permissions, soft_delete, community, generic, no_wait } => {
            s.update(&gallery_path(s, &gallery), COMPUTE, no_wait, |g| {
                if let Some(d) = description {
                    g["properties"]["description"] = json!(d);
                }
                if let Some(p) = permissions {
                    g["properties"]["sharingProfile"] = json!({ "permissions": p });
                }
                soft_delete.apply(g);
                community.apply(g);
                generic.apply(g).map_err(anyhow::Error::msg)
            })
            .await?
        }
        SigCommand::Delete { gallery, no_wait } => {
            s.change(Method::DELETE, &gallery_path(s, &gallery), COMPUTE, None, no_wait).await?
        }
        SigCommand::Share(command) => super::share::share(s, command).await?,
        SigCommand::ListShared { at } => super::share::list_galleries(s, at).await?,
        SigCommand::ShowShared { gallery } => super::share::show_gallery(s, gallery).await?,
        SigCommand::ShowCommunity { gallery } => super::share::show_community(s, gallery).await?,
        SigCommand::ListCommunity { location } => super::share::list_community(s, location.as_deref()).await?,
        SigCommand::ImageDefinition(command) => definition(s, command).await?,
        SigCommand::ImageVersion(command) => version(s, command).await?,
    };
    s.print(&value)
}

impl super::args::SoftDeleteArgs {
    /// Sets `softDeletePolicy` from the flags given (none: unchanged).
    fn apply(&self, body: &mut Value) {
        let mut policy = Map::new();
        if let Some(on) = self.soft_delete {
            policy.insert("isSoftDeleteEnabled".into(), json!(on));
        }
        if let Some(d) = self.soft_delete_retention_period {
            policy.insert("retentionPeriodInDays".into(), json!(d));
        }
        if let Some(d) = self.soft_delete_grace_period {
            policy.insert("gracePeriodInDays".into(), json!(d));
        }
        if !policy.is_empty() {
            body["properties"]["softDeletePolicy"] = Value::Object(policy);
        }
    }
}

fn gallery_path(s: &Session, g: &GalleryRef) -> String {
    s.gallery_path(&g.resource_group, &g.gallery_name)
}

fn definition_path(s: &Session, d: &DefinitionRef) -> String {
    format!("{}/images/{}", gallery_path(s, &d.gallery), d.gallery_image_definition)
}

fn version_path(s: &Session, v: &VersionRef) -> String {
    format!("{}/versions/{}", definition_path(s, &v.definition), v.gallery_image_version)
}

async fn definition(s: &Session, command: DefinitionCommand) -> anyhow::Result<Value> {
    Ok(match command {
        DefinitionCommand::Create(c) => {
            let DefinitionCreate {
                definition,
                publisher,
                offer,
                sku,
                os_type,
                os_state,
                hyper_v_generation,
                features,
                end_of_life_date,
                description,
                location,
                no_wait,
                plan_name,
                plan_product,
                plan_publisher,
                minimum_cpu_core,
                maximum_cpu_core,
                minimum_memory,
                maximum_memory,
            } = *c;
            // az's defaults since 2024: generation V2, and a V2 image is TrustedLaunchSupported.
            let hyper_v_generation = hyper_v_generation.unwrap_or_else(|| "V2".into());
            let features = parse_features(features.as_deref(), &hyper_v_generation)?;
            let location = match location {
                Some(l) => l,
                None => location_of(&s.get(&gallery_path(s, &definition.gallery), COMPUTE).await?)?,
            };
            let mut properties = json!({
                "identifier": { "publisher": publisher, "offer": offer, "sku": sku },
                "osType": os_type,
                "osState": os_state,
            });
            let optional = [
                ("hyperVGeneration", Some(Value::from(hyper_v_generation))),
                ("features", features),
                ("endOfLifeDate", end_of_life_date.map(Value::from)),
                ("description", description.map(Value::from)),
                ("purchasePlan", plan(plan_name, plan_product, plan_publisher)),
                ("recommended", recommended([minimum_cpu_core, maximum_cpu_core, minimum_memory, maximum_memory])),
            ];
            for (key, value) in optional {
                if let Some(value) = value {
                    properties[key] = value;
                }
            }
            let body = json!({ "location": location, "properties": properties });
            s.change(Method::PUT, &definition_path(s, &definition), COMPUTE, Some(&body), no_wait).await?
        }
        DefinitionCommand::Show { definition } => s.get(&definition_path(s, &definition), COMPUTE).await?,
        DefinitionCommand::Retention(command) => retention(s, command).await?,
        DefinitionCommand::ExplainLatest { definition, region } => {
            let region: String = region.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            s.get(&format!("{}/explainLatest", definition_path(s, &definition)), &format!("{COMPUTE}&region={region}"))
                .await?
        }
        DefinitionCommand::ListCommunity { gallery } => super::share::community_images(s, gallery, None).await?,
        DefinitionCommand::ShowCommunity { gallery, gallery_image_definition } => {
            super::share::community_images(s, gallery, Some(&gallery_image_definition)).await?
        }
        DefinitionCommand::ListShared { gallery, shared_to } => {
            super::share::list_images(s, gallery, shared_to).await?
        }
        DefinitionCommand::ShowShared { gallery, gallery_image_definition } => {
            super::share::show_image(s, gallery, &gallery_image_definition).await?
        }
        DefinitionCommand::List { gallery } => {
            s.list(&format!("{}/images", gallery_path(s, &gallery)), COMPUTE).await?
        }
        DefinitionCommand::Update { definition, end_of_life_date, generic, no_wait } => {
            s.update(&definition_path(s, &definition), COMPUTE, no_wait, |d| {
                if let Some(date) = end_of_life_date {
                    d["properties"]["endOfLifeDate"] = json!(date);
                }
                generic.apply(d).map_err(anyhow::Error::msg)
            })
            .await?
        }
        DefinitionCommand::Delete { definition, no_wait } => {
            s.change(Method::DELETE, &definition_path(s, &definition), COMPUTE, None, no_wait).await?
        }
    })
}

/// `--minimum-cpu-core … --maximum-memory` as `recommended` ranges.
fn recommended([cpu_min, cpu_max, memory_min, memory_max]: [Option<u32>; 4]) -> Option<Value> {
    let range = |min: Option<u32>, max: Option<u32>| {
        let mut r = Map::new();
        if let Some(v) = min {
            r.insert("min".into(), json!(v));
        }
        if let Some(v) = max {
            r.insert("max".into(), json!(v));
        }
        (!r.is_empty()).then_some(Value::Object(r))
    };
    let mut out = Map::new();
    if let Some(r) = range(cpu_min, cpu_max) {
        out.insert("vCPUs".into(), r);
    }
    if let Some(r) = range(memory_min, memory_max) {
        out.insert("memory".into(), r);
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// `--plan-name/--plan-product/--plan-publisher` as a `purchasePlan`.
fn plan(name: Option<String>, product: Option<String>, publisher: Option<String>) -> Option<Value> {
    if name.is_none() && product.is_none() && publisher.is_none() {
        return None;
    }
    Some(json!({ "name": name, "product": product, "publisher": publisher }))
}

/// `sig image-definition retention …`: galleon's policy beside the definition.
async fn retention(s: &Session, command: RetentionCommand) -> anyhow::Result<Value> {
    let path = |d: &DefinitionRef| format!("{}/retentionPolicy", definition_path(s, d));
    let body = |r: &RetentionRules| {
        let mut b = json!({});
        if let Some(n) = r.keep_latest {
            b["keepLatest"] = json!(n);
        }
        if let Some(d) = r.delete_after_end_of_life_days {
            b["deleteAfterEndOfLifeDays"] = json!(d);
        }
        if let Some(c) = r.count_excluded_from_latest {
            b["countExcludedFromLatest"] = json!(c);
        }
        b
    };
    Ok(match command {
        RetentionCommand::Set { definition, rules } => {
            s.client.call(Method::PUT, &format!("{}?{COMPUTE}", path(&definition)), Some(&body(&rules))).await?.body
        }
        RetentionCommand::Show { definition } => s.get(&path(&definition), COMPUTE).await?,
        RetentionCommand::Preview { definition, rules } => {
            let given = body(&rules);
            let proposed = given.as_object().is_some_and(|m| !m.is_empty()).then_some(&given);
            let url = format!("{}/preview?{COMPUTE}", path(&definition));
            s.client.call(Method::POST, &url, proposed).await?.body
        }
        RetentionCommand::Run { definition } => {
            let url = format!("{}/run?{COMPUTE}", path(&definition));
            let accepted = s.client.call(Method::POST, &url, None).await?;
            let status = s.client.wait(&accepted).await?;
            status.output().clone()
        }
        RetentionCommand::Delete { definition } => {
            s.client.call(Method::DELETE, &format!("{}?{COMPUTE}", path(&definition)), None).await?;
            Value::Null
        }
    })
}

/// `--features "SecurityType=TrustedLaunch IsAcceleratedNetworkSupported=true"`, as az sends
/// them: `SecurityType=Standard` means "no security type" and is not sent, and a V2 definition
/// without a security type gets `SecurityType=TrustedLaunchSupported`.
fn parse_features(features: Option<&str>, generation: &str) -> anyhow::Result<Option<Value>> {
    let mut list = Vec::new();
    let mut security_type = false;
    for pair in features.unwrap_or_default().split_whitespace() {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("usage error: --features '{pair}' must be name=value"))?;
        security_type |= name == "SecurityType";
        if name != "SecurityType" || value != "Standard" {
            list.push(json!({ "name": name, "value": value }));
        }
    }
    if !security_type && generation.eq_ignore_ascii_case("V2") {
        list.push(json!({ "name": "SecurityType", "value": "TrustedLaunchSupported" }));
    }
    Ok((!list.is_empty() || features.is_some()).then_some(Value::Array(list)))
}

async fn version(s: &Session, command: VersionCommand) -> anyhow::Result<Value> {
    Ok(match command {
        VersionCommand::Create(create) => create_version(s, *create).await?,
        VersionCommand::Verify { version } => super::provenance::verify_version(s, &version_path(s, &version)).await?,
        VersionCommand::ShowProvenance { version } => {
            s.get(&format!("{}/provenance", version_path(s, &version)), COMPUTE).await?
        }
        VersionCommand::Show { version, expand } => {
            let api = expand.map_or_else(|| COMPUTE.to_string(), |e| format!("{COMPUTE}&$expand={e}"));
            s.get(&version_path(s, &version), &api).await?
        }
        VersionCommand::ListCommunity { gallery, gallery_image_definition } => {
            super::share::community_versions(s, gallery, &gallery_image_definition, None).await?
        }
        VersionCommand::ShowCommunity { gallery, gallery_image_definition, gallery_image_version } => {
            super::share::community_versions(s, gallery, &gallery_image_definition, Some(&gallery_image_version))
                .await?
        }
        VersionCommand::ListShared { gallery, gallery_image_definition, shared_to } => {
            super::share::list_versions(s, gallery, &gallery_image_definition, shared_to).await?
        }
        VersionCommand::ShowShared { gallery, gallery_image_definition, gallery_image_version } => {
            super::share::show_version(s, gallery, &gallery_image_definition, &gallery_image_version).await?
        }
        VersionCommand::List { definition } => {
            s.list(&format!("{}/versions", definition_path(s, &definition)), COMPUTE).await?
        }
        VersionCommand::Update(u) => update_version(s, *u).await?,
        VersionCommand::Wait { version, condition, timing } => {
            s.wait_for(&version_path(s, &version), COMPUTE, &timing, |found| condition.met(found)).await?;
            Value::Null
        }
        VersionCommand::ListSoftDeleted { definition } => {
            let path = format!(
                "{}/softDeletedArtifactTypes/Images/artifacts/{}/versions",
                gallery_path(s, &definition.gallery),
                definition.gallery_image_definition
            );
            s.list(&path, SOFT_DELETE).await?
        }
        VersionCommand::Undelete { version, no_wait } => {
            // As az: a PUT of the version's home location brings it back.
            let gallery = s.get(&gallery_path(s, &version.definition.gallery), COMPUTE).await?;
            let body = json!({ "location": location_of(&gallery)?, "tags": {} });
            s.change(Method::PUT, &version_path(s, &version), COMPUTE, Some(&body), no_wait).await?
        }
        VersionCommand::Delete { version, no_wait } => {
            s.change(Method::DELETE, &version_path(s, &version), COMPUTE, None, no_wait).await?
        }
    })
}

async fn create_version(s: &Session, c: VersionCreate) -> anyhow::Result<Value> {
    // Everything is checked before a request is sent.
    let regions = c
        .target_regions
        .iter()
        .map(|r| target_regions::parse(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let group = c.version.definition.gallery.resource_group.clone();
    let mut storage = Map::new();
    let sources = [&c.managed_image, &c.virtual_machine, &c.image_version, &c.os_snapshot, &c.os_vhd_uri];
    match sources.iter().filter(|s| s.is_some()).count() {
        1 => {}
        0 => anyhow::bail!(
            "usage error: one source is required: --managed-image, --virtual-machine, --image-version, --os-snapshot or --os-vhd-uri"
        ),
        _ => anyhow::bail!(
            "usage error: give only one of --managed-image, --virtual-machine, --image-version, --os-snapshot and --os-vhd-uri"
        ),
    }
    if let Some(image) = &c.managed_image {
        // As az: --managed-image also takes a VM's or another image version's id.
        let id = s.id_or_name(&group, "Microsoft.Compute/images", image);
        let source = if id.to_ascii_lowercase().contains("/providers/microsoft.compute/virtualmachines/") {
            json!({ "virtualMachineId": id })
        } else {
            json!({ "id": id })
        };
        storage.insert("source".into(), source);
    } else if let Some(vm) = &c.virtual_machine {
        storage.insert(
            "source".into(),
            json!({ "virtualMachineId": s.id_or_name(&group, "Microsoft.Compute/virtualMachines", vm) }),
        );
    } else if let Some(version) = &c.image_version {
        storage.insert("source".into(), json!({ "id": version }));
    } else if let Some(snapshot) = &c.os_snapshot {
        let id = s.id_or_name(&group, "Microsoft.Compute/snapshots", snapshot);
        storage.insert("osDiskImage".into(), json!({ "source": { "id": id } }));
    } else if let (Some(uri), Some(account)) = (&c.os_vhd_uri, &c.os_vhd_storage_account) {
        let account = s.id_or_name(&group, "Microsoft.Storage/storageAccounts", account);
        storage.insert("osDiskImage".into(), json!({ "source": { "uri": uri, "storageAccountId": account } }));
    }
    if c.data_snapshots.len() != c.data_snapshot_luns.len() {
        anyhow::bail!("usage error: --data-snapshots and --data-snapshot-luns must have the same number of values");
    }
    if c.data_vhds_uris.len() != c.data_vhds_luns.len() {
        anyhow::bail!("usage error: --data-vhds-uris and --data-vhds-luns must have the same number of values");
    }
    if !c.data_vhds_uris.is_empty() && c.data_vhds_sa.len() != 1 && c.data_vhds_sa.len() != c.data_vhds_uris.len() {
        anyhow::bail!("usage error: --data-vhds-sa takes one storage account, or one per --data-vhds-uris value");
    }
    let mut disks: Vec<Value> = c
        .data_snapshots
        .iter()
        .zip(&c.data_snapshot_luns)
        .map(|(snapshot, lun)| json!({ "lun": lun, "source": { "id": s.id_or_name(&group, "Microsoft.Compute/snapshots", snapshot) } }))
        .collect();
    for (i, (uri, lun)) in c.data_vhds_uris.iter().zip(&c.data_vhds_luns).enumerate() {
        let account =
            s.id_or_name(&group, "Microsoft.Storage/storageAccounts", &c.data_vhds_sa[i.min(c.data_vhds_sa.len() - 1)]);
        disks.push(json!({ "lun": lun, "source": { "uri": uri, "storageAccountId": account } }));
    }
    if !disks.is_empty() {
        storage.insert("dataDiskImages".into(), Value::Array(disks));
    }
    let mut publishing = Map::new();
    if !regions.is_empty() {
        publishing.insert("targetRegions".into(), Value::Array(regions));
    }
    let optional = [
        ("replicaCount", c.replica_count.map(Value::from)),
        ("storageAccountType", c.storage_account_type.map(Value::from)),
        ("excludeFromLatest", c.exclude_from_latest.map(Value::from)),
        ("endOfLifeDate", c.end_of_life_date.map(Value::from)),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            publishing.insert(key.into(), value);
        }
    }
    let location = match c.location {
        Some(l) => l,
        None => location_of(&s.get(&gallery_path(s, &c.version.definition.gallery), COMPUTE).await?)?,
    };
    let body =
        json!({ "location": location, "properties": { "publishingProfile": publishing, "storageProfile": storage } });
    replicate(s, &version_path(s, &c.version), &body, c.no_wait).await
}

type Version = Resource<VersionProperties>;

/// PUTs a version and, unless `no_wait`, waits for it with one progress line per target region.
async fn replicate(s: &Session, path: &str, body: &Value, no_wait: bool) -> anyhow::Result<Value> {
    let reply = s.client.call(Method::PUT, &format!("{path}?{COMPUTE}"), Some(body)).await?;
    if no_wait {
        return Ok(super::started(&reply));
    }
    let mut bars = super::progress::RegionBars::new();
    let expand = format!("{COMPUTE}&$expand=ReplicationStatus");
    let status = format!("{path}?{expand}");
    let drawing = async {
        loop {
            if let Ok(version) = s.client.get::<Version>(&status).await {
                bars.draw(&version);
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    };
    tokio::select! {
        done = s.client.wait(&reply) => { done?; }
        () = drawing => {}
    }
    // The final state, drawn once more.
    let version: Version = s.client.get(&status).await?;
    bars.draw(&version);
    Ok(s.get(path, COMPUTE).await?)
}

async fn update_version(s: &Session, u: VersionUpdate) -> anyhow::Result<Value> {
    let regions = u
        .target_regions
        .iter()
        .map(|r| target_regions::parse(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let given = [
        ("targetRegions", (!regions.is_empty()).then_some(Value::Array(regions))),
        ("replicaCount", u.replica_count.map(Value::from)),
        ("excludeFromLatest", u.exclude_from_latest.map(Value::from)),
        ("endOfLifeDate", u.end_of_life_date.map(Value::from)),
    ];
    if u.generic.is_empty() && given.iter().all(|(_, v)| v.is_none()) {
        anyhow::bail!(
            "usage error: nothing to update: give --target-regions, --replica-count, --exclude-from-latest, --end-of-life-date or --set/--add/--remove"
        );
    }
    let path = version_path(s, &u.version);
    let body = s
        .updated(&path, COMPUTE, |v| {
            for (key, value) in given {
                if let Some(value) = value {
                    v["properties"]["publishingProfile"][key] = value;
                }
            }
            u.generic.apply(v).map_err(anyhow::Error::msg)
        })
        .await?;
    replicate(s, &path, &body, u.no_wait).await
}
