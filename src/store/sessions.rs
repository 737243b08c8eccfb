//! The `sessions` table: one row per login, alive through its refresh-token rotations.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::sessions;
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub sid: String,
    pub user_id: String,
    pub client_id: Option<String>,
    /// `oauth` (access + refresh JWTs) or `api_token` (a DRF-style opaque token).
    pub kind: String,
    /// The scope granted at login; a refresh may narrow it, never widen it.
    pub scope: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: NaiveDateTime,
    /// The absolute end of the session, whatever its rotations.
    pub expires_at: NaiveDateTime,
    /// When the last access token issued in this session expires (for the revocation feed).
    pub access_expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_reason: Option<String>,
}

pub fn insert(conn: &mut DbConnection, session: &SessionRow) -> Result<(), StoreError> {
    diesel::insert_into(sessions::table)
        .values(session)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, sid: &str) -> Result<Option<SessionRow>, StoreError> {
    Ok(sessions::table.find(sid).first(conn).optional()?)
}

/// Records a use of a live session. Returns false when the session is revoked, so a rotation
/// racing a revocation loses: the row lock orders the two.
pub fn touch_live(
    conn: &mut DbConnection,
    sid: &str,
    now: NaiveDateTime,
    access_expires_at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        sessions::table
            .filter(sessions::sid.eq(sid))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::last_used_at.eq(now),
        sessions::access_expires_at.eq(access_expires_at),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Revokes a session unless it is revoked already; returns whether this call revoked it.
pub fn revoke(
    conn: &mut DbConnection,
    sid: &str,
    now: NaiveDateTime,
    reason: &str,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        sessions::table
            .filter(sessions::sid.eq(sid))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(now),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}
