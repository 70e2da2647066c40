//! Soft delete (`softDeletePolicy` on a gallery): a deleted image version is kept, unusable and
//! never `latest`, for the retention period, restorable until its hard deletion, then removed
//! for good.

use time::{Duration, OffsetDateTime};

use crate::Invalid;

/// Azure's fixed retention before `retentionPeriodInDays` existed.
pub const DEFAULT_RETENTION_DAYS: u32 = 7;
/// Longest retention or grace period accepted.
pub const MAX_DAYS: u32 = 365;

/// A gallery's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SoftDeletePolicy {
    /// `isSoftDeleteEnabled`.
    pub enabled: bool,
    /// `retentionPeriodInDays`: how long a deleted version stays listed and restorable.
    pub retention_days: u32,
    /// `gracePeriodInDays`: how much longer it stays restorable (unusable) before it goes.
    pub grace_days: u32,
}

/// `softDeletePolicy` as a request gives it.
#[derive(Debug, Clone, Default)]
pub struct SoftDeleteRequest {
    /// `isSoftDeleteEnabled`.
    pub enabled: Option<bool>,
    /// `retentionPeriodInDays`.
    pub retention_days: Option<i64>,
    /// `gracePeriodInDays`.
    pub grace_days: Option<i64>,
}

const T: &str = "gallery.properties.softDeletePolicy";

fn days(name: &str, v: Option<i64>, min: i64, default: u32) -> Result<u32, Invalid> {
    match v {
        None => Ok(default),
        Some(d) if (min..=i64::from(MAX_DAYS)).contains(&d) => Ok(d as u32),
        Some(d) => Err(Invalid::param(
            format!("{T}.{name}"),
            format!("'{T}.{name}' must be between {min} and {MAX_DAYS} days, not {d}."),
        )),
    }
}

impl SoftDeletePolicy {
    /// The policy a request sets, on top of the current one (unset fields keep their values).
    pub fn from_request(req: &SoftDeleteRequest, current: Option<&Self>) -> Result<Self, Invalid> {
        Ok(Self {
            enabled: req.enabled.or(current.map(|c| c.enabled)).unwrap_or(false),
            retention_days: days(
                "retentionPeriodInDays",
                req.retention_days,
                1,
                current.map_or(DEFAULT_RETENTION_DAYS, |c| c.retention_days),
            )?,
            grace_days: days("gracePeriodInDays", req.grace_days, 0, current.map_or(0, |c| c.grace_days))?,
        })
    }

    /// When a version deleted at `now` stops being restorable-and-listed, and when it goes.
    pub fn deletion(&self, now: OffsetDateTime) -> SoftDeletion {
        let consumption_end = now + Duration::days(i64::from(self.retention_days));
        SoftDeletion {
            deleted_at: now,
            consumption_end,
            hard_delete_at: consumption_end + Duration::days(i64::from(self.grace_days)),
        }
    }
}

/// When a soft-deleted version was deleted and what happens to it next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SoftDeletion {
    /// `softDeletedTime`.
    pub deleted_at: OffsetDateTime,
    /// `consumptionEndTime`.
    pub consumption_end: OffsetDateTime,
    /// `hardDeletionTargetTime`: until then it can be restored.
    pub hard_delete_at: OffsetDateTime,
}

impl SoftDeletion {
    /// Whether it can still be restored at `now`.
    pub fn restorable(&self, now: OffsetDateTime) -> bool {
        now < self.hard_delete_at
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn policies_default_keep_and_bound_their_periods() {
        let p = SoftDeletePolicy::from_request(&SoftDeleteRequest { enabled: Some(true), ..Default::default() }, None)
            .unwrap();
        assert_eq!(p, SoftDeletePolicy { enabled: true, retention_days: 7, grace_days: 0 });
        let req = SoftDeleteRequest { retention_days: Some(31), grace_days: Some(8), ..Default::default() };
        let q = SoftDeletePolicy::from_request(&req, Some(&p)).unwrap();
        assert_eq!(q, SoftDeletePolicy { enabled: true, retention_days: 31, grace_days: 8 });
        for bad in [Some(0), Some(366), Some(-1)] {
            let req = SoftDeleteRequest { retention_days: bad, ..Default::default() };
            assert!(SoftDeletePolicy::from_request(&req, None).is_err(), "{bad:?}");
        }
        let now = datetime!(2026-09-22 07:04 UTC);
        let d = q.deletion(now);
        assert_eq!(d.consumption_end, datetime!(2026-10-23 07:04 UTC));
        assert_eq!(d.hard_delete_at, datetime!(2026-10-31 07:04 UTC));
        assert!(d.restorable(now) && !d.restorable(d.hard_delete_at));
    }
}
