//! The `sessions` table: one row per login, alive through its refresh-token rotations.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::sessions;
use super::{DbConnection, StoreError};
use diesel::Connection;

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
    /// The SHA-256 of the browser session (sign-in cookie) it was started from, if any.
    pub browser_session: Option<Vec<u8>>,
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

/// Revokes a session unless it is revoked already, and lists it in the revocation feed, in one
/// transaction. Returns whether this call revoked it.
pub fn revoke(
    conn: &mut DbConnection,
    sid: &str,
    now: NaiveDateTime,
    reason: &str,
) -> Result<bool, StoreError> {
    conn.transaction(|conn| {
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
        if updated == 0 {
            return Ok(false);
        }
        let access_expires_at = sessions::table
            .find(sid)
            .select(sessions::access_expires_at)
            .first::<NaiveDateTime>(conn)?;
        super::revocations::append(conn, sid, now, access_expires_at)?;
        Ok(true)
    })
}

/// Revokes every live session of a user; returns the sids revoked.
pub fn revoke_user(
    conn: &mut DbConnection,
    user_id: &str,
    now: NaiveDateTime,
    reason: &str,
) -> Result<Vec<String>, StoreError> {
    conn.transaction(|conn| {
        let live: Vec<String> = sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .select(sessions::sid)
            .load(conn)?;
        revoke_each(conn, live, now, reason)
    })
}

/// Revokes every live session held by a client.
pub fn revoke_client(
    conn: &mut DbConnection,
    client_id: &str,
    now: NaiveDateTime,
    reason: &str,
) -> Result<Vec<String>, StoreError> {
    conn.transaction(|conn| {
        let live: Vec<String> = sessions::table
            .filter(sessions::client_id.eq(client_id))
            .filter(sessions::revoked_at.is_null())
            .select(sessions::sid)
            .load(conn)?;
        revoke_each(conn, live, now, reason)
    })
}

fn revoke_each(
    conn: &mut DbConnection,
    sids: Vec<String>,
    now: NaiveDateTime,
    reason: &str,
) -> Result<Vec<String>, StoreError> {
    let mut revoked = Vec::with_capacity(sids.len());
    for sid in sids {
        if revoke(conn, &sid, now, reason)? {
            revoked.push(sid);
        }
    }
    Ok(revoked)
}

/// A page of sessions in `sid` order (sids are UUIDv7: creation order), optionally of one user.
pub fn list(
    conn: &mut DbConnection,
    user_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<SessionRow>, StoreError> {
    let mut query = sessions::table
        .order(sessions::sid.asc())
        .limit(limit)
        .into_boxed();
    if let Some(user_id) = user_id {
        query = query.filter(sessions::user_id.eq(user_id.to_owned()));
    }
    if let Some(after) = after {
        query = query.filter(sessions::sid.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Deletes up to `limit` sessions that can no longer matter: every access token has expired,
/// and the session has ended (absolute end, idle past the refresh lifetime, or revoked).
/// Their refresh tokens go with them (`ON DELETE CASCADE`). Returns how many were deleted.
pub fn delete_finished(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    idle_before: NaiveDateTime,
    limit: i64,
) -> Result<usize, StoreError> {
    let finished: Vec<String> = sessions::table
        .filter(sessions::access_expires_at.lt(now))
        .filter(
            sessions::expires_at
                .lt(now)
                // Only JWT sessions end when idle; an opaque API token lives until revoked.
                .or(sessions::last_used_at
                    .lt(idle_before)
                    .and(sessions::kind.eq("oauth")))
                .or(sessions::revoked_at.is_not_null()),
        )
        .select(sessions::sid)
        .limit(limit)
        .load(conn)?;
    if finished.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(sessions::table.filter(sessions::sid.eq_any(&finished))).execute(conn)?)
}
