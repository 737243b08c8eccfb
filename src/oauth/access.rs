//! Bearer access tokens presented to Tessera itself (userinfo, the admin API): the signature
//! and claims, then the live state — a revoked session or a disabled user ends a token before
//! its `exp`.

use super::jwt::JwtType;
use super::tokens::{self, AccessClaims};
use super::{OAuthError, Provider};
use crate::store::users::UserRow;
use crate::store::{clients, sessions, users};

/// A verified, live access token.
#[derive(Debug)]
pub struct Access {
    pub claims: AccessClaims,
    /// The user, for user tokens; `None` for `client_credentials` tokens.
    pub user: Option<UserRow>,
}

/// Why a bearer token was refused: said to the client as `invalid_token` (RFC 6750 §3.1).
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    #[error("{0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Server(#[from] OAuthError),
}

/// Verifies an access token of ours and checks it is still live.
pub async fn authenticate(provider: &Provider, token: &str) -> Result<Access, BearerError> {
    let claims: AccessClaims = provider
        .keys
        .current()
        .verify_for(token, JwtType::Access, &provider.issuer, None)
        .map_err(|_| BearerError::Invalid("the access token is invalid or expired"))?;
    if claims.token_type != tokens::ACCESS {
        return Err(BearerError::Invalid("not an access token"));
    }
    let (sid, sub) = (claims.sid.clone(), claims.sub.clone());
    let client_id = claims.client_id.clone();
    let live = provider
        .db(move |conn| {
            let Some(sid) = sid else {
                // A client's own token: live while the client is registered.
                let exists = match &client_id {
                    Some(id) => clients::find(conn, id)?.is_some(),
                    None => false,
                };
                return Ok(exists.then_some(None));
            };
            let session = sessions::find(conn, &sid)?;
            if session.is_none_or(|s| s.revoked_at.is_some() || s.user_id != sub) {
                return Ok(None);
            }
            let user = users::find_by_id(conn, &sub)?.filter(|u| !u.disabled);
            Ok(user.map(Some))
        })
        .await?;
    match live {
        Some(user) => Ok(Access { claims, user }),
        None => Err(BearerError::Invalid("the access token has been revoked")),
    }
}

/// A live DRF-style opaque token (`Authorization: Token KEY`).
#[derive(Debug)]
pub struct ApiTokenAccess {
    pub session: crate::store::sessions::SessionRow,
    pub user: UserRow,
}

/// Checks an opaque API token: known, session live, user enabled.
pub async fn authenticate_api_token(
    provider: &Provider,
    key: &str,
) -> Result<ApiTokenAccess, BearerError> {
    // Our keys are 43 base64url characters; anything else cannot be one.
    if key.len() != 43
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(BearerError::Invalid("the token is invalid"));
    }
    let hash = super::secrets::sha256(key.as_bytes());
    let found = provider
        .db(move |conn| {
            let Some(session) = crate::store::api_tokens::find_session(conn, &hash)? else {
                return Ok(None);
            };
            if session.revoked_at.is_some() {
                return Ok(None);
            }
            let user = users::find_by_id(conn, &session.user_id)?.filter(|u| !u.disabled);
            Ok(user.map(|user| ApiTokenAccess { session, user }))
        })
        .await?;
    found.ok_or(BearerError::Invalid("the token is invalid or revoked"))
}
