//! Portal sessions, kept in the metadata store so a browser stays signed in whichever node
//! behind a load balancer answers it, and across restarts. The session id itself (the cookie)
//! is never stored: the key is its BLAKE3 digest, so reading the database does not yield cookies.

use galleon_store::typed;
use galleon_store::{Batch, Expect, Kind, StoreError};
use serde::{Deserialize, Serialize};

use crate::{Core, CoreResult, now};

/// One signed-in browser.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PortalSession {
    /// The ARM bearer token of the principal.
    pub token: String,
    /// Unix seconds after which the token (and so the session) is no longer valid.
    pub expires_at: i64,
    /// Echoed by every state-changing request.
    pub csrf: String,
    /// The principal's client id, shown in the top bar.
    pub client_id: String,
}

const PREFIX: &str = "/galleon/sessions/";
/// How many sessions a sign-in looks at to drop expired ones (bounded work per sign-in).
const SWEEP: usize = 32;

fn key(id: &str) -> String {
    format!("{PREFIX}{}", blake3::hash(id.as_bytes()).to_hex())
}

/// 244 random bits (two v4 UUIDs), hex.
fn random_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

impl Core {
    /// Opens a session for a token; returns the session id (the cookie's value).
    pub async fn open_portal_session(&self, token: String, expires_at: i64, client_id: String) -> CoreResult<String> {
        self.sweep_portal_sessions().await?;
        let id = random_token();
        let session = PortalSession { token, expires_at, csrf: random_token(), client_id };
        let doc = typed::doc(Kind::Session, &key(&id), None, &session);
        self.store().apply(Batch::new().put(doc, Expect::Absent)).await?;
        Ok(id)
    }

    /// The live session `id`, if any.
    pub async fn portal_session(&self, id: &str) -> CoreResult<Option<PortalSession>> {
        let found = typed::get::<PortalSession>(self.store(), Kind::Session, &key(id)).await?;
        Ok(found.map(|r| r.value).filter(|s| s.expires_at > now().unix_timestamp()))
    }

    /// Ends session `id` (sign-out).
    pub async fn close_portal_session(&self, id: &str) -> CoreResult<()> {
        self.store().apply(Batch::new().delete(Kind::Session, key(id), Expect::Any)).await?;
        Ok(())
    }

    /// Drops expired sessions among the first few.
    async fn sweep_portal_sessions(&self) -> CoreResult<()> {
        let t = now().unix_timestamp();
        let rows = typed::list::<PortalSession>(self.store(), Kind::Session, PREFIX, None, SWEEP).await?;
        let expired = rows.into_iter().filter(|(_, r)| r.value.expires_at <= t);
        let batch = expired.fold(Batch::new(), |b, (k, r)| b.delete(Kind::Session, k, Expect::Rev(r.rev)));
        match self.store().apply(batch).await {
            // Another node swept or one was renewed meanwhile: the next sign-in tries again.
            Ok(()) | Err(StoreError::Conflict { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
