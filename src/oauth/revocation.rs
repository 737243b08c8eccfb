//! Token revocation (RFC 7009). Revoking a refresh token or an access token ends its session:
//! the refresh tokens fail at once, the access tokens turn inactive, and the session enters
//! the revocation feed for offline verifiers.

use super::clients::Client;
use super::events::{self, Actor};
use super::jwt::JwtType;
use super::keys::VerifyError;
use super::tokens::{AccessClaims, RefreshClaims};
use super::{OAuthError, Provider};
use crate::store::sessions;

/// Revokes the session behind `token`. Unknown, malformed and expired tokens are a success with
/// nothing to do (RFC 7009 §2.2); a token of another client is refused.
pub async fn revoke(provider: &Provider, client: &Client, token: &str) -> Result<(), OAuthError> {
    let sid = match session_of(provider, token) {
        Some(sid) => Some(sid),
        None if !token.contains('.') => api_token_session(provider, token).await?,
        None => None,
    };
    let Some(sid) = sid else {
        return Ok(());
    };
    let client_id = client.client_id.clone();
    provider
        .db(move |conn| {
            let Some(session) = sessions::find(conn, &sid)? else {
                return Ok(());
            };
            // Tokens of the simplejwt-compatible endpoints belong to no client: any
            // authenticated client may revoke them.
            if session.client_id.as_ref().is_some_and(|owner| *owner != client_id) {
                return Err(OAuthError::UnauthorizedClient(
                    "the token was issued to another client".into(),
                ));
            }
            let now = crate::domain::now();
            if sessions::revoke(conn, &sid, now, "revoked_by_client")? {
                let actor = Actor(format!("client:{client_id}"));
                events::record(
                    conn,
                    "session_revoked",
                    Some(&actor),
                    Some(&sid),
                    serde_json::json!({ "reason": "revoked_by_client", "user_id": session.user_id }),
                )?;
            }
            Ok(())
        })
        .await
}

/// The session id a token of ours names, if its signature holds and it has not expired.
fn session_of(provider: &Provider, token: &str) -> Option<String> {
    let keys = provider.keys.current();
    let refresh =
        keys.verify::<RefreshClaims>(token, JwtType::Plain, &provider.issuer, &provider.issuer);
    match refresh {
        Ok(claims) => return Some(claims.sid),
        Err(VerifyError::Expired) => return None,
        Err(_) => {}
    }
    keys.verify_for::<AccessClaims>(token, JwtType::Access, &provider.issuer, None)
        .ok()
        .and_then(|claims| claims.sid)
}

/// The session of an opaque API token, revoked or not.
async fn api_token_session(provider: &Provider, key: &str) -> Result<Option<String>, OAuthError> {
    let hash = super::secrets::sha256(key.as_bytes());
    provider
        .db(move |conn| Ok(crate::store::api_tokens::find_session(conn, &hash)?.map(|s| s.sid)))
        .await
}
