//! The `refresh_tokens` table: the SHA-256 of every refresh token issued, never the token.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{refresh_tokens, sessions};
use super::sessions::SessionRow;
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

/// The token and its session, in one indexed read.
pub fn find_with_session(
    conn: &mut DbConnection,
    token_hash: &[u8],
) -> Result<Option<(RefreshTokenRow, SessionRow)>, StoreError> {
    Ok(refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .first(conn)
        .optional()?)
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
