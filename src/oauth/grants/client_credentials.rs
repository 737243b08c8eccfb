//! `client_credentials` (RFC 6749 §4.4): a client acting for itself. An access token only,
//! no refresh token and no session; `sub` is the client's id.

use super::expires_in;
use crate::oauth::clients::Client;
use crate::oauth::jwt::JwtType;
use crate::oauth::tokens::{self, AccessClaims, TokenResponse};
use crate::oauth::{OAuthError, Provider};

pub fn exchange(
    provider: &Provider,
    client: &Client,
    scope: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let scope = client.resolve_scope(scope)?;
    let iat = crate::domain::now().and_utc().timestamp();
    let claims = AccessClaims {
        iss: provider.issuer.clone(),
        sub: client.client_id.clone(),
        aud: client
            .audience
            .clone()
            .unwrap_or_else(|| provider.settings.audience.clone()),
        exp: iat + expires_in(provider) as i64,
        iat,
        jti: tokens::new_jti(),
        client_id: Some(client.client_id.clone()),
        scope: scope.to_string(),
        sid: None,
        token_type: tokens::ACCESS.into(),
        user_id: None,
    };
    let access_token = provider
        .keys
        .current()
        .sign(JwtType::Access, &claims)
        .map_err(OAuthError::Internal)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: expires_in(provider),
        refresh_token: None,
        scope: claims.scope,
        id_token: None,
    })
}
