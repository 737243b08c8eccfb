//! The `api_tokens` table: DRF-style opaque tokens, stored as SHA-256 only.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{api_tokens, sessions};
use super::sessions::SessionRow;
use super::{DbConnection, StoreError};

pub fn insert(
    conn: &mut DbConnection,
    token_hash: &[u8],
    sid: &str,
    created_at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::token_hash.eq(token_hash),
            api_tokens::sid.eq(sid),
            api_tokens::created_at.eq(created_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The session of an opaque token, by the token's hash.
pub fn find_session(
    conn: &mut DbConnection,
    token_hash: &[u8],
) -> Result<Option<SessionRow>, StoreError> {
    Ok(api_tokens::table
        .inner_join(sessions::table)
        .filter(api_tokens::token_hash.eq(token_hash))
        .select(sessions::all_columns)
        .first(conn)
        .optional()?)
}
