//! The `clients` table. List-valued fields are stored space-separated: grant types, scope
//! tokens and URIs never contain spaces.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::clients;
use super::{conflict_as, DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Insertable)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    pub client_id: String,
    pub name: String,
    pub client_type: String,
    /// SHA-256 of the secret; `None` for public clients.
    pub secret_hash: Option<Vec<u8>>,
    pub grant_types: String,
    pub redirect_uris: String,
    pub scopes: String,
    pub audience: Option<String>,
    pub created_at: NaiveDateTime,
    /// Skips the consent page (the client is the operator's own).
    pub first_party: bool,
}

pub fn insert(conn: &mut DbConnection, client: &ClientRow) -> Result<(), StoreError> {
    diesel::insert_into(clients::table)
        .values(client)
        .execute(conn)
        .map_err(conflict_as("client"))?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, client_id: &str) -> Result<Option<ClientRow>, StoreError> {
    Ok(clients::table.find(client_id).first(conn).optional()?)
}

pub fn list(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ClientRow>, StoreError> {
    let mut query = clients::table
        .order(clients::client_id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(clients::client_id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

pub fn delete(conn: &mut DbConnection, client_id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(clients::table.find(client_id)).execute(conn)? == 1)
}
