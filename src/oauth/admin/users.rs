//! User administration.

use serde::Deserialize;

use super::{AdminError, Page, Paging};
use crate::domain::{Email, Username};
use crate::oauth::events::{self, Actor};
use crate::oauth::users::{self as accounts, NewUser, UserView};
use crate::store::users::{self, UserChanges};
use crate::store::{self, sessions, DbConnection};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub admin: bool,
}

/// A PATCH body: absent fields stay as they are; `"email": null` clears the email.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default, with = "double_option")]
    pub email: Option<Option<String>>,
    #[serde(default)]
    pub admin: Option<bool>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

pub fn parse_new(body: &CreateUser) -> Result<NewUser, AdminError> {
    let invalid =
        |e: crate::domain::user::UserInputError| AdminError::InvalidRequest(e.to_string());
    Ok(NewUser {
        username: Username::parse(&body.username).map_err(invalid)?,
        email: body
            .email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(invalid)?,
        admin: body.admin,
    })
}

/// Stores a new user whose password the caller has hashed.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    new: NewUser,
    password_hash: String,
) -> Result<UserView, AdminError> {
    let user = accounts::create(conn, new, password_hash)?;
    events::record(
        conn,
        "user_created",
        Some(actor),
        Some(&user.id),
        serde_json::json!({
            "username": user.username, "admin": user.admin,
        }),
    )?;
    Ok(user)
}

pub fn list(conn: &mut DbConnection, paging: &Paging) -> Result<Page<UserView>, AdminError> {
    let rows = users::list(conn, paging.cursor.as_deref(), paging.limit + 1)?;
    Ok(paging.page(rows, |u| u.id.clone(), |u| UserView::from(&u)))
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<UserView, AdminError> {
    users::find_by_id(conn, id)?
        .map(|u| UserView::from(&u))
        .ok_or(AdminError::NotFound("user"))
}

/// Finds a user by id, or else by username (the CLI takes either).
pub fn find(conn: &mut DbConnection, id_or_username: &str) -> Result<UserView, AdminError> {
    if let Some(u) = users::find_by_id(conn, id_or_username)? {
        return Ok(UserView::from(&u));
    }
    users::find_by_username(conn, id_or_username)?
        .map(|u| UserView::from(&u))
        .ok_or(AdminError::NotFound("user"))
}

/// Applies a PATCH whose new password, if any, is already hashed. Disabling a user revokes all
/// of the user's sessions in the same transaction.
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    patch: &PatchUser,
    password_hash: Option<String>,
) -> Result<UserView, AdminError> {
    let email = match &patch.email {
        Some(Some(raw)) => Some(Some(
            Email::parse(raw)
                .map_err(|e| AdminError::InvalidRequest(e.to_string()))?
                .as_str()
                .to_owned(),
        )),
        Some(None) => Some(None),
        None => None,
    };
    let now = crate::domain::now();
    let changes = UserChanges {
        password_hash,
        email,
        is_admin: patch.admin,
        disabled: patch.disabled,
        updated_at: Some(now),
    };
    store::write_transaction(conn, |conn| {
        if !users::update(conn, id, &changes)? {
            return Err(AdminError::NotFound("user"));
        }
        let mut changed: Vec<&str> = Vec::new();
        if patch.password.is_some() {
            changed.push("password");
        }
        if patch.email.is_some() {
            changed.push("email");
        }
        if patch.admin.is_some() {
            changed.push("admin");
        }
        if patch.disabled.is_some() {
            changed.push("disabled");
        }
        let revoked = if patch.disabled == Some(true) {
            sessions::revoke_user(conn, id, now, "user_disabled")?
        } else {
            Vec::new()
        };
        events::record(
            conn,
            "user_updated",
            Some(actor),
            Some(id),
            serde_json::json!({
                "changed": changed, "sessions_revoked": revoked.len(),
            }),
        )?;
        get(conn, id)
    })
}

/// Deletes a user after revoking all of the user's sessions.
pub fn delete(conn: &mut DbConnection, actor: &Actor, id: &str) -> Result<(), AdminError> {
    store::write_transaction(conn, |conn| {
        let user = get(conn, id)?;
        let revoked = sessions::revoke_user(conn, id, crate::domain::now(), "user_deleted")?;
        users::delete(conn, id)?;
        events::record(
            conn,
            "user_deleted",
            Some(actor),
            Some(id),
            serde_json::json!({
                "username": user.username, "sessions_revoked": revoked.len(),
            }),
        )?;
        Ok(())
    })
}
