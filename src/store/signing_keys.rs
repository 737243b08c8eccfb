//! The `signing_keys` table: when each key (by `kid`) starts signing and when it retired.
//! The private keys live in the keys directory, never in the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::signing_keys;
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    pub created_at: NaiveDateTime,
    pub signs_from: NaiveDateTime,
    pub retired_at: Option<NaiveDateTime>,
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<SigningKeyRow>, StoreError> {
    Ok(signing_keys::table
        .order(signing_keys::signs_from.asc())
        .load(conn)?)
}

/// Inserts a key's metadata; a `kid` already present (another instance got there first with
/// the same key file) is fine.
pub fn insert(conn: &mut DbConnection, key: &SigningKeyRow) -> Result<(), StoreError> {
    match diesel::insert_into(signing_keys::table)
        .values(key)
        .execute(conn)
    {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Retires every key but `keep`: they leave the JWKS at the next load (a leaked key).
pub fn retire_all_except(
    conn: &mut DbConnection,
    keep: &str,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(diesel::update(
        signing_keys::table
            .filter(signing_keys::kid.ne(keep))
            .filter(signing_keys::retired_at.is_null()),
    )
    .set(signing_keys::retired_at.eq(now))
    .execute(conn)?)
}

pub fn retire(conn: &mut DbConnection, kid: &str, now: NaiveDateTime) -> Result<(), StoreError> {
    diesel::update(signing_keys::table.find(kid))
        .set(signing_keys::retired_at.eq(now))
        .execute(conn)?;
    Ok(())
}
