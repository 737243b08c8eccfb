//! Django REST Framework compatibility (CONTRACT §4): djangorestframework-simplejwt's token
//! pair endpoints and DRF's authtoken. Their sessions belong to no registered client and
//! their access tokens carry `TESSERA_AUDIENCE`.

use chrono::NaiveDate;

use super::grants::{password, refresh_token};
use super::introspection;
use super::sessions::{self, Subject};
use super::{secrets, OAuthError, Provider};
use crate::domain::Scope;
use crate::store::{self, api_tokens, sessions as session_rows};

#[derive(Debug, thiserror::Error)]
pub enum DrfError {
    /// Wrong username or password, or a disabled user.
    #[error("bad credentials")]
    BadCredentials,
    /// simplejwt's `token_not_valid`.
    #[error("token not valid")]
    TokenNotValid,
    #[error(transparent)]
    Server(OAuthError),
}

impl From<OAuthError> for DrfError {
    fn from(e: OAuthError) -> Self {
        match e {
            OAuthError::Internal(_) | OAuthError::Unavailable(_) => Self::Server(e),
            _ => Self::TokenNotValid,
        }
    }
}

pub struct Pair {
    pub access: String,
    pub refresh: String,
}

/// `POST /api/token/`: a login that starts a session.
pub async fn obtain_pair(
    provider: &Provider,
    username: String,
    password: String,
) -> Result<Pair, DrfError> {
    let user = password::check_credentials(provider, username, password)
        .await
        .map_err(DrfError::Server)?
        .ok_or(DrfError::BadCredentials)?;
    let scope = Scope::default();
    let subject = Subject {
        user_id: &user.id,
        client_id: None,
        audience: &provider.settings.audience,
        scope: &scope,
    };
    let pair = sessions::start(provider, subject, "oauth", true, None)
        .await
        .map_err(DrfError::Server)?;
    let (refresh, _) = pair.refresh.expect("a refresh token was asked for");
    Ok(Pair {
        access: pair.access_token,
        refresh,
    })
}

/// `POST /api/token/refresh/`: rotation and reuse detection exactly as at the token endpoint.
pub async fn refresh_pair(provider: &Provider, token: &str) -> Result<Pair, DrfError> {
    let response = refresh_token::exchange(provider, None, token, None).await?;
    Ok(Pair {
        access: response.access_token,
        refresh: response.refresh_token.expect("a refresh always rotates"),
    })
}

/// `POST /api/token/verify/`: any live token of ours.
pub async fn verify(provider: &Provider, token: &str) -> Result<(), DrfError> {
    let answer = introspection::introspect(provider, token)
        .await
        .map_err(DrfError::Server)?;
    if answer.active {
        Ok(())
    } else {
        Err(DrfError::TokenNotValid)
    }
}

/// `POST /api/token/blacklist/`: ends the refresh token's session.
pub async fn blacklist(provider: &Provider, token: &str) -> Result<(), DrfError> {
    let answer = introspection::introspect(provider, token)
        .await
        .map_err(DrfError::Server)?;
    let (true, Some("refresh_token"), Some(sid)) = (answer.active, answer.token_use, answer.sid)
    else {
        return Err(DrfError::TokenNotValid);
    };
    provider
        .db(move |conn| {
            session_rows::revoke(conn, &sid, crate::domain::now(), "blacklisted")?;
            Ok(())
        })
        .await
        .map_err(DrfError::Server)
}

/// `POST /api-token-auth/`: a new opaque token (256 random bits, stored as SHA-256), its own
/// session. DRF would hand back the same key on every call; Tessera cannot, since it keeps
/// only the hash.
pub async fn obtain_api_token(
    provider: &Provider,
    username: String,
    password: String,
) -> Result<String, DrfError> {
    let user = password::check_credentials(provider, username, password)
        .await
        .map_err(DrfError::Server)?
        .ok_or(DrfError::BadCredentials)?;
    let key = secrets::random_token(32);
    let hash = secrets::sha256(key.as_bytes());
    let now = crate::domain::now();
    // An API token never expires; it lives until revoked. No JWT is ever issued in its
    // session, so its feed entry (if revoked) is born expired.
    let forever = NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a valid date");
    let session = session_rows::SessionRow {
        sid: uuid::Uuid::now_v7().to_string(),
        user_id: user.id.clone(),
        client_id: None,
        kind: "api_token".into(),
        scope: String::new(),
        created_at: now,
        last_used_at: now,
        expires_at: forever,
        access_expires_at: now,
        revoked_at: None,
        revoked_reason: None,
        browser_session: None,
    };
    provider
        .db(move |conn| {
            store::write_transaction(conn, |conn| {
                session_rows::insert(conn, &session)?;
                api_tokens::insert(conn, &hash, &session.sid, now)?;
                Ok::<_, OAuthError>(())
            })
        })
        .await
        .map_err(DrfError::Server)?;
    tracing::info!(event = "login", user_id = %user.id, kind = "api_token");
    Ok(key)
}
