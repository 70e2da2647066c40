//! Subscriptions: the top of every ARM id. galleon creates one on first start.

use galleon_store::typed::{self, Record};
use galleon_store::{Batch, Expect, Kind};
use serde::{Deserialize, Serialize};

use crate::{Core, CoreError, CoreResult, Page, PageRequest};

/// A subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// Its id (a UUID).
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Owning tenant.
    pub tenant_id: String,
}

fn key(id: &str) -> String {
    format!("/subscriptions/{}", id.to_ascii_lowercase())
}

impl Core {
    /// Creates the subscription if it does not exist yet.
    pub async fn ensure_subscription(&self, id: &str, display_name: &str) -> CoreResult<Subscription> {
        if let Some(existing) = typed::get::<Subscription>(self.store(), Kind::Subscription, &key(id)).await? {
            return Ok(existing.value);
        }
        let sub = Subscription {
            id: id.to_string(),
            display_name: display_name.to_string(),
            tenant_id: self.config().tenant_id.clone(),
        };
        let created =
            self.store().apply(Batch::new().put(typed::doc(Kind::Subscription, &key(id), None, &sub), Expect::Absent));
        match created.await {
            Ok(()) => Ok(sub),
            // Another node made it at the same moment.
            Err(galleon_store::StoreError::Conflict { .. }) => self.require_subscription(id).await,
            Err(e) => Err(e.into()),
        }
    }

    /// One subscription, or `SubscriptionNotFound`.
    pub async fn require_subscription(&self, id: &str) -> CoreResult<Subscription> {
        typed::get::<Subscription>(self.store(), Kind::Subscription, &key(id))
            .await?
            .map(|r: Record<Subscription>| r.value)
            .ok_or_else(|| CoreError::SubscriptionNotFound(id.to_string()))
    }

    /// Every subscription.
    pub async fn list_subscriptions(&self, page: &PageRequest) -> CoreResult<Page<Subscription>> {
        let size = page.size();
        let rows = typed::list::<Subscription>(
            self.store(),
            Kind::Subscription,
            "/subscriptions/",
            page.after.as_deref(),
            size + 1,
        )
        .await?;
        Ok(Page::from_rows(rows.into_iter().map(|(k, r)| (k, r.value)).collect(), size))
    }
}
