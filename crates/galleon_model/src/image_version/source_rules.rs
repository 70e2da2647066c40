//! What a version's source must agree with in its definition (design §3; the service's
//! wording from arm-api.md §6.2). The caller gathers the facts about the source; the rules are
//! here, in one place.

use crate::Invalid;
use crate::image_definition::{Architecture, HyperVGeneration, ImageDefinition, OsState, OsType, PurchasePlan};

/// Azure's limit on a data disk of an image version.
pub const MAX_DATA_DISK_GB: u64 = 1024;

/// What is known about a version's source (its OS disk, for disk sources).
#[derive(Debug, Clone, Copy)]
pub struct SourceFacts<'a> {
    /// The source's id, for messages.
    pub id: &'a str,
    /// The request field it came from.
    pub target: &'a str,
    /// OS type, when the source records one.
    pub os_type: Option<OsType>,
    /// OS state, when the source records one.
    pub os_state: Option<OsState>,
    /// Hyper-V generation, when the source records one.
    pub generation: Option<HyperVGeneration>,
    /// CPU architecture, when the source records one (another version's definition).
    pub architecture: Option<Architecture>,
}

/// The source's OS type, OS state and generation must be the definition's.
pub fn check_source(def: &ImageDefinition, f: &SourceFacts<'_>) -> Result<(), Invalid> {
    let (id, target) = (f.id, f.target);
    if let Some(os) = f.os_type.filter(|os| *os != def.os_type) {
        return Err(Invalid::param(
            target,
            format!(
                "The resource with id '{id}' has a different OS type ['{}'] than the parent gallery image OS type generation ['{}']",
                os.as_str(),
                def.os_type.as_str()
            ),
        ));
    }
    if let Some(generation) = f.generation.filter(|g| *g != def.hyper_v_generation) {
        return Err(Invalid::param(
            target,
            format!(
                "The resource with id '{id}' has a different Hypervisor generation ['{}'] than the parent gallery image Hypervisor generation ['{}']",
                generation.as_str(),
                def.hyper_v_generation.as_str()
            ),
        ));
    }
    if let Some(arch) = f.architecture.filter(|a| *a != def.architecture) {
        return Err(Invalid::param(
            target,
            format!(
                "The resource with id '{id}' has a different architecture ['{}'] than the parent gallery image architecture ['{}']",
                arch.as_str(),
                def.architecture.as_str()
            ),
        ));
    }
    if let Some(state) = f.os_state.filter(|s| *s != def.os_state) {
        return Err(Invalid::param(
            target,
            format!(
                "Cannot create Gallery Image Version from: {id} since the OS State in the parent gallery image ({}) is not {}.",
                def.os_state.as_str(),
                state.as_str()
            ),
        ));
    }
    Ok(())
}

/// A data disk of a version is at most 1 TiB.
pub fn check_data_disk_size(id: &str, target: &str, gb: Option<u64>) -> Result<(), Invalid> {
    match gb {
        Some(gb) if gb > MAX_DATA_DISK_GB => Err(Invalid::param(
            target,
            format!("The data disk '{id}' is {gb} GiB; image version data disks can be at most 1 TiB."),
        )),
        _ => Ok(()),
    }
}

/// A plan on the definition must match the source's plan exactly (and a source with a plan
/// needs a definition with that plan).
pub fn check_plan(def: &ImageDefinition, source: Option<&PurchasePlan>) -> Result<(), Invalid> {
    if source == def.purchase_plan.as_ref() {
        return Ok(());
    }
    let show = |p: Option<&PurchasePlan>| {
        p.map_or("none".to_string(), |p| {
            let part = |x: &Option<String>| x.clone().unwrap_or_default();
            format!("{}/{}/{}", part(&p.publisher), part(&p.product), part(&p.name))
        })
    };
    Err(Invalid::param(
        "galleryImageVersion.properties.storageProfile",
        format!(
            "The purchase plan of the source ({}) does not match the purchase plan of the gallery image definition ({}).",
            show(source),
            show(def.purchase_plan.as_ref())
        ),
    ))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::image_definition::DefinitionRequest;

    fn def(plan: Option<PurchasePlan>) -> ImageDefinition {
        let req = DefinitionRequest {
            os_type: Some("Linux".into()),
            os_state: Some("Generalized".into()),
            hyper_v_generation: Some("V2".into()),
            identifier: Some((Some("p".into()), Some("o".into()), Some("s".into()))),
            purchase_plan: plan,
            ..Default::default()
        };
        ImageDefinition::create(req, datetime!(2026-11-25 0:00 UTC)).unwrap()
    }

    fn facts(
        os_type: Option<OsType>,
        os_state: Option<OsState>,
        generation: Option<HyperVGeneration>,
    ) -> SourceFacts<'static> {
        SourceFacts { id: "/x", target: "t", os_type, os_state, generation, architecture: None }
    }

    #[test]
    fn source_must_match_the_definition() {
        let d = def(None);
        assert!(
            check_source(&d, &facts(Some(OsType::Linux), Some(OsState::Generalized), Some(HyperVGeneration::V2)))
                .is_ok()
        );
        assert!(check_source(&d, &facts(None, None, None)).is_ok(), "unknown facts are not held against the source");
        assert!(
            check_source(&d, &facts(Some(OsType::Windows), None, None))
                .unwrap_err()
                .message
                .contains("different OS type")
        );
        assert!(
            check_source(&d, &facts(None, None, Some(HyperVGeneration::V1)))
                .unwrap_err()
                .message
                .contains("Hypervisor generation")
        );
        assert!(
            check_source(&d, &facts(None, Some(OsState::Specialized), None)).unwrap_err().message.contains("OS State")
        );
    }

    #[test]
    fn data_disks_and_plans() {
        assert!(check_data_disk_size("/d", "t", Some(1024)).is_ok());
        assert!(check_data_disk_size("/d", "t", Some(1025)).is_err());
        let plan = PurchasePlan { name: Some("n".into()), publisher: Some("p".into()), product: Some("x".into()) };
        assert!(check_plan(&def(Some(plan.clone())), Some(&plan)).is_ok());
        assert!(check_plan(&def(None), None).is_ok());
        assert!(check_plan(&def(Some(plan.clone())), None).is_err());
        assert!(check_plan(&def(None), Some(&plan)).unwrap_err().message.contains("p/x/n"));
    }
}
