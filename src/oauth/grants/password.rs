//! The resource owner password grant (RFC 6749 §4.3). Kept for first-party and migrated
//! clients; RFC 9700 §2.4 steers new browser and mobile clients to the authorization code flow.

use super::expires_in;
use crate::domain::Password;
use crate::oauth::clients::Client;
use crate::oauth::events;
use crate::oauth::sessions;
use crate::oauth::tokens::TokenResponse;
use crate::oauth::{OAuthError, Provider};
use crate::store::users::{self, UserRow};

/// Checks a username and password. Unknown users cost a dummy argon2 verify, and every failure
/// (unknown user, wrong password, disabled user) looks the same from outside.
pub async fn check_credentials(
    provider: &Provider,
    username: String,
    password: String,
) -> Result<Option<UserRow>, OAuthError> {
    let password = Password::for_login(password);
    let lookup = username.clone();
    let user = if username.len() <= 150 {
        provider
            .db(move |conn| Ok(users::find_by_username(conn, &lookup)?))
            .await?
    } else {
        None
    };
    let ok = provider
        .passwords
        .verify(&password, user.as_ref().map(|u| u.password_hash.clone()))
        .await
        .map_err(OAuthError::internal)?;
    match user {
        Some(user) if ok && !user.disabled => {
            if crate::oauth::passwords::needs_rehash(&user.password_hash) {
                upgrade_hash(provider, &user.id, &password).await?;
            }
            Ok(Some(user))
        }
        other => {
            provider.metrics.failed_logins.inc();
            let subject = other.map(|u| u.id);
            provider
                .db(move |conn| {
                    // Bounded: a username is at most 150 characters, whatever an attacker sends.
                    let shown: String = username.chars().take(150).collect();
                    let detail = serde_json::json!({ "username": shown });
                    Ok(events::record(
                        conn,
                        "login_failed",
                        None,
                        subject.as_deref(),
                        detail,
                    )?)
                })
                .await?;
            Ok(None)
        }
    }
}

pub async fn exchange(
    provider: &Provider,
    client: &Client,
    username: String,
    password: String,
    scope: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let scope = client.resolve_scope(scope)?;
    let user = check_credentials(provider, username, password)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("invalid username or password"))?;
    let pair = sessions::start_for_client(provider, client, &user.id, &scope, None).await?;
    tracing::info!(event = "login", user_id = %user.id, client_id = %client.client_id, sid = %pair.sid);
    Ok(TokenResponse {
        access_token: pair.access_token,
        token_type: "Bearer",
        expires_in: expires_in(provider),
        refresh_token: pair.refresh.map(|(token, _)| token),
        scope: scope.to_string(),
        id_token: None,
    })
}

/// Replaces an imported (Django) hash with Tessera's argon2id once the password is known.
async fn upgrade_hash(
    provider: &Provider,
    user_id: &str,
    password: &Password,
) -> Result<(), OAuthError> {
    let hash = provider
        .passwords
        .hash(password)
        .await
        .map_err(OAuthError::internal)?;
    let id = user_id.to_owned();
    provider
        .db(move |conn| {
            let changes = users::UserChanges {
                password_hash: Some(hash),
                updated_at: Some(crate::domain::now()),
                ..Default::default()
            };
            users::update(conn, &id, &changes)?;
            Ok(())
        })
        .await?;
    tracing::info!(event = "password_rehashed", user_id = %user_id, "imported password hash replaced by argon2id");
    Ok(())
}
