//! Retention policies (a galleon extension): per image definition, keep the newest N versions
//! and/or delete versions D days after their end-of-life date. The plan says, for every
//! version, whether the policy deletes it and why, or why it is kept: a version is never
//! deleted while it is being built, before its end of life when `blockDeletionBeforeEndOfLife`
//! says so, while a disk holds its content, or while it is `latest` in a region.

use time::OffsetDateTime;

use crate::image_version::ImageVersion;
use crate::{Invalid, ProvisioningState, VersionNumber};

/// The most versions a policy may keep.
pub const MAX_KEEP: u32 = 1000;
/// The longest wait after end of life, in days (ten years).
pub const MAX_DAYS: u32 = 3650;

/// A definition's retention policy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase", deny_unknown_fields))]
pub struct RetentionPolicy {
    /// Keep the newest this many versions; older ones are deleted.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub keep_latest: Option<u32>,
    /// Delete a version this many days after its end-of-life date.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub delete_after_end_of_life_days: Option<u32>,
    /// Whether versions excluded from latest count toward `keepLatest` (true), or are kept
    /// and not counted (false).
    #[cfg_attr(feature = "serde", serde(default = "counted"))]
    pub count_excluded_from_latest: bool,
}

#[cfg(feature = "serde")]
fn counted() -> bool {
    true
}

impl RetentionPolicy {
    /// Checks the policy's numbers; `target` prefixes the fields named in errors.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.keep_latest.is_none() && self.delete_after_end_of_life_days.is_none() {
            return Err(Invalid::param(
                "retentionPolicy",
                "A retention policy needs keepLatest, deleteAfterEndOfLifeDays or both.",
            ));
        }
        if let Some(n) = self.keep_latest
            && !(1..=MAX_KEEP).contains(&n)
        {
            return Err(Invalid::param(
                "retentionPolicy.keepLatest",
                format!("keepLatest must be between 1 and {MAX_KEEP}, not {n}."),
            ));
        }
        if let Some(d) = self.delete_after_end_of_life_days
            && d > MAX_DAYS
        {
            return Err(Invalid::param(
                "retentionPolicy.deleteAfterEndOfLifeDays",
                format!("deleteAfterEndOfLifeDays must be between 0 and {MAX_DAYS}, not {d}."),
            ));
        }
        Ok(())
    }
}

/// What the plan knows of one version.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub number: VersionNumber,
    pub state: ProvisioningState,
    pub version: &'a ImageVersion,
    /// Disks whose content is this version's (names).
    pub used_by: Vec<String>,
    /// Regions where it is `latest`.
    pub latest_in: Vec<String>,
}

/// The plan for one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub number: VersionNumber,
    pub delete: bool,
    /// Why it goes, or why it stays (when a rule wanted it gone, the rule comes last).
    pub reasons: Vec<String>,
}

/// The plan of `policy` for a definition's versions at `now`, highest number first.
pub fn plan(policy: &RetentionPolicy, facts: &[Facts<'_>], now: OffsetDateTime) -> Vec<Decision> {
    let mut facts: Vec<&Facts<'_>> = facts.iter().collect();
    facts.sort_by_key(|f| std::cmp::Reverse(f.number));
    let mut rank = 0u32;
    facts
        .into_iter()
        .map(|f| {
            let excluded = f.version.publishing.exclude_from_latest;
            let counts = policy.count_excluded_from_latest || !excluded;
            let mut wanted = Vec::new();
            let mut kept = Vec::new();
            if counts {
                rank += 1;
            }
            match policy.keep_latest {
                Some(n) if counts && rank > n => wanted.push(format!("older than the newest {n}")),
                Some(n) if counts => kept.push(format!("among the newest {n}")),
                Some(_) => kept.push("excluded from latest, which the policy does not count".into()),
                None => {}
            }
            if let (Some(days), Some(eol)) =
                (policy.delete_after_end_of_life_days, f.version.publishing.end_of_life_date)
                && eol + time::Duration::days(i64::from(days)) <= now
            {
                wanted.push(format!("{days} days past its end of life ({})", eol.date()));
            }
            if wanted.is_empty() {
                if kept.is_empty() {
                    kept.push("no rule applies".into());
                }
                return Decision { number: f.number, delete: false, reasons: kept };
            }
            let mut protections = Vec::new();
            if !matches!(f.state, ProvisioningState::Succeeded | ProvisioningState::Failed) {
                protections.push(format!("its provisioning state is {:?}", f.state));
            }
            if let Err(e) = f.version.check_delete(now) {
                protections.push(format!("blockDeletionBeforeEndOfLife: {}", e.message));
            }
            if !f.used_by.is_empty() {
                protections.push(format!("disks hold its content: {}", f.used_by.join(", ")));
            }
            if !f.latest_in.is_empty() {
                protections.push(format!("it is latest in {}", f.latest_in.join(", ")));
            }
            if protections.is_empty() {
                Decision { number: f.number, delete: true, reasons: wanted }
            } else {
                protections.extend(wanted.into_iter().map(|w| format!("kept although {w}")));
                Decision { number: f.number, delete: false, reasons: protections }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::image_version::{PublishingRequest, TargetRegionRequest, VersionRequest};

    const NOW: OffsetDateTime = datetime!(2026-12-01 0:00 UTC);

    fn version(exclude: bool, eol: Option<OffsetDateTime>, block: bool) -> ImageVersion {
        let req = VersionRequest {
            source_id: Some("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/mi".into()),
            publishing: Some(PublishingRequest {
                target_regions: Some(vec![TargetRegionRequest { name: Some("eastus".into()), ..Default::default() }]),
                exclude_from_latest: Some(exclude),
                end_of_life_date: eol,
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut v = ImageVersion::create(req, "eastus", datetime!(2026-01-01 0:00 UTC)).unwrap();
        v.safety.block_deletion_before_end_of_life = block;
        v
    }

    fn facts<'a>(n: &str, v: &'a ImageVersion) -> Facts<'a> {
        Facts {
            number: n.parse().unwrap(),
            state: ProvisioningState::Succeeded,
            version: v,
            used_by: vec![],
            latest_in: vec![],
        }
    }

    fn verdicts(d: &[Decision]) -> Vec<(String, bool)> {
        d.iter().map(|d| (d.number.to_string(), d.delete)).collect()
    }

    #[test]
    fn keep_latest_deletes_the_older_versions() {
        let v = version(false, None, false);
        let policy = RetentionPolicy {
            keep_latest: Some(2),
            delete_after_end_of_life_days: None,
            count_excluded_from_latest: true,
        };
        let d = plan(&policy, &[facts("1.0.0", &v), facts("1.10.0", &v), facts("1.2.0", &v)], NOW);
        assert_eq!(verdicts(&d), [("1.10.0".into(), false), ("1.2.0".into(), false), ("1.0.0".into(), true)]);
        assert_eq!(d[2].reasons, ["older than the newest 2"]);
    }

    #[test]
    fn excluded_versions_are_counted_or_kept_as_the_policy_says() {
        let (plain, excluded) = (version(false, None, false), version(true, None, false));
        let all = [facts("3.0.0", &excluded), facts("2.0.0", &plain), facts("1.0.0", &plain)];
        let mut policy = RetentionPolicy {
            keep_latest: Some(1),
            delete_after_end_of_life_days: None,
            count_excluded_from_latest: true,
        };
        assert_eq!(
            verdicts(&plan(&policy, &all, NOW)),
            [("3.0.0".into(), false), ("2.0.0".into(), true), ("1.0.0".into(), true)]
        );
        policy.count_excluded_from_latest = false;
        let d = plan(&policy, &all, NOW);
        assert_eq!(verdicts(&d), [("3.0.0".into(), false), ("2.0.0".into(), false), ("1.0.0".into(), true)]);
        assert!(d[0].reasons[0].contains("does not count"), "{:?}", d[0]);
    }

    #[test]
    fn end_of_life_plus_days_deletes_and_protections_keep() {
        let old = version(false, Some(datetime!(2026-10-01 0:00 UTC)), false);
        let recent = version(false, Some(datetime!(2026-11-25 0:00 UTC)), false);
        let policy = RetentionPolicy {
            keep_latest: None,
            delete_after_end_of_life_days: Some(30),
            count_excluded_from_latest: true,
        };
        let d = plan(&policy, &[facts("2.0.0", &recent), facts("1.0.0", &old)], NOW);
        assert_eq!(verdicts(&d), [("2.0.0".into(), false), ("1.0.0".into(), true)]);
        assert_eq!(d[1].reasons, ["30 days past its end of life (2026-10-01)"]);
        // A disk holding it, latest somewhere, or a build in progress keep it, and say why.
        let mut used = facts("1.0.0", &old);
        used.used_by = vec!["osdisk".into()];
        used.latest_in = vec!["East US".into()];
        let d = plan(&policy, &[used], NOW);
        assert!(!d[0].delete);
        assert_eq!(d[0].reasons[0], "disks hold its content: osdisk");
        assert_eq!(d[0].reasons[1], "it is latest in East US");
        assert!(d[0].reasons[2].starts_with("kept although 30 days past"));
        let mut building = facts("1.0.0", &old);
        building.state = ProvisioningState::Updating;
        assert!(!plan(&policy, &[building], NOW)[0].delete);
    }

    #[test]
    fn block_deletion_before_end_of_life_is_honoured() {
        let blocked = version(false, Some(datetime!(2027-06-01 0:00 UTC)), true);
        let policy = RetentionPolicy {
            keep_latest: Some(1),
            delete_after_end_of_life_days: None,
            count_excluded_from_latest: true,
        };
        let d = plan(&policy, &[facts("2.0.0", &blocked), facts("1.0.0", &blocked)], NOW);
        assert!(!d[1].delete && d[1].reasons[0].starts_with("blockDeletionBeforeEndOfLife"), "{:?}", d[1]);
    }

    #[test]
    fn policies_are_checked() {
        let p = |keep, days| RetentionPolicy {
            keep_latest: keep,
            delete_after_end_of_life_days: days,
            count_excluded_from_latest: true,
        };
        assert!(p(None, None).validate().is_err());
        assert!(p(Some(0), None).validate().unwrap_err().target.ends_with("keepLatest"));
        assert!(p(None, Some(MAX_DAYS + 1)).validate().unwrap_err().target.ends_with("deleteAfterEndOfLifeDays"));
        assert!(p(Some(3), Some(0)).validate().is_ok());
    }
}
