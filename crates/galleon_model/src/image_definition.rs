//! Image definitions (`Microsoft.Compute/galleries/images`): what a request may say, the
//! defaults Azure fills in, and the rules on create and update.

use time::OffsetDateTime;

use crate::Invalid;
use crate::enums::arm_enum;
use crate::names::validate_identifier_part;

arm_enum!(
    /// `osType`.
    OsType { Windows => "Windows", Linux => "Linux" }
);
arm_enum!(
    /// `osState`.
    OsState { Generalized => "Generalized", Specialized => "Specialized" }
);
arm_enum!(
    /// `hyperVGeneration`.
    HyperVGeneration { V1 => "V1", V2 => "V2" }
);
arm_enum!(
    /// `architecture`.
    Architecture { X64 => "x64", Arm64 => "Arm64" }
);

/// `identifier`: publisher, offer and SKU; unique within a gallery.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Identifier {
    /// Publisher, ≤128 chars.
    pub publisher: String,
    /// Offer, ≤64 chars.
    pub offer: String,
    /// SKU, ≤64 chars.
    pub sku: String,
}

impl Identifier {
    /// The case-insensitive key used for the uniqueness rule.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.publisher, self.offer, self.sku).to_ascii_lowercase()
    }
}

/// `recommended.vCPUs` / `recommended.memory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ResourceRange {
    /// Minimum.
    pub min: Option<i32>,
    /// Maximum.
    pub max: Option<i32>,
}

/// `recommended`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Recommended {
    /// vCPU range.
    pub vcpus: Option<ResourceRange>,
    /// Memory range (GB).
    pub memory: Option<ResourceRange>,
}

/// `purchasePlan`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PurchasePlan {
    /// Plan name.
    pub name: Option<String>,
    /// Plan publisher.
    pub publisher: Option<String>,
    /// Plan product.
    pub product: Option<String>,
}

/// One entry of `features`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Feature {
    /// Feature name, e.g. `SecurityType`.
    pub name: String,
    /// Feature value.
    pub value: String,
    /// `startsAtVersion`, if given.
    pub starts_at_version: Option<String>,
}

/// What a create or update request says about a definition, before defaults and rules.
#[derive(Debug, Clone, Default)]
pub struct DefinitionRequest {
    /// `description`
    pub description: Option<String>,
    /// `eula`
    pub eula: Option<String>,
    /// `privacyStatementUri`
    pub privacy_statement_uri: Option<String>,
    /// `releaseNoteUri`
    pub release_note_uri: Option<String>,
    /// `osType` as sent.
    pub os_type: Option<String>,
    /// `osState` as sent.
    pub os_state: Option<String>,
    /// `hyperVGeneration` as sent.
    pub hyper_v_generation: Option<String>,
    /// `architecture` as sent.
    pub architecture: Option<String>,
    /// `endOfLifeDate`
    pub end_of_life_date: Option<OffsetDateTime>,
    /// `identifier`, each part as sent.
    pub identifier: Option<(Option<String>, Option<String>, Option<String>)>,
    /// `recommended`
    pub recommended: Option<Recommended>,
    /// `disallowed.diskTypes`
    pub disallowed_disk_types: Option<Vec<String>>,
    /// `purchasePlan`
    pub purchase_plan: Option<PurchasePlan>,
    /// `features`
    pub features: Option<Vec<Feature>>,
    /// `allowUpdateImage`
    pub allow_update_image: Option<bool>,
}

/// A validated image definition.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ImageDefinition {
    /// `description`
    pub description: Option<String>,
    /// `eula`
    pub eula: Option<String>,
    /// `privacyStatementUri`
    pub privacy_statement_uri: Option<String>,
    /// `releaseNoteUri`
    pub release_note_uri: Option<String>,
    /// Immutable.
    pub os_type: OsType,
    /// Immutable.
    pub os_state: OsState,
    /// Immutable; Azure defaults it to V1.
    pub hyper_v_generation: HyperVGeneration,
    /// Immutable; defaults to x64.
    pub architecture: Architecture,
    /// Informational; must be in the future when set or changed.
    pub end_of_life_date: Option<OffsetDateTime>,
    /// Immutable; unique within the gallery.
    pub identifier: Identifier,
    /// Recommended sizes.
    pub recommended: Option<Recommended>,
    /// Disallowed disk types.
    pub disallowed_disk_types: Vec<String>,
    /// Purchase plan.
    pub purchase_plan: Option<PurchasePlan>,
    /// Features.
    pub features: Vec<Feature>,
    /// `allowUpdateImage`
    pub allow_update_image: Option<bool>,
}

const PROPS: &str = "galleryImage.properties";

fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, Invalid> {
    value.as_deref().ok_or_else(|| {
        Invalid::param(format!("{PROPS}.{field}"), format!("Required parameter '{PROPS}.{field}' is missing (null)."))
    })
}

impl ImageDefinition {
    /// Builds a definition from a create request, applying Azure's defaults and every rule.
    pub fn create(req: DefinitionRequest, now: OffsetDateTime) -> Result<Self, Invalid> {
        let os_type = OsType::parse(&format!("{PROPS}.osType"), required(&req.os_type, "osType")?)?;
        let os_state = OsState::parse(&format!("{PROPS}.osState"), required(&req.os_state, "osState")?)?;
        let hyper_v_generation = match &req.hyper_v_generation {
            Some(v) => HyperVGeneration::parse(&format!("{PROPS}.hyperVGeneration"), v)?,
            None => HyperVGeneration::V1,
        };
        let architecture = match &req.architecture {
            Some(v) => Architecture::parse(&format!("{PROPS}.architecture"), v)?,
            None => Architecture::X64,
        };
        let Some((publisher, offer, sku)) = req.identifier else {
            return Err(Invalid::param(
                format!("{PROPS}.identifier"),
                format!("Required parameter '{PROPS}.identifier' is missing (null)."),
            ));
        };
        let identifier = Identifier {
            publisher: required(&publisher, "identifier.publisher")?.to_string(),
            offer: required(&offer, "identifier.offer")?.to_string(),
            sku: required(&sku, "identifier.sku")?.to_string(),
        };
        validate_identifier_part("publisher", &identifier.publisher, 128)?;
        validate_identifier_part("offer", &identifier.offer, 64)?;
        validate_identifier_part("sku", &identifier.sku, 64)?;
        if let Some(eol) = req.end_of_life_date {
            check_future_eol(eol, now, &format!("{PROPS}.endOfLifeDate"))?;
        }
        if let Some(rec) = &req.recommended {
            check_ranges(rec)?;
        }
        check_plan(req.purchase_plan.as_ref())?;
        let features = req.features.unwrap_or_default();
        check_features(&features, hyper_v_generation, architecture)?;
        Ok(Self {
            description: req.description,
            eula: req.eula,
            privacy_statement_uri: req.privacy_statement_uri,
            release_note_uri: req.release_note_uri,
            os_type,
            os_state,
            hyper_v_generation,
            architecture,
            end_of_life_date: req.end_of_life_date,
            identifier,
            recommended: req.recommended,
            disallowed_disk_types: req.disallowed_disk_types.unwrap_or_default(),
            purchase_plan: req.purchase_plan,
            features,
            allow_update_image: req.allow_update_image,
        })
    }

    /// Applies an update (a full PUT when `patch` is false, a PATCH when true) to `self`.
    /// Immutable properties may be repeated unchanged, never changed.
    pub fn update(&self, req: DefinitionRequest, patch: bool, now: OffsetDateTime) -> Result<Self, Invalid> {
        let mut next = self.clone();
        if let Some(v) = &req.os_type {
            same(self.os_type, OsType::parse(&format!("{PROPS}.osType"), v)?, "osType")?;
        } else if !patch {
            required(&req.os_type, "osType")?;
        }
        if let Some(v) = &req.os_state {
            same(self.os_state, OsState::parse(&format!("{PROPS}.osState"), v)?, "osState")?;
        } else if !patch {
            required(&req.os_state, "osState")?;
        }
        if let Some(v) = &req.hyper_v_generation {
            same(
                self.hyper_v_generation,
                HyperVGeneration::parse(&format!("{PROPS}.hyperVGeneration"), v)?,
                "hyperVGeneration",
            )?;
        }
        if let Some(v) = &req.architecture {
            same(self.architecture, Architecture::parse(&format!("{PROPS}.architecture"), v)?, "architecture")?;
        }
        match &req.identifier {
            Some((p, o, s)) => {
                let given = Identifier {
                    publisher: p.clone().unwrap_or_default(),
                    offer: o.clone().unwrap_or_default(),
                    sku: s.clone().unwrap_or_default(),
                };
                if given.key() != self.identifier.key() {
                    return Err(Invalid::immutable(format!("{PROPS}.identifier")));
                }
            }
            None if !patch => {
                return Err(Invalid::param(
                    format!("{PROPS}.identifier"),
                    format!("Required parameter '{PROPS}.identifier' is missing (null)."),
                ));
            }
            None => {}
        }
        if req.end_of_life_date != self.end_of_life_date
            && let Some(eol) = req.end_of_life_date
        {
            check_future_eol(eol, now, &format!("{PROPS}.endOfLifeDate"))?;
        }
        if let Some(rec) = &req.recommended {
            check_ranges(rec)?;
        }
        check_plan(req.purchase_plan.as_ref())?;
        // A PUT replaces every mutable property; a PATCH only those it names.
        macro_rules! take {
            ($field:ident) => {
                if req.$field.is_some() || !patch {
                    next.$field = req.$field;
                }
            };
        }
        take!(description);
        take!(eula);
        take!(privacy_statement_uri);
        take!(release_note_uri);
        take!(end_of_life_date);
        take!(recommended);
        take!(purchase_plan);
        take!(allow_update_image);
        if req.disallowed_disk_types.is_some() || !patch {
            next.disallowed_disk_types = req.disallowed_disk_types.unwrap_or_default();
        }
        if req.features.is_some() || !patch {
            next.features = req.features.unwrap_or_default();
            check_features(&next.features, next.hyper_v_generation, next.architecture)?;
        }
        Ok(next)
    }
}

/// The `SecurityType` values Azure knows (`Standard` is what no feature means).
pub const SECURITY_TYPES: &[&str] = &[
    "Standard",
    "TrustedLaunch",
    "TrustedLaunchSupported",
    "ConfidentialVM",
    "ConfidentialVmSupported",
    "TrustedLaunchAndConfidentialVmSupported",
];

/// The definition's `SecurityType`, if a feature sets one other than `Standard`.
pub fn security_type(features: &[Feature]) -> Option<&str> {
    features
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case("SecurityType"))
        .map(|f| f.value.as_str())
        .filter(|v| !v.eq_ignore_ascii_case("Standard"))
}

/// Feature names are unique; a `SecurityType` is one Azure knows, and trusted launch and
/// confidential VMs (like Arm64) are Hyper-V generation 2 only.
fn check_features(
    features: &[Feature],
    generation: HyperVGeneration,
    architecture: Architecture,
) -> Result<(), Invalid> {
    let target = format!("{PROPS}.features");
    for (i, f) in features.iter().enumerate() {
        if features[..i].iter().any(|g| g.name.eq_ignore_ascii_case(&f.name)) {
            return Err(Invalid::param(&target, format!("The feature '{}' is given more than once.", f.name)));
        }
    }
    if let Some(f) = features.iter().find(|f| f.name.eq_ignore_ascii_case("SecurityType"))
        && !SECURITY_TYPES.iter().any(|t| t.eq_ignore_ascii_case(&f.value))
    {
        return Err(Invalid::param(
            &target,
            format!("The SecurityType '{}' is not valid. Allowed values are: {}.", f.value, SECURITY_TYPES.join(", ")),
        ));
    }
    if let Some(t) = security_type(features)
        && generation == HyperVGeneration::V1
    {
        return Err(Invalid::param(
            &target,
            format!("The security type '{t}' needs a Hyper-V generation 2 image: set hyperVGeneration to V2."),
        ));
    }
    if architecture == Architecture::Arm64 && generation == HyperVGeneration::V1 {
        return Err(Invalid::param(
            format!("{PROPS}.hyperVGeneration"),
            "Arm64 images are Hyper-V generation 2: set hyperVGeneration to V2.",
        ));
    }
    Ok(())
}

/// A purchase plan names its plan, publisher and product (an empty one would match no source).
fn check_plan(plan: Option<&PurchasePlan>) -> Result<(), Invalid> {
    let Some(plan) = plan else { return Ok(()) };
    for (field, value) in [("name", &plan.name), ("publisher", &plan.publisher), ("product", &plan.product)] {
        if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
            let target = format!("{PROPS}.purchasePlan.{field}");
            return Err(Invalid::param(target.clone(), format!("Required parameter '{target}' is missing (null).")));
        }
    }
    Ok(())
}

fn same<T: PartialEq>(old: T, new: T, field: &str) -> Result<(), Invalid> {
    if old == new { Ok(()) } else { Err(Invalid::immutable(format!("{PROPS}.{field}"))) }
}

/// End-of-life dates must lie in the future when they are set or changed.
pub fn check_future_eol(eol: OffsetDateTime, now: OffsetDateTime, target: &str) -> Result<(), Invalid> {
    if eol > now { Ok(()) } else { Err(Invalid::param(target, "EndOfLifeDate must be set to a future date.")) }
}

fn check_ranges(rec: &Recommended) -> Result<(), Invalid> {
    for (field, range) in [("vCPUs", rec.vcpus), ("memory", rec.memory)] {
        let Some(range) = range else { continue };
        for (end, value) in [("min", range.min), ("max", range.max)] {
            if value.is_some_and(|v| v < 0) {
                return Err(Invalid::param(
                    format!("{PROPS}.recommended.{field}.{end}"),
                    format!("The value of parameter '{PROPS}.recommended.{field}.{end}' cannot be negative."),
                ));
            }
        }
        if let (Some(min), Some(max)) = (range.min, range.max)
            && min > max
        {
            return Err(Invalid::param(
                format!("{PROPS}.recommended.{field}"),
                format!(
                    "The minimum value {min} of '{PROPS}.recommended.{field}' must not be greater than the maximum value {max}."
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

    fn req() -> DefinitionRequest {
        DefinitionRequest {
            os_type: Some("linux".into()),
            os_state: Some("generalized".into()),
            identifier: Some((Some("pub".into()), Some("off".into()), Some("sku".into()))),
            ..Default::default()
        }
    }

    #[test]
    fn create_applies_defaults_and_parses_enums_case_insensitively() {
        let d = ImageDefinition::create(req(), NOW).unwrap();
        assert_eq!(d.os_type, OsType::Linux);
        assert_eq!(d.os_state, OsState::Generalized);
        assert_eq!(d.hyper_v_generation, HyperVGeneration::V1);
        assert_eq!(d.architecture, Architecture::X64);
        assert_eq!(d.architecture.as_str(), "x64");
    }

    #[test]
    fn security_types_and_arm64_follow_azure_rules() {
        let feature = |v: &str| Feature { name: "SecurityType".into(), value: v.into(), starts_at_version: None };
        let with = |generation: &str, features: Vec<Feature>, arch: Option<&str>| DefinitionRequest {
            hyper_v_generation: Some(generation.into()),
            features: Some(features),
            architecture: arch.map(Into::into),
            ..req()
        };
        for t in SECURITY_TYPES {
            assert!(ImageDefinition::create(with("V2", vec![feature(t)], None), NOW).is_ok(), "{t} on V2");
        }
        let e = ImageDefinition::create(with("V1", vec![feature("TrustedLaunch")], None), NOW).unwrap_err();
        assert!(e.message.contains("generation 2") && e.target.ends_with("features"), "{e:?}");
        assert!(ImageDefinition::create(with("V1", vec![feature("standard")], None), NOW).is_ok(), "Standard on V1");
        assert!(ImageDefinition::create(with("V2", vec![feature("Trusted")], None), NOW).is_err(), "unknown value");
        assert!(
            ImageDefinition::create(with("V2", vec![feature("TrustedLaunch"), feature("Standard")], None), NOW)
                .is_err()
        );
        assert!(ImageDefinition::create(with("V1", vec![], Some("Arm64")), NOW).is_err());
        assert!(ImageDefinition::create(with("V2", vec![], Some("arm64")), NOW).is_ok());
        // Other features are kept as given.
        let other = Feature { name: "IsHibernateSupported".into(), value: "True".into(), starts_at_version: None };
        assert!(ImageDefinition::create(with("V1", vec![other], None), NOW).is_ok());
        // An update cannot bring a V1 definition a trusted-launch type.
        let v1 = ImageDefinition::create(req(), NOW).unwrap();
        assert!(
            v1.update(
                DefinitionRequest { features: Some(vec![feature("TrustedLaunch")]), ..Default::default() },
                true,
                NOW
            )
            .is_err()
        );
    }

    #[test]
    fn required_fields_are_named() {
        let mut r = req();
        r.os_type = None;
        assert_eq!(ImageDefinition::create(r, NOW).unwrap_err().target, "galleryImage.properties.osType");
        let mut r = req();
        r.identifier = None;
        assert_eq!(ImageDefinition::create(r, NOW).unwrap_err().target, "galleryImage.properties.identifier");
        let mut r = req();
        r.identifier = Some((Some("p".into()), None, Some("s".into())));
        assert_eq!(ImageDefinition::create(r, NOW).unwrap_err().target, "galleryImage.properties.identifier.offer");
    }

    #[test]
    fn bad_enums_and_identifiers_are_refused() {
        let mut r = req();
        r.os_type = Some("BeOS".into());
        let e = ImageDefinition::create(r, NOW).unwrap_err();
        assert!(e.message.contains("Windows, Linux"), "{}", e.message);
        let mut r = req();
        r.hyper_v_generation = Some("V3".into());
        assert_eq!(ImageDefinition::create(r, NOW).unwrap_err().target, "galleryImage.properties.hyperVGeneration");
        let mut r = req();
        r.identifier = Some((Some("p.".into()), Some("o".into()), Some("s".into())));
        assert_eq!(ImageDefinition::create(r, NOW).unwrap_err().target, "galleryImage.properties.identifier.publisher");
    }

    #[test]
    fn eol_must_be_future_and_ranges_ordered() {
        let mut r = req();
        r.end_of_life_date = Some(datetime!(2020-01-01 0:00 UTC));
        assert_eq!(ImageDefinition::create(r, NOW).unwrap_err().message, "EndOfLifeDate must be set to a future date.");
        let mut r = req();
        r.recommended = Some(Recommended { vcpus: Some(ResourceRange { min: Some(4), max: Some(2) }), memory: None });
        assert_eq!(ImageDefinition::create(r, NOW).unwrap_err().target, "galleryImage.properties.recommended.vCPUs");
        let mut r = req();
        r.recommended = Some(Recommended { vcpus: None, memory: Some(ResourceRange { min: Some(1), max: Some(1) }) });
        assert!(ImageDefinition::create(r, NOW).is_ok());
    }

    #[test]
    fn immutable_properties_cannot_change() {
        let d = ImageDefinition::create(req(), NOW).unwrap();
        let mut r = req();
        r.os_type = Some("Windows".into());
        let e = d.update(r, false, NOW).unwrap_err();
        assert_eq!(e.target, "galleryImage.properties.osType");
        assert_eq!(e.code, crate::InvalidCode::PropertyChangeNotAllowed);
        let mut r = req();
        r.identifier = Some((Some("pub".into()), Some("other".into()), Some("sku".into())));
        assert_eq!(d.update(r, false, NOW).unwrap_err().target, "galleryImage.properties.identifier");
        let mut r = req();
        r.hyper_v_generation = Some("V2".into());
        assert!(d.update(r, false, NOW).is_err());
    }

    #[test]
    fn put_replaces_and_patch_merges() {
        let mut r = req();
        r.description = Some("first".into());
        r.eula = Some("eula".into());
        let d = ImageDefinition::create(r, NOW).unwrap();
        let patched = d
            .update(DefinitionRequest { description: Some("second".into()), ..Default::default() }, true, NOW)
            .unwrap();
        assert_eq!(patched.description.as_deref(), Some("second"));
        assert_eq!(patched.eula.as_deref(), Some("eula"));
        let mut r = req();
        r.description = Some("third".into());
        let put = d.update(r, false, NOW).unwrap();
        assert_eq!(put.eula, None);
        assert_eq!(put.description.as_deref(), Some("third"));
    }

    #[test]
    fn unchanged_past_eol_may_be_repeated() {
        let mut d = ImageDefinition::create(req(), NOW).unwrap();
        d.end_of_life_date = Some(datetime!(2026-01-01 0:00 UTC));
        let mut r = req();
        r.end_of_life_date = d.end_of_life_date;
        assert!(d.update(r, false, NOW).is_ok());
    }
}
