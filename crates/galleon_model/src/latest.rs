//! `latest`: which version a region serves for `…/images/{def}` and `…/versions/latest`.
//!
//! Per region, the highest version (numeric Major, then Minor, then Patch) that is usable
//! (Succeeded, or Updating: an update adding regions does not withdraw the regions it already
//! has), fully replicated to that region, and not excluded. A region's own `excludeFromLatest`
//! overrides the version's.

use crate::image_version::ImageVersion;
use crate::states::ReplicationState;
use crate::{ProvisioningState, VersionNumber};

/// One version as `latest` sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The version's number.
    pub number: VersionNumber,
    /// Its provisioning state.
    pub state: ProvisioningState,
    /// Its properties.
    pub version: &'a ImageVersion,
}

/// Why a version is not `latest` in a region (the checks in the order they are made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(tag = "reason", rename_all = "camelCase"))]
pub enum NotLatest {
    /// Its provisioning state is neither Succeeded nor Updating (Creating, Failed, Deleting…).
    NotUsable { state: ProvisioningState },
    /// The region is not one of its target regions.
    NotInRegion,
    /// Its replication to the region has not completed.
    NotReplicated { state: Option<ReplicationState> },
    /// The region's own `excludeFromLatest` is true.
    ExcludedInRegion,
    /// The version's `excludeFromLatest` is true (and the region does not override it).
    Excluded,
    /// It may serve, but a higher version does.
    LowerNumber,
}

/// Why `c` may not serve `latest` in `region` (canonical name); `None` if it may.
pub fn ineligibility(c: &Candidate<'_>, region: &str) -> Option<NotLatest> {
    if !matches!(c.state, ProvisioningState::Succeeded | ProvisioningState::Updating) {
        return Some(NotLatest::NotUsable { state: c.state });
    }
    let Some(target) = c.version.publishing.target_regions.iter().find(|r| r.name == region) else {
        return Some(NotLatest::NotInRegion);
    };
    let replication = c.version.replication.iter().find(|s| s.region == region).map(|s| s.state);
    if replication != Some(ReplicationState::Completed) {
        return Some(NotLatest::NotReplicated { state: replication });
    }
    match target.exclude_from_latest {
        Some(true) => Some(NotLatest::ExcludedInRegion),
        Some(false) => None,
        None if c.version.publishing.exclude_from_latest => Some(NotLatest::Excluded),
        None => None,
    }
}

/// Whether `c` may serve `latest` in `region` (canonical name).
pub fn eligible(c: &Candidate<'_>, region: &str) -> bool {
    ineligibility(c, region).is_none()
}

/// `latest` in a region with the reason every other version is not it, highest number first.
pub fn explain<'a>(
    candidates: impl IntoIterator<Item = Candidate<'a>>,
    region: &str,
) -> (Option<VersionNumber>, Vec<(VersionNumber, Option<NotLatest>)>) {
    let mut all: Vec<(VersionNumber, Option<NotLatest>)> =
        candidates.into_iter().map(|c| (c.number, ineligibility(&c, region))).collect();
    all.sort_by_key(|v| std::cmp::Reverse(v.0));
    let latest = all.iter().find(|(_, why)| why.is_none()).map(|(n, _)| *n);
    for (n, why) in &mut all {
        if why.is_none() && Some(*n) != latest {
            *why = Some(NotLatest::LowerNumber);
        }
    }
    (latest, all)
}

/// The number of the version `latest` resolves to in `region`, if any.
pub fn resolve<'a>(candidates: impl IntoIterator<Item = Candidate<'a>>, region: &str) -> Option<VersionNumber> {
    explain(candidates, region).0
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::image_version::{PublishingRequest, TargetRegionRequest, VersionRequest};

    fn version(regions: &[(&str, Option<bool>, ReplicationState)], exclude: bool) -> ImageVersion {
        let req = VersionRequest {
            source_id: Some("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/mi".into()),
            publishing: Some(PublishingRequest {
                target_regions: Some(
                    regions
                        .iter()
                        .map(|(n, x, _)| TargetRegionRequest {
                            name: Some((*n).into()),
                            exclude_from_latest: *x,
                            ..Default::default()
                        })
                        .collect(),
                ),
                exclude_from_latest: Some(exclude),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut v = ImageVersion::create(req, regions[0].0, datetime!(2026-11-25 0:00 UTC)).unwrap();
        for (status, (_, _, state)) in v.replication.iter_mut().zip(regions) {
            status.state = *state;
        }
        v
    }

    fn c<'a>(n: &str, state: ProvisioningState, v: &'a ImageVersion) -> Candidate<'a> {
        Candidate { number: n.parse().unwrap(), state, version: v }
    }

    use ProvisioningState::{Creating, Succeeded, Updating};
    use ReplicationState::{Completed, Replicating};

    #[test]
    fn highest_numeric_version_wins() {
        let a = version(&[("eastus", None, Completed)], false);
        let b = version(&[("eastus", None, Completed)], false);
        let got = resolve([c("1.9.0", Succeeded, &a), c("1.10.0", Succeeded, &b)], "eastus");
        assert_eq!(got.unwrap().to_string(), "1.10.0");
    }

    #[test]
    fn excluded_failed_and_unreplicated_versions_are_skipped() {
        let done = version(&[("eastus", None, Completed), ("westus", None, Completed)], false);
        let excluded = version(&[("eastus", None, Completed)], true);
        let replicating = version(&[("eastus", None, Completed), ("westus", None, Replicating)], false);
        let failed = version(&[("eastus", None, Completed)], false);
        let creating = version(&[("eastus", None, Completed)], false);
        let all = || {
            [
                c("1.0.0", Succeeded, &done),
                c("2.0.0", Succeeded, &excluded),
                c("1.5.0", Updating, &replicating),
                c("3.0.0", ProvisioningState::Failed, &failed),
                c("4.0.0", Creating, &creating),
            ]
        };
        assert_eq!(resolve(all(), "eastus").unwrap().to_string(), "1.5.0");
        assert_eq!(resolve(all(), "westus").unwrap().to_string(), "1.0.0");
        assert_eq!(resolve(all(), "northeurope"), None);
    }

    #[test]
    fn explain_gives_each_version_its_reason() {
        let done = version(&[("eastus", None, Completed), ("westus", None, Completed)], false);
        let older = version(&[("eastus", None, Completed)], false);
        let excluded = version(&[("eastus", None, Completed)], true);
        let regional = version(&[("eastus", Some(true), Completed)], false);
        let replicating = version(&[("eastus", None, Replicating)], false);
        let failed = version(&[("eastus", None, Completed)], false);
        let (latest, why) = explain(
            [
                c("1.0.0", Succeeded, &older),
                c("1.1.0", Succeeded, &done),
                c("2.0.0", Succeeded, &excluded),
                c("2.1.0", Succeeded, &regional),
                c("2.2.0", Updating, &replicating),
                c("3.0.0", ProvisioningState::Failed, &failed),
            ],
            "eastus",
        );
        assert_eq!(latest.unwrap().to_string(), "1.1.0");
        let reasons: Vec<(String, Option<NotLatest>)> = why.into_iter().map(|(n, r)| (n.to_string(), r)).collect();
        assert_eq!(
            reasons,
            [
                ("3.0.0".into(), Some(NotLatest::NotUsable { state: ProvisioningState::Failed })),
                ("2.2.0".into(), Some(NotLatest::NotReplicated { state: Some(Replicating) })),
                ("2.1.0".into(), Some(NotLatest::ExcludedInRegion)),
                ("2.0.0".into(), Some(NotLatest::Excluded)),
                ("1.1.0".into(), None),
                ("1.0.0".into(), Some(NotLatest::LowerNumber)),
            ]
        );
        let (none, why) = explain([c("1.1.0", Succeeded, &done)], "northeurope");
        assert!(none.is_none());
        assert_eq!(why[0].1, Some(NotLatest::NotInRegion));
    }

    #[test]
    fn regional_exclude_overrides_the_version() {
        let v = version(&[("eastus", Some(false), Completed), ("westus", Some(true), Completed)], true);
        assert!(resolve([c("1.0.0", Succeeded, &v)], "eastus").is_some());
        assert!(resolve([c("1.0.0", Succeeded, &v)], "westus").is_none());
    }
}
