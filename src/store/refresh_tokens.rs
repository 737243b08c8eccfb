//! The `refresh_tokens` table: the SHA-256 of every refresh token issued, never the token.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{refresh_tokens, sessions, users};
use super::sessions::SessionRow;
use super::users::UserRow;
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub token_hash: Vec<u8>,
    pub jti: String,
    pub sid: String,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    /// Set when the token was rotated (or its session ended); presenting it again is reuse.
    pub retired_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, token: &RefreshTokenRow) -> Result<(), StoreError> {
    diesel::insert_into(refresh_tokens::table)
        .values(token)
        .execute(conn)?;
    Ok(())
}

/// The token, its session and the session's user, in one indexed read.
pub fn find_with_session_and_user(
    conn: &mut DbConnection,
    token_hash: &[u8],
) -> Result<Option<(RefreshTokenRow, SessionRow, UserRow)>, StoreError> {
    Ok(refresh_tokens::table
        .inner_join(sessions::table.inner_join(users::table))
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((
            refresh_tokens::all_columns,
            sessions::all_columns,
            users::all_columns,
        ))
        .first(conn)
        .optional()?)
}

/// How a rotation's write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    Rotated,
    /// Another request retired the token first, at this time.
    AlreadyRetired(NaiveDateTime),
    /// The session was revoked (or is gone).
    SessionRevoked,
}

/// Retires `old` and stores its successor `new`, guarded so that of many concurrent rotations
/// of one token exactly one succeeds, and none succeeds on a revoked session.
///
/// On Postgres it is one statement (the three writes as CTEs), so a rotation is one round
/// trip and one commit; SQLite, whose writers are serialised anyway, runs them in an
/// immediate transaction.
pub fn rotate(
    conn: &mut DbConnection,
    old: &[u8],
    new: &RefreshTokenRow,
    now: NaiveDateTime,
    access_expires_at: NaiveDateTime,
) -> Result<Rotation, StoreError> {
    use diesel::sql_types::{Binary, Text, Timestamp};
    let rotated = match conn {
        DbConnection::Postgres(pg) => {
            #[derive(QueryableByName)]
            struct Inserted {
                #[diesel(sql_type = Text)]
                #[allow(dead_code)]
                sid: String,
            }
            let inserted: Vec<Inserted> = diesel::sql_query(
                "WITH retired AS ( \
                     UPDATE refresh_tokens SET retired_at = $1 \
                     WHERE token_hash = $2 AND retired_at IS NULL RETURNING sid), \
                 touched AS ( \
                     UPDATE sessions SET last_used_at = $1, access_expires_at = $3 \
                     WHERE sid = (SELECT sid FROM retired) AND revoked_at IS NULL RETURNING sid) \
                 INSERT INTO refresh_tokens (token_hash, jti, sid, issued_at, expires_at, retired_at) \
                 SELECT $4, $5, sid, $6, $7, NULL FROM touched RETURNING sid",
            )
            .bind::<Timestamp, _>(now)
            .bind::<Binary, _>(old)
            .bind::<Timestamp, _>(access_expires_at)
            .bind::<Binary, _>(&new.token_hash)
            .bind::<Text, _>(&new.jti)
            .bind::<Timestamp, _>(new.issued_at)
            .bind::<Timestamp, _>(new.expires_at)
            .load(pg)?;
            !inserted.is_empty()
        }
        DbConnection::Sqlite(_) => super::write_transaction(conn, |conn| {
            if !retire(conn, old, now)? {
                return Ok::<_, StoreError>(false);
            }
            if !super::sessions::touch_live(conn, &new.sid, now, access_expires_at)? {
                // Undo the retirement: the token stays as it was, the session is dead anyway.
                return Err(StoreError::Query(
                    diesel::result::Error::RollbackTransaction,
                ));
            }
            insert(conn, new)?;
            Ok(true)
        })
        .or_else(|e| match e {
            StoreError::Query(diesel::result::Error::RollbackTransaction) => Ok(false),
            other => Err(other),
        })?,
    };
    if rotated {
        return Ok(Rotation::Rotated);
    }
    // Nothing was written: tell a revoked session from a lost race.
    let session_live =
        super::sessions::find(conn, &new.sid)?.is_some_and(|s| s.revoked_at.is_none());
    match retired_at(conn, old)? {
        Some(at) if session_live => Ok(Rotation::AlreadyRetired(at)),
        _ => Ok(Rotation::SessionRevoked),
    }
}

/// Retires a live token: the conditional `UPDATE … WHERE retired_at IS NULL` is the guard
/// that lets exactly one of many concurrent rotations of the same token win. Returns whether
/// this call retired it.
pub fn retire(
    conn: &mut DbConnection,
    token_hash: &[u8],
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .filter(refresh_tokens::retired_at.is_null()),
    )
    .set(refresh_tokens::retired_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

/// When the token was retired, read after a failed `retire`.
pub fn retired_at(
    conn: &mut DbConnection,
    token_hash: &[u8],
) -> Result<Option<NaiveDateTime>, StoreError> {
    Ok(refresh_tokens::table
        .find(token_hash)
        .select(refresh_tokens::retired_at)
        .first::<Option<NaiveDateTime>>(conn)
        .optional()?
        .flatten())
}

/// Deletes up to `limit` expired refresh tokens. An expired token fails its JWT `exp` check
/// before any lookup, so reuse detection no longer needs its row.
pub fn delete_expired(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<usize, StoreError> {
    let expired: Vec<Vec<u8>> = refresh_tokens::table
        .filter(refresh_tokens::expires_at.lt(now))
        .select(refresh_tokens::token_hash)
        .limit(limit)
        .load(conn)?;
    if expired.is_empty() {
        return Ok(0);
    }
    Ok(
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::token_hash.eq_any(&expired)))
            .execute(conn)?,
    )
}
