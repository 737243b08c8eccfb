//! Browser sign-in state: browser sessions, authorization codes and consents.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{authorization_codes, browser_sessions, consents, sessions};
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = browser_sessions)]
pub struct BrowserSessionRow {
    pub id_hash: Vec<u8>,
    pub user_id: String,
    pub auth_time: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
}

pub fn insert_browser_session(
    conn: &mut DbConnection,
    row: &BrowserSessionRow,
) -> Result<(), StoreError> {
    diesel::insert_into(browser_sessions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A browser session that has neither ended nor expired.
pub fn live_browser_session(
    conn: &mut DbConnection,
    id_hash: &[u8],
    now: NaiveDateTime,
) -> Result<Option<BrowserSessionRow>, StoreError> {
    Ok(browser_sessions::table
        .find(id_hash)
        .filter(browser_sessions::ended_at.is_null())
        .filter(browser_sessions::expires_at.gt(now))
        .first(conn)
        .optional()?)
}

pub fn end_browser_session(
    conn: &mut DbConnection,
    id_hash: &[u8],
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(browser_sessions::table.find(id_hash))
        .set(browser_sessions::ended_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// The live token sessions started from a browser session.
pub fn sessions_of_browser(
    conn: &mut DbConnection,
    id_hash: &[u8],
) -> Result<Vec<String>, StoreError> {
    Ok(sessions::table
        .filter(sessions::browser_session.eq(id_hash))
        .filter(sessions::revoked_at.is_null())
        .select(sessions::sid)
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = authorization_codes)]
pub struct CodeRow {
    pub code_hash: Vec<u8>,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub auth_time: NaiveDateTime,
    pub browser_session: Option<Vec<u8>>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub sid: Option<String>,
}

pub fn insert_code(conn: &mut DbConnection, row: &CodeRow) -> Result<(), StoreError> {
    diesel::insert_into(authorization_codes::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_code(conn: &mut DbConnection, code_hash: &[u8]) -> Result<Option<CodeRow>, StoreError> {
    Ok(authorization_codes::table
        .find(code_hash)
        .first(conn)
        .optional()?)
}

/// Marks a code used; false when it was used already (the guard against double redemption).
pub fn use_code(
    conn: &mut DbConnection,
    code_hash: &[u8],
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        authorization_codes::table
            .filter(authorization_codes::code_hash.eq(code_hash))
            .filter(authorization_codes::used_at.is_null()),
    )
    .set(authorization_codes::used_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn set_code_session(
    conn: &mut DbConnection,
    code_hash: &[u8],
    sid: &str,
) -> Result<(), StoreError> {
    diesel::update(authorization_codes::table.find(code_hash))
        .set(authorization_codes::sid.eq(sid))
        .execute(conn)?;
    Ok(())
}

/// Deletes up to `limit` codes expired before `before`.
pub fn delete_expired_codes(
    conn: &mut DbConnection,
    before: NaiveDateTime,
    limit: i64,
) -> Result<usize, StoreError> {
    let expired: Vec<Vec<u8>> = authorization_codes::table
        .filter(authorization_codes::expires_at.lt(before))
        .select(authorization_codes::code_hash)
        .limit(limit)
        .load(conn)?;
    if expired.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(
        authorization_codes::table.filter(authorization_codes::code_hash.eq_any(&expired)),
    )
    .execute(conn)?)
}

pub fn consented_scope(
    conn: &mut DbConnection,
    user_id: &str,
    client_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(consents::table
        .find((user_id, client_id))
        .select(consents::scope)
        .first(conn)
        .optional()?)
}

/// Records consent to `scope` (replacing an earlier one).
pub fn record_consent(
    conn: &mut DbConnection,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        diesel::delete(consents::table.find((user_id, client_id))).execute(conn)?;
        diesel::insert_into(consents::table)
            .values((
                consents::user_id.eq(user_id),
                consents::client_id.eq(client_id),
                consents::scope.eq(scope),
                consents::granted_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })
}
