//! `Microsoft.Compute/galleries/images` (image definitions).

use galleon_model::Invalid;
use galleon_model::image_definition::{
    DefinitionRequest, Feature, ImageDefinition, PurchasePlan, Recommended, ResourceRange,
};
use galleon_model::resource::Tracked;
use serde::{Deserialize, Serialize};

use crate::{Resource, dates};

/// ARM type name.
pub const TYPE: &str = "Microsoft.Compute/galleries/images";

/// `properties` of an image definition.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageProperties {
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// EULA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eula: Option<String>,
    /// Privacy statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_statement_uri: Option<String>,
    /// Release notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_note_uri: Option<String>,
    /// V1 | V2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hyper_v_generation: Option<String>,
    /// x64 | Arm64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Windows | Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    /// Generalized | Specialized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_state: Option<String>,
    /// End of life.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_life_date: Option<String>,
    /// Publisher, offer, SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<ImageIdentifier>,
    /// Recommended sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended: Option<RecommendedWire>,
    /// Disallowed disk types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disallowed: Option<Disallowed>,
    /// Purchase plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_plan: Option<PlanWire>,
    /// Features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<FeatureWire>>,
    /// Allow feature updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_update_image: Option<bool>,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
}

/// `identifier`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ImageIdentifier {
    /// Publisher.
    #[serde(default)]
    pub publisher: Option<String>,
    /// Offer.
    #[serde(default)]
    pub offer: Option<String>,
    /// SKU.
    #[serde(default)]
    pub sku: Option<String>,
}

/// `recommended`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RecommendedWire {
    /// vCPUs.
    #[serde(rename = "vCPUs", default, skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<RangeWire>,
    /// Memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<RangeWire>,
}

/// A min/max range.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct RangeWire {
    /// Minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i32>,
    /// Maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i32>,
}

/// `disallowed`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Disallowed {
    /// Disk types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_types: Option<Vec<String>>,
}

/// `purchasePlan`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PlanWire {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Publisher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// Product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
}

/// One feature.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FeatureWire {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Value.
    #[serde(default)]
    pub value: String,
    /// First version the feature applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at_version: Option<String>,
}

/// An image definition on the wire.
pub type ImageResource = Resource<ImageProperties>;

const P: &str = "galleryImage.properties";

/// A request body as the model's request.
pub fn to_request(p: ImageProperties) -> Result<DefinitionRequest, Invalid> {
    let range = |r: Option<RangeWire>| r.map(|r| ResourceRange { min: r.min, max: r.max });
    Ok(DefinitionRequest {
        description: p.description,
        eula: p.eula,
        privacy_statement_uri: p.privacy_statement_uri,
        release_note_uri: p.release_note_uri,
        os_type: p.os_type,
        os_state: p.os_state,
        hyper_v_generation: p.hyper_v_generation,
        architecture: p.architecture,
        end_of_life_date: dates::parse_opt(&format!("{P}.endOfLifeDate"), p.end_of_life_date.as_deref())?,
        identifier: p.identifier.map(|i| (i.publisher, i.offer, i.sku)),
        recommended: p.recommended.map(|r| Recommended { vcpus: range(r.vcpus), memory: range(r.memory) }),
        disallowed_disk_types: p.disallowed.and_then(|d| d.disk_types),
        purchase_plan: p.purchase_plan.map(|x| PurchasePlan {
            name: x.name,
            publisher: x.publisher,
            product: x.product,
        }),
        features: p.features.map(|fs| {
            fs.into_iter()
                .map(|f| Feature { name: f.name, value: f.value, starts_at_version: f.starts_at_version })
                .collect()
        }),
        allow_update_image: p.allow_update_image,
    })
}

/// The model as ARM shows it.
pub fn to_wire(r: &Tracked<ImageDefinition>) -> ImageResource {
    let d = &r.properties;
    let range = |x: Option<ResourceRange>| x.map(|x| RangeWire { min: x.min, max: x.max });
    Resource {
        identity: None,
        name: Some(r.name.clone()),
        id: Some(r.id.clone()),
        kind: Some(TYPE.into()),
        location: Some(r.location.clone()),
        tags: Some(r.tags.clone()),
        properties: Some(ImageProperties {
            description: d.description.clone(),
            eula: d.eula.clone(),
            privacy_statement_uri: d.privacy_statement_uri.clone(),
            release_note_uri: d.release_note_uri.clone(),
            hyper_v_generation: Some(d.hyper_v_generation.as_str().into()),
            architecture: Some(d.architecture.as_str().into()),
            os_type: Some(d.os_type.as_str().into()),
            os_state: Some(d.os_state.as_str().into()),
            end_of_life_date: d.end_of_life_date.map(dates::format),
            identifier: Some(ImageIdentifier {
                publisher: Some(d.identifier.publisher.clone()),
                offer: Some(d.identifier.offer.clone()),
                sku: Some(d.identifier.sku.clone()),
            }),
            recommended: d.recommended.map(|x| RecommendedWire { vcpus: range(x.vcpus), memory: range(x.memory) }),
            disallowed: (!d.disallowed_disk_types.is_empty())
                .then(|| Disallowed { disk_types: Some(d.disallowed_disk_types.clone()) }),
            purchase_plan: d.purchase_plan.as_ref().map(|x| PlanWire {
                name: x.name.clone(),
                publisher: x.publisher.clone(),
                product: x.product.clone(),
            }),
            features: (!d.features.is_empty()).then(|| {
                d.features
                    .iter()
                    .map(|f| FeatureWire {
                        name: f.name.clone(),
                        value: f.value.clone(),
                        starts_at_version: f.starts_at_version.clone(),
                    })
                    .collect()
            }),
            allow_update_image: d.allow_update_image,
            provisioning_state: Some(r.provisioning_state.as_str().into()),
        }),
    }
}
