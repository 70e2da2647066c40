//! Explainable `latest` (a galleon extension): for a definition and a region, the version
//! `latest` resolves to and, for every other version, why it is not it. The verdicts come from
//! `galleon_model::latest::explain`, the function the server resolves `latest` with.

use galleon_model::ImageRef;
use galleon_model::latest::{NotLatest, explain};
use galleon_model::region::{canonical, display_name};
use galleon_model::{Invalid, ProvisioningState, VersionNumber};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{Core, CoreResult, now};

/// `latest` in one region, and why each other version is not it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatestExplanation {
    pub region: String,
    /// The version `latest` resolves to there; none when no version may serve.
    pub latest: Option<String>,
    /// Every version, highest number first, soft-deleted ones last.
    pub versions: Vec<Verdict>,
}

/// One version's verdict.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub name: String,
    pub provisioning_state: ProvisioningState,
    /// Whether it is `latest` in the region.
    pub latest: bool,
    /// Why not (absent for `latest`): `reason` is notUsable, notInRegion, notReplicated,
    /// excludedInRegion, excluded, lowerNumber or softDeleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_latest: Option<serde_json::Value>,
    /// The same in words.
    pub explanation: String,
    /// Its end-of-life date has passed (Azure still serves it as `latest`; so does galleon).
    pub end_of_life_passed: bool,
}

fn words(why: Option<&NotLatest>, region: &str, latest: Option<&str>) -> String {
    match why {
        None => format!("latest in {region}"),
        Some(NotLatest::NotUsable { state }) => format!("its provisioning state is {state:?}"),
        Some(NotLatest::NotInRegion) => format!("{region} is not one of its target regions"),
        Some(NotLatest::NotReplicated { state: Some(s) }) => format!("its replication to {region} is {s:?}"),
        Some(NotLatest::NotReplicated { state: None }) => format!("it has no replica in {region} yet"),
        Some(NotLatest::ExcludedInRegion) => format!("excluded from latest in {region}"),
        Some(NotLatest::Excluded) => "excluded from latest".into(),
        Some(NotLatest::LowerNumber) => format!("a higher version ({}) serves", latest.unwrap_or("?")),
    }
}

impl Core {
    /// Why `latest` of `image` in `region` is what it is.
    pub async fn explain_latest(&self, image: &ImageRef, region: &str) -> CoreResult<LatestExplanation> {
        let region = canonical(region);
        if region.is_empty() || !self.config().chunk_stores.contains_key(&region) {
            return Err(Invalid::param("region", format!("'{region}' is not a region this galleon serves.")).into());
        }
        let versions = self.all_versions(image).await?;
        let (latest, verdicts) = explain(crate::version_sources::candidates(&versions), &region);
        let latest = latest.map(|n| n.to_string());
        let shown = display_name(&region);
        let t = now();
        let past = |eol: Option<OffsetDateTime>| eol.is_some_and(|e| e <= t);
        let mut out = Vec::new();
        for (number, why) in verdicts {
            let name = number.to_string();
            let Some(v) = versions.iter().find(|v| v.name.parse::<VersionNumber>().ok() == Some(number)) else {
                continue;
            };
            out.push(Verdict {
                latest: why.is_none(),
                not_latest: why.as_ref().and_then(|w| serde_json::to_value(w).ok()),
                explanation: words(why.as_ref(), &shown, latest.as_deref()),
                provisioning_state: v.provisioning_state,
                end_of_life_passed: past(v.properties.publishing.end_of_life_date),
                name,
            });
        }
        for v in self.list_soft_deleted_versions(image).await? {
            out.push(Verdict {
                name: v.name.clone(),
                provisioning_state: v.provisioning_state,
                latest: false,
                not_latest: Some(serde_json::json!({ "reason": "softDeleted" })),
                explanation: "soft deleted".into(),
                end_of_life_passed: past(v.properties.publishing.end_of_life_date),
            });
        }
        Ok(LatestExplanation { region: shown, latest, versions: out })
    }
}
