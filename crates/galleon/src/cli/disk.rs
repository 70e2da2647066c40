//! `galleon disk create|show|list|delete` and `galleon image create|show|list|delete`, with
//! az's arguments: the content a gallery version is made from.

use hyper::Method;
use serde_json::{Value, json};

use super::args::{DiskCommand, ImageCommand, Named, SnapshotCommand};
use super::{DISKS, IMAGES_AND_VMS as IMAGES, RESOURCES, Session};

impl Session {
    pub(super) fn compute_path(&self, group: &str, kind: &str, name: &str) -> String {
        format!("{}/providers/Microsoft.Compute/{kind}/{name}", self.group_path(group))
    }

    pub(super) async fn location_or_group(&self, location: Option<String>, group: &str) -> anyhow::Result<String> {
        match location {
            Some(l) => Ok(l),
            None => super::location_of(&self.get(&self.group_path(group), RESOURCES).await?),
        }
    }

    /// An id as given, or the first of `kinds` with that name in the resource group.
    pub(super) async fn resolve(&self, group: &str, value: &str, kinds: &[(&str, &str)]) -> anyhow::Result<String> {
        if value.starts_with("/subscriptions/") {
            return Ok(value.to_string());
        }
        for (kind, api) in kinds {
            let path = self.compute_path(group, kind, value);
            if self.get(&path, api).await.is_ok() {
                return Ok(path);
            }
        }
        let kinds: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
        anyhow::bail!(
            "usage error: '{value}' is not a URL, an id, or the name of any of {} in '{group}'",
            kinds.join(", ")
        )
    }
}

pub(super) async fn disk(s: &Session, command: DiskCommand) -> anyhow::Result<()> {
    let value = match command {
        DiskCommand::Create {
            target: Named { resource_group, name },
            source,
            gallery_image_reference,
            gallery_image_reference_lun,
            size_gb,
            upload_type,
            upload_size_bytes,
            os_type,
            hyper_v_generation,
            sku,
            location,
            no_wait,
        } => {
            let creation = match source.as_deref() {
                None if gallery_image_reference.is_some() => {
                    // As az: the key follows the id's shape.
                    let id = gallery_image_reference.unwrap_or_default();
                    let lower = id.trim_start_matches('/').to_ascii_lowercase();
                    let key = if lower.starts_with("sharedgalleries/") {
                        "sharedGalleryImageId"
                    } else if lower.starts_with("communitygalleries/") {
                        "communityGalleryImageId"
                    } else {
                        "id"
                    };
                    let mut reference = json!({ key: id });
                    if let Some(lun) = gallery_image_reference_lun {
                        reference["lun"] = json!(lun);
                    }
                    json!({ "createOption": "FromImage", "galleryImageReference": reference })
                }
                None if upload_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("Upload")) => {
                    json!({ "createOption": "Upload", "uploadSizeBytes": upload_size_bytes })
                }
                None if upload_type.is_some() => anyhow::bail!("usage error: --upload-type must be Upload"),
                None if size_gb.is_none() => anyhow::bail!("usage error: give --source or --size-gb"),
                None => json!({ "createOption": "Empty" }),
                Some(url) if url.contains("://") => json!({ "createOption": "Import", "sourceUri": url }),
                Some(source) => {
                    let id = s.resolve(&resource_group, source, &[("snapshots", DISKS), ("disks", DISKS)]).await?;
                    json!({ "createOption": "Copy", "sourceResourceId": id })
                }
            };
            let mut properties = json!({ "creationData": creation });
            for (key, value) in [
                ("diskSizeGB", size_gb.map(Value::from)),
                ("osType", os_type.map(Value::from)),
                ("hyperVGeneration", hyper_v_generation.map(Value::from)),
            ] {
                if let Some(value) = value {
                    properties[key] = value;
                }
            }
            let location = s.location_or_group(location, &resource_group).await?;
            let body = json!({ "location": location, "sku": { "name": sku }, "properties": properties });
            s.change(Method::PUT, &s.compute_path(&resource_group, "disks", &name), DISKS, Some(&body), no_wait).await?
        }
        DiskCommand::Show { target: Named { resource_group, name } } => {
            s.get(&s.compute_path(&resource_group, "disks", &name), DISKS).await?
        }
        DiskCommand::Upload { target, file, os_type, hyper_v_generation, location } => {
            let upload = super::transfer::Upload {
                group: target.resource_group,
                name: target.name,
                file,
                os_type,
                hyper_v_generation,
                location,
            };
            super::transfer::upload(s, upload).await?
        }
        DiskCommand::Download { target, file, verify } => {
            super::transfer::download(s, &target.resource_group, &target.name, &file, verify).await?
        }
        DiskCommand::List { resource_group } => {
            s.list(&format!("{}/providers/Microsoft.Compute/disks", s.group_path(&resource_group)), DISKS).await?
        }
        DiskCommand::Delete { target: Named { resource_group, name }, yes: _, no_wait } => {
            s.change(Method::DELETE, &s.compute_path(&resource_group, "disks", &name), DISKS, None, no_wait).await?
        }
    };
    s.print(&value)
}

pub(super) async fn image(s: &Session, command: ImageCommand) -> anyhow::Result<()> {
    let value = match command {
        ImageCommand::Create {
            target: Named { resource_group, name },
            source,
            os_type,
            hyper_v_generation,
            location,
            no_wait,
        } => {
            let mut properties = json!({});
            if source.contains("://") {
                properties["storageProfile"] = json!({ "osDisk": { "blobUri": source } });
            } else {
                let kinds = [("virtualMachines", IMAGES), ("disks", DISKS), ("snapshots", DISKS)];
                let id = s.resolve(&resource_group, &source, &kinds).await?;
                let lower = id.to_ascii_lowercase();
                if lower.contains("/virtualmachines/") {
                    properties["sourceVirtualMachine"] = json!({ "id": id });
                } else if lower.contains("/snapshots/") {
                    properties["storageProfile"] = json!({ "osDisk": { "snapshot": { "id": id } } });
                } else {
                    properties["storageProfile"] = json!({ "osDisk": { "managedDisk": { "id": id } } });
                }
            }
            if properties["storageProfile"].is_object() {
                let Some(os_type) = os_type else {
                    anyhow::bail!("usage error: --os-type is required when the source is not a VM")
                };
                properties["storageProfile"]["osDisk"]["osType"] = json!(os_type);
                properties["storageProfile"]["osDisk"]["osState"] = json!("Generalized");
            }
            if let Some(generation) = hyper_v_generation {
                properties["hyperVGeneration"] = json!(generation);
            }
            let location = s.location_or_group(location, &resource_group).await?;
            let body = json!({ "location": location, "properties": properties });
            s.change(Method::PUT, &s.compute_path(&resource_group, "images", &name), IMAGES, Some(&body), no_wait)
                .await?
        }
        ImageCommand::Show { target: Named { resource_group, name } } => {
            s.get(&s.compute_path(&resource_group, "images", &name), IMAGES).await?
        }
        ImageCommand::List { resource_group } => {
            s.list(&format!("{}/providers/Microsoft.Compute/images", s.group_path(&resource_group)), IMAGES).await?
        }
        ImageCommand::Delete { target: Named { resource_group, name }, no_wait } => {
            s.change(Method::DELETE, &s.compute_path(&resource_group, "images", &name), IMAGES, None, no_wait).await?
        }
    };
    s.print(&value)
}

pub(super) async fn snapshot(s: &Session, command: SnapshotCommand) -> anyhow::Result<()> {
    let path = |t: &Named| s.compute_path(&t.resource_group, "snapshots", &t.name);
    let value = match command {
        SnapshotCommand::Create { target, source, location, no_wait } => {
            let creation = if source.contains("://") {
                json!({ "createOption": "Import", "sourceUri": source })
            } else {
                let id = s.resolve(&target.resource_group, &source, &[("disks", DISKS), ("snapshots", DISKS)]).await?;
                json!({ "createOption": "Copy", "sourceResourceId": id })
            };
            let location = s.location_or_group(location, &target.resource_group).await?;
            let body = json!({ "location": location, "properties": { "creationData": creation } });
            s.change(Method::PUT, &path(&target), DISKS, Some(&body), no_wait).await?
        }
        SnapshotCommand::Show { target } => s.get(&path(&target), DISKS).await?,
        SnapshotCommand::Delete { target, no_wait } => {
            s.change(Method::DELETE, &path(&target), DISKS, None, no_wait).await?
        }
    };
    s.print(&value)
}
