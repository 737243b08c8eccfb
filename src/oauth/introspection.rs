//! Token introspection (RFC 7662) for access and refresh tokens.

use serde::Serialize;

use super::access::{self, BearerError};
use super::jwt::JwtType;
use super::tokens::{self, RefreshClaims};
use super::{secrets, OAuthError, Provider};
use crate::store::refresh_tokens;

/// RFC 7662 §2.2. Fields that do not apply to a token are left out.
#[derive(Debug, Default, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_use: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl Introspection {
    pub fn inactive() -> Self {
        Self::default()
    }
}

pub async fn introspect(provider: &Provider, token: &str) -> Result<Introspection, OAuthError> {
    match access::authenticate(provider, token).await {
        Ok(access) => {
            let c = access.claims;
            return Ok(Introspection {
                active: true,
                scope: Some(c.scope),
                client_id: c.client_id,
                username: access.user.map(|u| u.username),
                token_type: Some("Bearer"),
                token_use: Some("access_token"),
                exp: Some(c.exp),
                iat: Some(c.iat),
                sub: Some(c.sub),
                aud: Some(c.aud),
                iss: Some(c.iss),
                jti: Some(c.jti),
                sid: c.sid,
            });
        }
        Err(BearerError::Server(e)) => return Err(e),
        Err(BearerError::Invalid(_)) => {}
    }
    if !token.contains('.') {
        return introspect_api_token(provider, token).await;
    }
    introspect_refresh(provider, token).await
}

/// An opaque DRF-style token: no `exp` (it never expires), no client.
async fn introspect_api_token(provider: &Provider, key: &str) -> Result<Introspection, OAuthError> {
    match access::authenticate_api_token(provider, key).await {
        Ok(found) => Ok(Introspection {
            active: true,
            scope: Some(found.session.scope),
            username: Some(found.user.username),
            token_type: Some("Token"),
            token_use: Some("api_token"),
            iat: Some(found.session.created_at.and_utc().timestamp()),
            sub: Some(found.user.id),
            iss: Some(provider.issuer.clone()),
            sid: Some(found.session.sid),
            ..Introspection::default()
        }),
        Err(BearerError::Server(e)) => Err(e),
        Err(BearerError::Invalid(_)) => Ok(Introspection::inactive()),
    }
}

/// A refresh token is active while its row is unretired and unexpired, its session live and
/// its user enabled.
async fn introspect_refresh(provider: &Provider, token: &str) -> Result<Introspection, OAuthError> {
    let Ok(claims) = provider.keys.current().verify::<RefreshClaims>(
        token,
        JwtType::Plain,
        &provider.issuer,
        &provider.issuer,
    ) else {
        return Ok(Introspection::inactive());
    };
    if claims.token_type != tokens::REFRESH {
        return Ok(Introspection::inactive());
    }
    let hash = secrets::sha256(token.as_bytes());
    let found = provider
        .db(move |conn| {
            let Some((row, session, user)) =
                refresh_tokens::find_with_session_and_user(conn, &hash)?
            else {
                return Ok(None);
            };
            let now = crate::domain::now();
            if row.retired_at.is_some() || row.expires_at <= now || session.revoked_at.is_some() {
                return Ok(None);
            }
            Ok((!user.disabled).then_some((session, user)))
        })
        .await?;
    let Some((session, user)) = found else {
        return Ok(Introspection::inactive());
    };
    Ok(Introspection {
        active: true,
        scope: Some(session.scope),
        client_id: session.client_id,
        username: Some(user.username),
        token_type: Some("Bearer"),
        token_use: Some("refresh_token"),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        sub: Some(claims.sub),
        aud: Some(claims.aud),
        iss: Some(claims.iss),
        jti: Some(claims.jti),
        sid: Some(claims.sid),
    })
}
