//! Session administration.

use serde::Serialize;

use super::{AdminError, Page, Paging};
use crate::oauth::events::{self, Actor};
use crate::oauth::users::rfc3339;
use crate::store::sessions::{self, SessionRow};
use crate::store::{self, users, DbConnection};

#[derive(Debug, Serialize)]
pub struct SessionView {
    pub sid: String,
    pub user_id: String,
    pub client_id: Option<String>,
    pub created_at: String,
    pub last_used_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

impl From<SessionRow> for SessionView {
    fn from(s: SessionRow) -> Self {
        Self {
            sid: s.sid,
            user_id: s.user_id,
            client_id: s.client_id,
            created_at: rfc3339(s.created_at),
            last_used_at: rfc3339(s.last_used_at),
            expires_at: rfc3339(s.expires_at),
            revoked_at: s.revoked_at.map(rfc3339),
        }
    }
}

pub fn list(
    conn: &mut DbConnection,
    user_id: Option<&str>,
    paging: &Paging,
) -> Result<Page<SessionView>, AdminError> {
    let rows = sessions::list(conn, user_id, paging.cursor.as_deref(), paging.limit + 1)?;
    Ok(paging.page(rows, |s| s.sid.clone(), SessionView::from))
}

/// Revokes one session; revoking a revoked session is a success that changes nothing.
pub fn revoke(conn: &mut DbConnection, actor: &Actor, sid: &str) -> Result<(), AdminError> {
    store::write_transaction(conn, |conn| {
        let session = sessions::find(conn, sid)?.ok_or(AdminError::NotFound("session"))?;
        if sessions::revoke(conn, sid, crate::domain::now(), "revoked_by_admin")? {
            events::record(
                conn,
                "session_revoked",
                Some(actor),
                Some(sid),
                serde_json::json!({
                    "reason": "revoked_by_admin", "user_id": session.user_id,
                }),
            )?;
        }
        Ok(())
    })
}

/// Revokes every session of a user; returns how many were live.
pub fn revoke_user(
    conn: &mut DbConnection,
    actor: &Actor,
    user_id: &str,
) -> Result<usize, AdminError> {
    store::write_transaction(conn, |conn| {
        users::find_by_id(conn, user_id)?.ok_or(AdminError::NotFound("user"))?;
        let revoked =
            sessions::revoke_user(conn, user_id, crate::domain::now(), "revoked_by_admin")?;
        events::record(
            conn,
            "user_sessions_revoked",
            Some(actor),
            Some(user_id),
            serde_json::json!({
                "sessions_revoked": revoked.len(),
            }),
        )?;
        Ok(revoked.len())
    })
}
