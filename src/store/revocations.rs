//! The `revocations` table behind the revocation feed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::revocations;
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable)]
pub struct RevocationRow {
    pub seq: i64,
    pub sid: String,
    pub revoked_at: NaiveDateTime,
    /// When the session's last access token expires; the entry is useless after.
    pub expires_at: NaiveDateTime,
}

/// Appends a revocation. On Postgres a transaction-scoped advisory lock serialises appends, so
/// sequence order is commit order and a reader that has seen `seq` N has seen everything
/// before it. Call inside a transaction.
pub fn append(
    conn: &mut DbConnection,
    sid: &str,
    revoked_at: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<(), StoreError> {
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(7461284)").execute(pg)?;
    }
    diesel::insert_into(revocations::table)
        .values((
            revocations::sid.eq(sid),
            revocations::revoked_at.eq(revoked_at),
            revocations::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Entries after `after` (a sequence number) whose access tokens may still be alive, in
/// order: an index range read on the primary key.
pub fn page(
    conn: &mut DbConnection,
    after: i64,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<RevocationRow>, StoreError> {
    Ok(revocations::table
        .filter(revocations::seq.gt(after))
        .filter(revocations::expires_at.gt(now))
        .order(revocations::seq.asc())
        .limit(limit)
        .load(conn)?)
}

/// The highest sequence number ever appended (0 when none), for an empty page's cursor.
pub fn last_seq(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(revocations::table
        .select(diesel::dsl::max(revocations::seq))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// Deletes up to `limit` entries whose access tokens have all expired.
pub fn delete_expired(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> Result<usize, StoreError> {
    let expired: Vec<i64> = revocations::table
        .filter(revocations::expires_at.le(now))
        .select(revocations::seq)
        .limit(limit)
        .load(conn)?;
    if expired.is_empty() {
        return Ok(0);
    }
    Ok(
        diesel::delete(revocations::table.filter(revocations::seq.eq_any(&expired)))
            .execute(conn)?,
    )
}
