//! Administration: users, clients, sessions, keys and the audit trail (CONTRACT §6). The
//! operations are plain blocking functions over a connection, shared by the admin API and the
//! CLI; `authorize` decides who may call the API.

pub mod clients;
pub mod sessions;
pub mod users;

use serde::Serialize;

use super::access::{self, BearerError};
use super::events::Actor;
use super::{OAuthError, Provider};
use crate::store::{events, DbConnection, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    InvalidRequest(String),
    /// Missing, malformed, expired or revoked bearer token: 401.
    #[error("{0}")]
    InvalidToken(String),
    /// A valid token without the admin role or scope: 403.
    #[error("an admin user's token or a client token with scope admin is required")]
    InsufficientScope,
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Server(OAuthError),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::Conflict(format!("{what} already exists")),
            other => Self::Server(other.into()),
        }
    }
}

impl From<OAuthError> for AdminError {
    fn from(e: OAuthError) -> Self {
        Self::Server(e)
    }
}

impl From<diesel::result::Error> for AdminError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}

/// Checks the bearer token of an admin API request.
pub async fn authorize(provider: &Provider, bearer: Option<&str>) -> Result<Actor, AdminError> {
    let token =
        bearer.ok_or_else(|| AdminError::InvalidToken("a bearer token is required".into()))?;
    let access = access::authenticate(provider, token)
        .await
        .map_err(|e| match e {
            BearerError::Invalid(why) => AdminError::InvalidToken(why.into()),
            BearerError::Server(e) => AdminError::Server(e),
        })?;
    match &access.user {
        Some(user) if user.is_admin => Ok(Actor(format!("user:{}", user.id))),
        Some(_) => Err(AdminError::InsufficientScope),
        None if access.claims.scope.split(' ').any(|s| s == "admin") => {
            Ok(Actor(format!("client:{}", access.claims.sub)))
        }
        None => Err(AdminError::InsufficientScope),
    }
}

/// One page of a list (CONTRACT §6): `next` is the cursor of the following page.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// `limit` and `cursor` of a list request.
#[derive(Debug, Clone)]
pub struct Paging {
    pub limit: i64,
    pub cursor: Option<String>,
}

impl Paging {
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, AdminError> {
        let limit = match limit {
            None => 100,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| AdminError::InvalidRequest("limit must be from 1 to 1000".into()))?,
        };
        let cursor = cursor.filter(|c| !c.is_empty()).map(str::to_owned);
        Ok(Self { limit, cursor })
    }

    /// Builds a page from up to `limit + 1` rows fetched after the cursor.
    pub fn page<R, T>(
        &self,
        mut rows: Vec<R>,
        key: impl Fn(&R) -> String,
        view: impl Fn(R) -> T,
    ) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next = if more { rows.last().map(&key) } else { None };
        Page {
            items: rows.into_iter().map(view).collect(),
            next,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EventView {
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub actor: Option<String>,
    pub subject: Option<String>,
    pub detail: serde_json::Value,
}

pub fn list_events(
    conn: &mut DbConnection,
    paging: &Paging,
) -> Result<Page<EventView>, AdminError> {
    let after = match &paging.cursor {
        None => 0,
        Some(c) => c.parse::<i64>().map_err(|_| {
            AdminError::InvalidRequest("cursor is not one this server issued".into())
        })?,
    };
    let rows = events::page(conn, after, paging.limit + 1)?;
    Ok(paging.page(
        rows,
        |r| r.seq.to_string(),
        |r| EventView {
            seq: r.seq,
            at: super::users::rfc3339(r.at),
            kind: r.kind,
            actor: r.actor,
            subject: r.subject,
            detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
        },
    ))
}
