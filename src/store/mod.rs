//! Persistence: the only module that imports diesel.
//!
//! One `MultiConnection` serves Postgres (production) and SQLite (the embedded default) with
//! one portable schema. Store functions are plain functions over `&mut DbConnection`, so the
//! caller owns the transaction and they compose.

pub mod api_tokens;
pub mod browser;
pub mod clients;
pub mod events;
mod pool;
pub mod refresh_tokens;
pub mod revocations;
pub mod schema;
pub mod sessions;
pub mod signing_keys;
pub mod users;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub use pool::{connect, Pool, PooledConnection};

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint said no: the named thing exists already.
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("database query failed")]
    Query(#[source] DieselError),
    #[error("no database connection available")]
    Pool(#[from] r2d2::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("migrations failed: {0}")]
    Migration(String),
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        Self::Query(e)
    }
}

/// Maps a unique violation to `Conflict(what)`, everything else to `Query`.
pub(crate) fn conflict_as(what: &'static str) -> impl FnOnce(DieselError) -> StoreError {
    move |e| match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            StoreError::Conflict(what)
        }
        other => StoreError::Query(other),
    }
}

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Applies pending migrations; returns the names of those applied.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let to_strings = |v: Vec<diesel::migration::MigrationVersion<'_>>| {
        v.into_iter().map(|m| m.to_string()).collect::<Vec<_>>()
    };
    match conn {
        DbConnection::Postgres(pg) => {
            // Two instances starting at once must not both apply the same migration.
            diesel::sql_query("SELECT pg_advisory_lock(7461283)").execute(pg)?;
            let result = pg
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(to_strings)
                .map_err(|e| StoreError::Migration(e.to_string()));
            diesel::sql_query("SELECT pg_advisory_unlock(7461283)").execute(pg)?;
            result
        }
        DbConnection::Sqlite(lite) => lite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(to_strings)
            .map_err(|e| StoreError::Migration(e.to_string())),
    }
}

/// A transaction that will write. On SQLite it begins with `BEGIN IMMEDIATE`, so it takes the
/// write lock up front and waits on `busy_timeout`, instead of failing with `SQLITE_BUSY` when
/// a read inside a deferred transaction is later upgraded to a write.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    body: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<DieselError>,
{
    let DbConnection::Sqlite(lite) = conn else {
        return conn.transaction(body);
    };
    AnsiTransactionManager::begin_transaction_sql(lite, "BEGIN IMMEDIATE")?;
    match body(conn) {
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// Is the database answering? For `/readyz`.
pub fn ping(conn: &mut DbConnection) -> Result<(), StoreError> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |dir: &str| {
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            v.sort();
            v
        };
        let pg = names("migrations/postgres");
        assert!(!pg.is_empty());
        assert_eq!(pg, names("migrations/sqlite"));
    }
}
