//! The connection pool. The backend is chosen from the URL scheme, never by trying each in
//! turn: SQLite accepts almost any string as a path, and a down Postgres would then be
//! reported as an invalid URL.

use std::time::Duration;

use diesel::prelude::*;

use super::{DbConnection, StoreError};
use crate::config::DatabaseUrl;

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => Ok(DbConnection::Postgres(
                diesel::PgConnection::establish(url)?,
            )),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(path)?;
                // WAL lets readers run beside the writer; busy_timeout makes writers queue
                // instead of failing; SQLite leaves foreign keys off unless asked.
                diesel::connection::SimpleConnection::batch_execute(
                    &mut conn,
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;",
                )
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        super::ping(conn).map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
    }

    /// Checked when a connection goes back to the pool: one that failed mid-use (a server
    /// restart, a broken transaction) is dropped instead of handed out again.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// Opens a pool and checks one connection, so a wrong URL or a down server fails here.
pub fn connect(url: &DatabaseUrl, size: u32) -> Result<Pool, StoreError> {
    if let DatabaseUrl::Sqlite(path) = url {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !path.starts_with("file:") && !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| StoreError::Connect(format!("{}: {e}", parent.display())))?;
            }
        }
    }
    let manager = Manager { url: url.clone() };
    // An in-memory SQLite database lives only while a connection is open: keep them all.
    let min_idle = match url {
        DatabaseUrl::Sqlite(path) if path.starts_with("file:") => Some(size),
        _ => None,
    };
    r2d2::Pool::builder()
        .max_size(size)
        // r2d2 checks each connection (`SELECT 1`) as it is handed out. That round trip costs
        // about a tenth of a refresh, but without it a Postgres restart would leave dead
        // connections in the pool until they age out, failing every request that drew one.
        .min_idle(min_idle)
        .connection_timeout(Duration::from_secs(10))
        .build(manager)
        .map_err(|e| StoreError::Connect(e.to_string()))
}
