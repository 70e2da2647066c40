//! What an image version is built from, checked when its PUT arrives (Azure answers source
//! problems synchronously), and what a disk made from a version gets: the version named, or the
//! one `latest` resolves to in the disk's region.

use galleon_model::image_definition::{ImageDefinition, PurchasePlan};
use galleon_model::image_version::source_rules::{self, SourceFacts};
use galleon_model::image_version::{ImageVersion, SourceKind};
use galleon_model::latest::{self, Candidate};
use galleon_model::resource::Tracked;
use galleon_model::resource_id::ResourceId;
use galleon_model::states::ReplicationState;
use galleon_model::{GroupRef, ImageRef, Invalid, VersionNumber};
use galleon_store::Kind;

use crate::{Core, CoreResult, PageRequest};

const SP: &str = "galleryImageVersion.properties.storageProfile";

impl Core {
    /// Checks the sources of a new version: they exist in its region, hold content, and agree
    /// with the definition (the rules are `galleon_model::image_version::source_rules`).
    pub(crate) async fn check_version_sources(
        &self,
        v: &ImageVersion,
        def: &ImageDefinition,
        location: &str,
    ) -> CoreResult<()> {
        let plan: Option<PurchasePlan> = match v.source_kind {
            SourceKind::Disks => {
                let mut plan = None;
                let disks = v.storage.os_disk.iter().map(|d| (format!("{SP}.osDiskImage.source.id"), d, true)).chain(
                    v.storage
                        .data_disks
                        .iter()
                        .enumerate()
                        .map(|(i, d)| (format!("{SP}.dataDiskImages[{i}].source.id"), &d.disk, false)),
                );
                for (target, disk, is_os) in disks {
                    let Some(id) = disk.source.as_ref().and_then(|s| s.id.as_deref()) else { continue };
                    let found = self.content_of(id, location, &target).await?.1.properties;
                    if is_os {
                        let facts = SourceFacts {
                            id,
                            target: &target,
                            os_type: found.os_type,
                            os_state: None,
                            generation: found.hyper_v_generation,
                            architecture: None,
                        };
                        source_rules::check_source(def, &facts)?;
                        plan = found.purchase_plan;
                    } else {
                        source_rules::check_data_disk_size(id, &target, found.disk_size_gb)?;
                    }
                }
                plan
            }
            SourceKind::GalleryImageVersion => {
                let id = v.storage.source_id.as_deref().unwrap_or_default();
                let target = format!("{SP}.source.id");
                let source_def = self.version_by_id(id, location, &target).await?.1.properties;
                // Checked as every other source is: the version's definition says what it holds.
                let facts = SourceFacts {
                    id,
                    target: &target,
                    os_type: Some(source_def.os_type),
                    os_state: Some(source_def.os_state),
                    generation: Some(source_def.hyper_v_generation),
                    architecture: Some(source_def.architecture),
                };
                source_rules::check_source(def, &facts)?;
                source_def.purchase_plan
            }
            SourceKind::Vhds => {
                for (i, disk) in
                    v.storage.os_disk.iter().chain(v.storage.data_disks.iter().map(|d| &d.disk)).enumerate()
                {
                    if let Some(uri) = disk.source.as_ref().and_then(|s| s.uri.as_deref()) {
                        self.allowed_import(uri)
                            .map_err(|m| Invalid::param(format!("{SP}.disk[{i}].source.uri"), m))?;
                    }
                }
                None
            }
            SourceKind::ManagedImage => {
                let id = v.storage.source_id.as_deref().unwrap_or_default();
                let target = format!("{SP}.source.id");
                let img = self.managed_image_by_id(id, location, &target).await?.properties;
                let facts = SourceFacts {
                    id,
                    target: &target,
                    os_type: Some(img.os_type),
                    os_state: Some(img.os_state),
                    generation: Some(img.hyper_v_generation),
                    architecture: None,
                };
                source_rules::check_source(def, &facts)?;
                for (lun, disk) in &img.data_disks {
                    let target = format!("{target} (data disk lun {lun})");
                    source_rules::check_data_disk_size(id, &target, disk.disk_size_gb)?;
                }
                self.refuse_if_image_busy(id, location).await?;
                img.purchase_plan
            }
            SourceKind::VirtualMachine => {
                let id = v.storage.source_id.as_deref().or(v.storage.virtual_machine_id.as_deref()).unwrap_or_default();
                let target = format!("{SP}.source.id");
                let source = self.vm_source(id, location, &target).await?;
                let facts = SourceFacts {
                    id,
                    target: &target,
                    os_type: source.os_type,
                    os_state: Some(source.state),
                    generation: None,
                    architecture: None,
                };
                source_rules::check_source(def, &facts)?;
                for (lun, _, gb) in source.disks.iter().filter(|(lun, _, _)| *lun >= 0) {
                    let target = format!("{target} (data disk lun {lun})");
                    source_rules::check_data_disk_size(id, &target, Some(*gb))?;
                }
                source.plan
            }
        };
        source_rules::check_plan(def, plan.as_ref())?;
        Ok(())
    }

    /// While a version built from a managed image is still being built or replicated, another
    /// version from the same image is refused (design §3).
    async fn refuse_if_image_busy(&self, image_id: &str, _location: &str) -> CoreResult<()> {
        let sub = ResourceId::parse(image_id).map(|r| r.subscription.to_ascii_lowercase()).unwrap_or_default();
        let prefix = format!("/subscriptions/{sub}/");
        let mut after: Option<String> = None;
        loop {
            let page = galleon_store::typed::list::<Tracked<ImageVersion>>(
                self.store(),
                Kind::Version,
                &prefix,
                after.as_deref(),
                500,
            )
            .await?;
            for (_, v) in &page {
                let building = matches!(
                    v.value.provisioning_state,
                    galleon_model::ProvisioningState::Creating | galleon_model::ProvisioningState::Updating
                );
                if building
                    && v.value.properties.storage.source_id.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(image_id))
                {
                    return Err(crate::CoreError::Conflict {
                        code: "Conflict",
                        message: format!(
                            "The managed image {image_id} is in use by image version '{}', which is still being created or replicated. Retry when it has finished.",
                            v.value.id
                        ),
                    });
                }
            }
            match page.last() {
                Some((k, _)) if page.len() == 500 => after = Some(k.clone()),
                _ => return Ok(()),
            }
        }
    }

    /// A version named by id, with its definition; `…/versions/latest` and `…/images/{def}`
    /// resolve to `latest` in `location`. The version must hold content there.
    pub(crate) async fn version_by_id(
        &self,
        id: &str,
        location: &str,
        target: &str,
    ) -> CoreResult<(Tracked<ImageVersion>, Tracked<ImageDefinition>)> {
        let bad =
            || Invalid::param(target, format!("'{id}' is not the id of a gallery image version or image definition."));
        // A shared gallery's id (checked when the request was accepted) stands for its own.
        let private = self.private_id_of_shared(id).await?;
        let parsed = ResourceId::parse(private.as_deref().unwrap_or(id)).ok_or_else(bad)?;
        let names: Vec<&str> = parsed.segments.iter().map(|(_, n)| n.as_str()).collect();
        let types: Vec<String> = parsed.segments.iter().map(|(t, _)| t.to_ascii_lowercase()).collect();
        let image = match types.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["galleries", "images"] | ["galleries", "images", "versions"] => {
                GroupRef::new(&parsed.subscription, &parsed.resource_group).gallery(names[0]).image(names[1])
            }
            _ => return Err(bad().into()),
        };
        let not_found =
            || Invalid::param(target, format!("Source was not found: {id}. Please make sure the source exists."));
        let def = self.load::<ImageDefinition>(Kind::Image, &image.key()).await?.ok_or_else(not_found)?.value;
        let version_name = match names.get(2) {
            Some(v) if !v.eq_ignore_ascii_case("latest") => v.to_string(),
            _ => self.latest_in(&image, location).await?.ok_or_else(|| {
                Invalid::param(
                    target,
                    format!("The image '{}' has no version that can serve 'latest' in '{location}'.", image.id()),
                )
            })?,
        };
        let version = self
            .load::<ImageVersion>(Kind::Version, &image.version(&version_name).key())
            .await?
            .ok_or_else(not_found)?
            .value;
        let ready = version
            .properties
            .replication
            .iter()
            .any(|s| s.region == location && s.state == ReplicationState::Completed);
        if !ready || version.properties.storage.os_disk.as_ref().and_then(|d| d.digest.as_ref()).is_none() {
            return Err(Invalid::param(
                target,
                format!("The image version '{}' has no content replicated to '{location}' (it must be a completed replica there).", version.id),
            )
            .into());
        }
        Ok((version, def))
    }

    /// The digest of a version's OS disk, or of its data disk `lun`; a LUN the version does not
    /// have is refused as Azure refuses it.
    pub(crate) fn version_disk(version: &Tracked<ImageVersion>, lun: Option<i32>, target: &str) -> CoreResult<String> {
        let storage = &version.properties.storage;
        let disk = match lun {
            None => storage.os_disk.as_ref(),
            Some(lun) => storage.data_disks.iter().find(|d| d.lun == lun).map(|d| &d.disk),
        };
        disk.and_then(|d| d.digest.clone()).ok_or_else(|| {
            let luns: Vec<String> = storage.data_disks.iter().map(|d| d.lun.to_string()).collect();
            Invalid::param(
                target,
                format!(
                    "The image version '{}' has no data disk with LUN {}; its data disk LUNs are [{}].",
                    version.id,
                    lun.unwrap_or(-1),
                    luns.join(", ")
                ),
            )
            .into()
        })
    }

    /// Every version of `image` (all pages).
    pub(crate) async fn all_versions(&self, image: &ImageRef) -> CoreResult<Vec<Tracked<ImageVersion>>> {
        let mut page = PageRequest { after: None, top: Some(crate::MAX_PAGE) };
        let mut all = Vec::new();
        loop {
            let p = self.list_versions(image, &page).await?;
            all.extend(p.items);
            match p.next {
                Some(next) => page.after = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// The version `latest` resolves to in `region`.
    async fn latest_in(&self, image: &ImageRef, region: &str) -> CoreResult<Option<String>> {
        let all = self.all_versions(image).await?;
        Ok(latest::resolve(candidates(&all), region).map(|n| n.to_string()))
    }
}

/// Versions as `latest` sees them (names that are not version numbers are left out).
pub(crate) fn candidates(versions: &[Tracked<ImageVersion>]) -> impl Iterator<Item = Candidate<'_>> + Clone {
    versions.iter().filter_map(|v| {
        let number = v.name.parse::<VersionNumber>().ok()?;
        Some(Candidate { number, state: v.provisioning_state, version: &v.properties })
    })
}
