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

/// Whether `c` may serve `latest` in `region` (canonical name).
pub fn eligible(c: &Candidate<'_>, region: &str) -> bool {
    if !matches!(c.state, ProvisioningState::Succeeded | ProvisioningState::Updating) {
        return false;
    }
    let Some(target) = c.version.publishing.target_regions.iter().find(|r| r.name == region) else {
        return false;
    };
    let excluded = target.exclude_from_latest.unwrap_or(c.version.publishing.exclude_from_latest);
    let completed = c.version.replication.iter().any(|s| s.region == region && s.state == ReplicationState::Completed);
    completed && !excluded
}

/// The number of the version `latest` resolves to in `region`, if any.
pub fn resolve<'a>(candidates: impl IntoIterator<Item = Candidate<'a>>, region: &str) -> Option<VersionNumber> {
    candidates.into_iter().filter(|c| eligible(c, region)).map(|c| c.number).max()
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
    fn regional_exclude_overrides_the_version() {
        let v = version(&[("eastus", Some(false), Completed), ("westus", Some(true), Completed)], true);
        assert!(resolve([c("1.0.0", Succeeded, &v)], "eastus").is_some());
        assert!(resolve([c("1.0.0", Succeeded, &v)], "westus").is_none());
    }
}
