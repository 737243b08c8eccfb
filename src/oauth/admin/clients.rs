//! Client administration.

use serde::Deserialize;

use super::{AdminError, Page, Paging};
use crate::domain::{ClientType, GrantType};
use crate::oauth::clients::{self as registry, ClientError, ClientView, NewClient};
use crate::oauth::events::{self, Actor};
use crate::oauth::OAuthError;
use crate::store::{self, clients, sessions, DbConnection};

/// The POST body: a client without `client_id` and `created_at`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    pub name: String,
    #[serde(default = "confidential")]
    pub client_type: String,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub first_party: bool,
}

fn confidential() -> String {
    "confidential".into()
}

impl CreateClient {
    pub fn parse(self) -> Result<NewClient, AdminError> {
        let client_type: ClientType = self
            .client_type
            .parse()
            .map_err(AdminError::InvalidRequest)?;
        let grant_types = self
            .grant_types
            .iter()
            .map(|g| g.parse::<GrantType>())
            .collect::<Result<_, _>>()
            .map_err(AdminError::InvalidRequest)?;
        Ok(NewClient {
            name: self.name,
            client_type,
            grant_types,
            redirect_uris: self.redirect_uris,
            scopes: self.scopes,
            audience: self.audience,
            first_party: self.first_party,
        })
    }
}

pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    new: NewClient,
) -> Result<ClientView, AdminError> {
    let view = registry::register(conn, new).map_err(|e| match e {
        ClientError::Invalid(why) => AdminError::InvalidRequest(why),
        ClientError::Store(e) => e.into(),
    })?;
    events::record(
        conn,
        "client_created",
        Some(actor),
        Some(&view.client_id),
        serde_json::json!({
            "name": view.name, "client_type": view.client_type, "grant_types": view.grant_types,
        }),
    )?;
    Ok(view)
}

pub fn list(conn: &mut DbConnection, paging: &Paging) -> Result<Page<ClientView>, AdminError> {
    let rows = clients::list(conn, paging.cursor.as_deref(), paging.limit + 1)?;
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        let client = registry::Client::try_from(row)
            .map_err(|e| AdminError::Server(OAuthError::Internal(e)))?;
        views.push(client.view());
    }
    Ok(paging.page(views, |c| c.client_id.clone(), |c| c))
}

pub fn get(conn: &mut DbConnection, client_id: &str) -> Result<ClientView, AdminError> {
    registry::find(conn, client_id)?
        .map(|c| c.view())
        .ok_or(AdminError::NotFound("client"))
}

/// Deletes a client and revokes the sessions it holds, so its tokens stop at once.
pub fn delete(conn: &mut DbConnection, actor: &Actor, client_id: &str) -> Result<(), AdminError> {
    store::write_transaction(conn, |conn| {
        let client = get(conn, client_id)?;
        let revoked =
            sessions::revoke_client(conn, client_id, crate::domain::now(), "client_deleted")?;
        clients::delete(conn, client_id)?;
        events::record(
            conn,
            "client_deleted",
            Some(actor),
            Some(client_id),
            serde_json::json!({
                "name": client.name, "sessions_revoked": revoked.len(),
            }),
        )?;
        Ok(())
    })
}
