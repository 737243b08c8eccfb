//! The `events` table: the security audit trail.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::events;
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable)]
pub struct EventRow {
    pub seq: i64,
    pub at: NaiveDateTime,
    pub kind: String,
    pub actor: Option<String>,
    pub subject: Option<String>,
    /// A JSON object.
    pub detail: String,
}

pub fn insert(
    conn: &mut DbConnection,
    at: NaiveDateTime,
    kind: &str,
    actor: Option<&str>,
    subject: Option<&str>,
    detail: &str,
) -> Result<(), StoreError> {
    diesel::insert_into(events::table)
        .values((
            events::at.eq(at),
            events::kind.eq(kind),
            events::actor.eq(actor),
            events::subject.eq(subject),
            events::detail.eq(detail),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn page(conn: &mut DbConnection, after: i64, limit: i64) -> Result<Vec<EventRow>, StoreError> {
    Ok(events::table
        .filter(events::seq.gt(after))
        .order(events::seq.asc())
        .limit(limit)
        .load(conn)?)
}
