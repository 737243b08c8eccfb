//! Users: creation, lookup and the views the admin API and `--json` print.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::domain::{Email, Password, Username};
use crate::store::users::{self as store, UserRow};
use crate::store::{DbConnection, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub admin: bool,
    pub disabled: bool,
    pub created_at: String,
}

impl From<&UserRow> for UserView {
    fn from(row: &UserRow) -> Self {
        Self {
            id: row.id.clone(),
            username: row.username.clone(),
            email: row.email.clone(),
            admin: row.is_admin,
            disabled: row.disabled,
            created_at: rfc3339(row.created_at),
        }
    }
}

/// RFC 3339 in UTC, as the admin API shows every timestamp.
pub fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub struct NewUser {
    pub username: Username,
    pub email: Option<Email>,
    pub admin: bool,
}

/// Stores a user whose password is already hashed (hashing is slow: callers do it off the
/// request workers). A taken username is `StoreError::Conflict`.
pub fn create(
    conn: &mut DbConnection,
    new: NewUser,
    password_hash: String,
) -> Result<UserView, StoreError> {
    let now = crate::domain::now();
    let row = UserRow {
        id: uuid::Uuid::new_v4().to_string(),
        username: new.username.as_str().to_owned(),
        email: new.email.map(|e| e.as_str().to_owned()),
        password_hash,
        is_admin: new.admin,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    store::insert(conn, &row)?;
    Ok(UserView::from(&row))
}

/// Creates the `TESSERA_BOOTSTRAP_ADMIN` user unless that username exists. Blocking.
pub fn ensure_bootstrap_admin(
    conn: &mut DbConnection,
    username: &str,
    password: &str,
) -> anyhow::Result<bool> {
    let username =
        Username::parse(username).map_err(|e| anyhow::anyhow!("TESSERA_BOOTSTRAP_ADMIN: {e}"))?;
    if store::find_by_username(conn, username.as_str())?.is_some() {
        return Ok(false);
    }
    let password = Password::parse(password.to_owned())
        .map_err(|e| anyhow::anyhow!("TESSERA_BOOTSTRAP_ADMIN: {e}"))?;
    let hash = super::passwords::hash_blocking(password.expose())?;
    match create(
        conn,
        NewUser {
            username,
            email: None,
            admin: true,
        },
        hash,
    ) {
        Ok(_) => Ok(true),
        // Another instance created it first.
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
