//! Provisioning and replication states, with their ARM spellings.

/// `properties.provisioningState` of galleries, definitions and versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ProvisioningState {
    /// Being created (its operation is running).
    Creating,
    /// Being updated.
    Updating,
    /// The last operation failed.
    Failed,
    /// Ready.
    Succeeded,
    /// Being deleted.
    Deleting,
}

impl ProvisioningState {
    /// The ARM string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "Creating",
            Self::Updating => "Updating",
            Self::Failed => "Failed",
            Self::Succeeded => "Succeeded",
            Self::Deleting => "Deleting",
        }
    }

    /// Creating, Updating or Deleting: an operation is (or must be) working on the resource.
    pub fn is_transitional(self) -> bool {
        matches!(self, Self::Creating | Self::Updating | Self::Deleting)
    }
}

/// Replication state of a version in one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ReplicationState {
    /// Not started.
    Unknown,
    /// Copying.
    Replicating,
    /// Every replica holds every byte.
    Completed,
    /// Gave up; `details` says why.
    Failed,
}

impl ReplicationState {
    /// The ARM string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "Unknown",
            Self::Replicating => "Replicating",
            Self::Completed => "Completed",
            Self::Failed => "Failed",
        }
    }
}

/// `replicationStatus.aggregatedState`: Failed if any region failed, Completed if all completed,
/// InProgress if any is replicating, else Unknown.
pub fn aggregate(states: impl IntoIterator<Item = ReplicationState>) -> &'static str {
    let states: Vec<ReplicationState> = states.into_iter().collect();
    if states.contains(&ReplicationState::Failed) {
        "Failed"
    } else if !states.is_empty() && states.iter().all(|s| *s == ReplicationState::Completed) {
        "Completed"
    } else if states.iter().any(|s| matches!(s, ReplicationState::Replicating | ReplicationState::Completed)) {
        "InProgress"
    } else {
        "Unknown"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReplicationState::*;

    #[test]
    fn aggregation() {
        assert_eq!(aggregate([Completed, Completed]), "Completed");
        assert_eq!(aggregate([Completed, Replicating]), "InProgress");
        assert_eq!(aggregate([Completed, Failed]), "Failed");
        assert_eq!(aggregate([Unknown]), "Unknown");
        assert_eq!(aggregate([]), "Unknown");
    }
}
