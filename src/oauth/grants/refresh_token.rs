//! `refresh_token` (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14).
//!
//! Every refresh retires the presented token and issues a successor, in one transaction whose
//! guard is a conditional `UPDATE … WHERE retired_at IS NULL`: of N concurrent refreshes of
//! one token exactly one changes the row. A retired token presented again is reuse — it may
//! have been stolen — and revokes the whole session, unless it comes within
//! `TESSERA_REFRESH_REUSE_GRACE` of the rotation (a client that lost the response).

use chrono::{NaiveDateTime, TimeDelta};

use super::expires_in;
use crate::domain::Scope;
use crate::oauth::clients::Client;
use crate::oauth::events::{self, Actor};
use crate::oauth::jwt::JwtType;
use crate::oauth::sessions::{self, Subject};
use crate::oauth::tokens::{self, RefreshClaims, TokenResponse};
use crate::oauth::{secrets, OAuthError, Provider};
use crate::store::{self, refresh_tokens, users};

const INVALID: &str = "the refresh token is invalid, expired or revoked";

enum Rotation {
    Rotated,
    /// Another request retired the token first.
    AlreadyRetired,
    /// The session was revoked between the read and the write.
    SessionRevoked,
}

/// Rotates `token`. `client` is the authenticated client, or `None` at the
/// simplejwt-compatible endpoint, whose sessions belong to no client.
pub async fn exchange(
    provider: &Provider,
    client: Option<&Client>,
    token: &str,
    scope: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let claims: RefreshClaims = provider
        .keys
        .current()
        .verify(token, JwtType::Plain, &provider.issuer, &provider.issuer)
        .map_err(|_| OAuthError::invalid_grant(INVALID))?;
    if claims.token_type != tokens::REFRESH {
        return Err(OAuthError::invalid_grant(INVALID));
    }
    let token_hash = secrets::sha256(token.as_bytes());

    let lookup_hash = token_hash.clone();
    let found = provider
        .db(move |conn| {
            let Some((row, session)) = refresh_tokens::find_with_session(conn, &lookup_hash)?
            else {
                return Ok(None);
            };
            let user = users::find_by_id(conn, &session.user_id)?;
            Ok(Some((row, session, user)))
        })
        .await?;
    let Some((row, session, user)) = found else {
        return Err(OAuthError::invalid_grant(INVALID));
    };
    // RFC 6749 §6: the token is bound to the client it was issued to.
    if session.client_id.as_deref() != client.map(|c| c.client_id.as_str()) {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if session.revoked_at.is_some() {
        return Err(OAuthError::invalid_grant(INVALID));
    }
    if let Some(retired_at) = row.retired_at {
        return Err(reuse(provider, &session.sid, Some(retired_at), token_hash).await);
    }
    let now = crate::domain::now();
    if row.expires_at <= now || session.expires_at <= now {
        return Err(OAuthError::invalid_grant(INVALID));
    }
    let Some(user) = user.filter(|u| !u.disabled) else {
        return Err(OAuthError::invalid_grant(INVALID));
    };

    // RFC 6749 §6: the scope may narrow, never widen, what the login granted.
    let granted = Scope::parse(&session.scope).map_err(OAuthError::internal)?;
    let scope = match scope {
        None => granted.clone(),
        Some(raw) => {
            let requested =
                Scope::parse(raw).map_err(|e| OAuthError::InvalidScope(e.to_string()))?;
            if !requested.is_subset_of(&granted) {
                return Err(OAuthError::InvalidScope(
                    "a refresh cannot widen the granted scope".into(),
                ));
            }
            requested
        }
    };

    let audience = client
        .and_then(|c| c.audience.as_deref())
        .unwrap_or(&provider.settings.audience);
    let subject = Subject {
        user_id: &user.id,
        client_id: client.map(|c| c.client_id.as_str()),
        audience,
        scope: &scope,
    };
    // Sign before the transaction, so no row lock is held across two RSA signatures.
    let pair = sessions::sign_pair(
        provider,
        &subject,
        &session.sid,
        session.expires_at,
        now,
        true,
    )?;
    let (refresh_token, new_row) = pair
        .refresh
        .expect("a refresh always issues a refresh token");

    let sid = session.sid.clone();
    let retire_hash = token_hash.clone();
    let access_expires_at = pair.access_expires_at;
    let outcome = provider
        .db(move |conn| {
            store::write_transaction(conn, |conn| {
                if !refresh_tokens::retire(conn, &retire_hash, now)? {
                    return Ok::<_, OAuthError>(Rotation::AlreadyRetired);
                }
                if !store::sessions::touch_live(conn, &sid, now, access_expires_at)? {
                    return Ok(Rotation::SessionRevoked);
                }
                refresh_tokens::insert(conn, &new_row)?;
                Ok(Rotation::Rotated)
            })
        })
        .await?;
    match outcome {
        Rotation::Rotated => Ok(TokenResponse {
            access_token: pair.access_token,
            token_type: "Bearer",
            expires_in: expires_in(provider),
            refresh_token: Some(refresh_token),
            scope: scope.to_string(),
            id_token: None,
        }),
        Rotation::AlreadyRetired => Err(reuse(provider, &session.sid, None, token_hash).await),
        Rotation::SessionRevoked => Err(OAuthError::invalid_grant(INVALID)),
    }
}

/// A retired token was presented: revoke the session unless within the grace period.
async fn reuse(
    provider: &Provider,
    sid: &str,
    retired_at: Option<NaiveDateTime>,
    token_hash: Vec<u8>,
) -> OAuthError {
    let grace = TimeDelta::from_std(provider.settings.refresh_reuse_grace)
        .expect("grace is bounded by the configuration");
    let sid_owned = sid.to_owned();
    let result = provider
        .db(move |conn| {
            let now = crate::domain::now();
            let retired_at = match retired_at {
                Some(t) => Some(t),
                None => refresh_tokens::retired_at(conn, &token_hash)?,
            };
            if retired_at.is_some_and(|t| now < t + grace) {
                return Ok(false);
            }
            let revoked = store::sessions::revoke(conn, &sid_owned, now, "refresh_token_reuse")?;
            if revoked {
                let detail =
                    serde_json::json!({ "reason": "a retired refresh token was presented again" });
                events::record(
                    conn,
                    "refresh_token_reuse",
                    Some(&Actor::system()),
                    Some(&sid_owned),
                    detail,
                )?;
            }
            Ok(revoked)
        })
        .await;
    match result {
        Ok(true) => {
            provider.metrics.refresh_reuse_detected.inc();
            tracing::warn!(event = "refresh_token_reuse", sid = %sid, "retired refresh token presented again; session revoked");
            OAuthError::invalid_grant("the refresh token was already used; the session is revoked")
        }
        Ok(false) => OAuthError::invalid_grant("the refresh token was already used"),
        Err(e) => e,
    }
}
