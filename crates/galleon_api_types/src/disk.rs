//! `Microsoft.Compute/disks` and `Microsoft.Compute/snapshots`.

use std::collections::BTreeMap;

use galleon_model::disk::{Creation, Disk, DiskRequest};
use galleon_model::resource::Tracked;
use serde::{Deserialize, Serialize};

use crate::dates;

/// A disk or snapshot on the wire (it has a `sku`, unlike the gallery resources).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DiskResource {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// `sku`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    /// Properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<DiskProperties>,
}

/// `sku`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Sku {
    /// `Standard_LRS`, `Premium_LRS`…
    #[serde(default)]
    pub name: Option<String>,
    /// `Standard` / `Premium`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

/// `properties` of a disk or snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DiskProperties {
    /// OS type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    /// Hyper-V generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hyper_v_generation: Option<String>,
    /// How it is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_data: Option<CreationData>,
    /// Size in GiB.
    #[serde(rename = "diskSizeGB", default, skip_serializing_if = "Option::is_none")]
    pub disk_size_gb: Option<i64>,
    /// Size in bytes (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_size_bytes: Option<u64>,
    /// Unique id (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_id: Option<String>,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_created: Option<String>,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_state: Option<String>,
    /// galleon: the content's manifest digest (BLAKE3), once it has content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The Marketplace plan of the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_plan: Option<crate::image::PlanWire>,
}

/// `creationData`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreationData {
    /// Empty | Import | Upload | Copy | FromImage.
    #[serde(default)]
    pub create_option: Option<String>,
    /// Import URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_uri: Option<String>,
    /// Import storage account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_account_id: Option<String>,
    /// Copy source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_resource_id: Option<String>,
    /// Upload size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_size_bytes: Option<i64>,
    /// Gallery image version (or definition) to create from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gallery_image_reference: Option<ImageReference>,
    /// Older form of the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_reference: Option<ImageReference>,
}

/// `{"id": …}` image reference.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageReference {
    /// The id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A version (or definition) of a gallery shared with the disk's subscription or the
    /// caller's tenant: `/SharedGalleries/{u}/Images/{i}[/Versions/{v}]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_gallery_image_id: Option<String>,
    /// A version (or definition) of a published community gallery:
    /// `/CommunityGalleries/{publicName}/Images/{i}[/Versions/{v}]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_gallery_image_id: Option<String>,
    /// The data disk of the image to take (the OS disk when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lun: Option<i64>,
}

/// An image reference as ARM shows it: a shared gallery's image under `sharedGalleryImageId`, a
/// community gallery's under `communityGalleryImageId`, any other under `id`.
pub fn image_reference(image_id: String) -> ImageReference {
    let lower = image_id.trim_start_matches('/').to_ascii_lowercase();
    if lower.starts_with("sharedgalleries/") {
        ImageReference { shared_gallery_image_id: Some(image_id), ..Default::default() }
    } else if lower.starts_with("communitygalleries/") {
        ImageReference { community_gallery_image_id: Some(image_id), ..Default::default() }
    } else {
        ImageReference { id: Some(image_id), ..Default::default() }
    }
}

/// A request body as the model's request.
pub fn to_request(body: DiskResource) -> DiskRequest {
    let p = body.properties.unwrap_or_default();
    let c = p.creation_data.unwrap_or_default();
    DiskRequest {
        create_option: c.create_option,
        source_uri: c.source_uri,
        storage_account_id: c.storage_account_id,
        source_resource_id: c.source_resource_id,
        upload_size_bytes: c.upload_size_bytes,
        image_lun: c.gallery_image_reference.as_ref().or(c.image_reference.as_ref()).and_then(|r| r.lun),
        image_id: c
            .gallery_image_reference
            .or(c.image_reference)
            .and_then(|r| r.id.or(r.shared_gallery_image_id).or(r.community_gallery_image_id)),
        disk_size_gb: p.disk_size_gb,
        os_type: p.os_type,
        hyper_v_generation: p.hyper_v_generation,
        sku: body.sku.and_then(|s| s.name),
        purchase_plan: p.purchase_plan.map(|x| galleon_model::image_definition::PurchasePlan {
            name: x.name,
            publisher: x.publisher,
            product: x.product,
        }),
    }
}

/// The model as ARM shows it.
pub fn to_wire(r: &Tracked<Disk>, type_name: &str) -> DiskResource {
    let d = &r.properties;
    let mut creation = CreationData { create_option: Some(d.creation.option().as_str().into()), ..Default::default() };
    match &d.creation {
        Creation::Empty => {}
        Creation::Import { source_uri, storage_account_id } => {
            creation.source_uri = Some(source_uri.clone());
            creation.storage_account_id = storage_account_id.clone();
        }
        Creation::Upload { upload_size_bytes } => creation.upload_size_bytes = Some(*upload_size_bytes as i64),
        Creation::Copy { source_resource_id } => creation.source_resource_id = Some(source_resource_id.clone()),
        Creation::FromImage { image_id, lun } => {
            creation.gallery_image_reference =
                Some(ImageReference { lun: lun.map(i64::from), ..image_reference(image_id.clone()) })
        }
    }
    let tier = if d.sku.to_ascii_lowercase().starts_with("premium") { "Premium" } else { "Standard" };
    DiskResource {
        name: Some(r.name.clone()),
        id: Some(r.id.clone()),
        kind: Some(type_name.into()),
        location: Some(r.location.clone()),
        tags: Some(r.tags.clone()),
        sku: Some(Sku { name: Some(d.sku.clone()), tier: Some(tier.into()) }),
        properties: Some(DiskProperties {
            os_type: d.os_type.map(|o| o.as_str().into()),
            hyper_v_generation: d.hyper_v_generation.map(|h| h.as_str().into()),
            creation_data: Some(creation),
            disk_size_gb: d.disk_size_gb.map(|g| g as i64),
            disk_size_bytes: d.disk_size_bytes,
            unique_id: Some(d.unique_id.clone()),
            provisioning_state: Some(r.provisioning_state.as_str().into()),
            time_created: Some(dates::format(r.created_at)),
            disk_state: Some(d.state.as_str().into()),
            digest: d.digest.clone(),
            purchase_plan: d.purchase_plan.as_ref().map(|x| crate::image::PlanWire {
                name: x.name.clone(),
                publisher: x.publisher.clone(),
                product: x.product.clone(),
            }),
        }),
    }
}
