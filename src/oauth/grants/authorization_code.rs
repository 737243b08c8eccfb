//! `authorization_code` (RFC 6749 §4.1.3) with PKCE (RFC 7636) and OpenID Connect ID tokens.
//!
//! A code is single use: a second redemption fails and revokes the session the first one
//! started (RFC 6749 §4.1.2), since one of the two presenters stole it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;

use super::expires_in;
use crate::domain::Scope;
use crate::oauth::authorize::is_pkce_value;
use crate::oauth::clients::Client;
use crate::oauth::events::{self, Actor};
use crate::oauth::jwt::JwtType;
use crate::oauth::sessions;
use crate::oauth::tokens::{IdClaims, TokenResponse};
use crate::oauth::{secrets, OAuthError, Provider};
use crate::store::{self, browser, users};

const INVALID: &str = "the authorization code is invalid, expired or used";

pub async fn exchange(
    provider: &Provider,
    client: &Client,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let hash = secrets::sha256(code.as_bytes());
    let now = crate::domain::now();
    let lookup = hash.clone();
    let row = provider
        .db(move |conn| Ok(browser::find_code(conn, &lookup)?))
        .await?
        .ok_or_else(|| OAuthError::invalid_grant(INVALID))?;
    // Bound to its client, redirect URI and PKCE challenge (RFC 6749 §4.1.3, RFC 7636 §4.6).
    if row.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(INVALID));
    }
    if redirect_uri != Some(row.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&row.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) if is_pkce_value(verifier) => {
            let computed = URL_SAFE_NO_PAD.encode(secrets::sha256(verifier.as_bytes()));
            if !bool::from(computed.as_bytes().ct_eq(challenge.as_bytes())) {
                return Err(OAuthError::invalid_grant(
                    "the code_verifier does not match the code_challenge",
                ));
            }
        }
        (Some(_), _) => {
            return Err(OAuthError::invalid_grant(
                "a valid code_verifier is required",
            ))
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "no code_challenge was sent for this code",
            ))
        }
        (None, None) => {}
    }
    if row.used_at.is_some() {
        return Err(replay(provider, row.sid).await);
    }
    if row.expires_at <= now {
        return Err(OAuthError::invalid_grant(INVALID));
    }
    let user_id = row.user_id.clone();
    let user = provider
        .db(move |conn| Ok(users::find_by_id(conn, &user_id)?))
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| OAuthError::invalid_grant(INVALID))?;
    // Redeem before issuing anything: of two racing redemptions exactly one passes.
    let redeem = hash.clone();
    let first = provider
        .db(move |conn| Ok(browser::use_code(conn, &redeem, now)?))
        .await?;
    if !first {
        let again = hash.clone();
        let sid = provider
            .db(move |conn| Ok(browser::find_code(conn, &again)?.and_then(|r| r.sid)))
            .await?;
        return Err(replay(provider, sid).await);
    }

    let scope = Scope::parse(&row.scope).map_err(OAuthError::internal)?;
    let pair = sessions::start_for_client(
        provider,
        client,
        &user.id,
        &scope,
        row.browser_session.clone(),
    )
    .await?;
    let (sid, code_hash) = (pair.sid.clone(), hash);
    provider
        .db(move |conn| Ok(browser::set_code_session(conn, &code_hash, &sid)?))
        .await?;

    let id_token = if scope.contains("openid") {
        let iat = now.and_utc().timestamp();
        let claims = IdClaims {
            iss: provider.issuer.clone(),
            sub: user.id.clone(),
            aud: client.client_id.clone(),
            exp: iat + expires_in(provider) as i64,
            iat,
            auth_time: row.auth_time.and_utc().timestamp(),
            nonce: row.nonce.clone(),
            sid: pair.sid.clone(),
            azp: client.client_id.clone(),
        };
        Some(
            provider
                .keys
                .current()
                .sign(JwtType::Plain, &claims)
                .map_err(OAuthError::Internal)?,
        )
    } else {
        None
    };
    tracing::info!(event = "login", user_id = %user.id, client_id = %client.client_id, sid = %pair.sid, flow = "authorization_code");
    Ok(TokenResponse {
        access_token: pair.access_token,
        token_type: "Bearer",
        expires_in: expires_in(provider),
        refresh_token: pair.refresh.map(|(token, _)| token),
        scope: scope.to_string(),
        id_token,
    })
}

/// A code presented twice: revoke what the first redemption issued.
async fn replay(provider: &Provider, sid: Option<String>) -> OAuthError {
    if let Some(sid) = sid {
        let result = provider
            .db(move |conn| {
                let now = crate::domain::now();
                if store::sessions::revoke(conn, &sid, now, "authorization_code_reuse")? {
                    let detail = serde_json::json!({ "reason": "an authorization code was presented twice" });
                    events::record(conn, "authorization_code_reuse", Some(&Actor::system()), Some(&sid), detail)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = result {
            return e;
        }
    }
    OAuthError::invalid_grant(INVALID)
}
