//! `refresh_token` (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14).
//!
//! Every refresh retires the presented token and issues a successor, in one transaction whose
//! guard is a conditional `UPDATE … WHERE retired_at IS NULL`: of N concurrent refreshes of
//! one token exactly one changes the row. A retired token presented again is reuse — it may
//! have been stolen — and revokes the whole session, unless it comes within
//! `TESSERA_REFRESH_REUSE_GRACE` of the rotation (a client that lost the response).
//!
//! The reads, the two signatures and the write transaction run in one task on the blocking
//! pool: a rotation costs one hand-off between threads, not three.

use chrono::{NaiveDateTime, TimeDelta};

use super::expires_in;
use crate::domain::Scope;
use crate::oauth::clients::Client;
use crate::oauth::events::{self, Actor};
use crate::oauth::jwt::JwtType;
use crate::oauth::sessions::{self, Mint, Subject};
use crate::oauth::tokens::{self, RefreshClaims, TokenResponse};
use crate::oauth::{secrets, OAuthError, Provider};
use crate::store::refresh_tokens::{self, Rotation};
use crate::store::{self, DbConnection};

const INVALID: &str = "the refresh token is invalid, expired or revoked";

/// How a rotation attempt ended.
enum Outcome {
    Rotated {
        access_token: String,
        refresh_token: String,
        scope: Scope,
    },
    /// A retired token: reuse. `revoked` says whether this attempt revoked the session.
    Reused { sid: String, revoked: bool },
}

/// What the rotation needs to know, owned so it can move to the blocking pool.
struct Attempt {
    token_hash: Vec<u8>,
    client_id: Option<String>,
    audience: String,
    requested_scope: Option<String>,
    grace: TimeDelta,
    mint: Mint,
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
    let attempt = Attempt {
        token_hash: secrets::sha256(token.as_bytes()),
        client_id: client.map(|c| c.client_id.clone()),
        audience: client
            .and_then(|c| c.audience.clone())
            .unwrap_or_else(|| provider.settings.audience.clone()),
        requested_scope: scope.map(str::to_owned),
        grace: TimeDelta::from_std(provider.settings.refresh_reuse_grace)
            .expect("grace is bounded by the configuration"),
        mint: Mint::new(provider),
    };
    match provider.db(move |conn| rotate(conn, attempt)).await? {
        Outcome::Rotated {
            access_token,
            refresh_token,
            scope,
        } => Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: expires_in(provider),
            refresh_token: Some(refresh_token),
            scope: scope.to_string(),
            id_token: None,
        }),
        Outcome::Reused { sid, revoked: true } => {
            provider.metrics.refresh_reuse_detected.inc();
            tracing::warn!(event = "refresh_token_reuse", sid = %sid, "retired refresh token presented again; session revoked");
            Err(OAuthError::invalid_grant(
                "the refresh token was already used; the session is revoked",
            ))
        }
        Outcome::Reused { revoked: false, .. } => Err(OAuthError::invalid_grant(
            "the refresh token was already used",
        )),
    }
}

/// Blocking: read, check, sign, write.
fn rotate(conn: &mut DbConnection, a: Attempt) -> Result<Outcome, OAuthError> {
    let Some((row, session, user)) =
        refresh_tokens::find_with_session_and_user(conn, &a.token_hash)?
    else {
        return Err(OAuthError::invalid_grant(INVALID));
    };
    // RFC 6749 §6: the token is bound to the client it was issued to.
    if session.client_id != a.client_id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if session.revoked_at.is_some() {
        return Err(OAuthError::invalid_grant(INVALID));
    }
    if let Some(retired_at) = row.retired_at {
        return reuse(conn, &session.sid, retired_at, a.grace);
    }
    let now = crate::domain::now();
    if row.expires_at <= now || session.expires_at <= now {
        return Err(OAuthError::invalid_grant(INVALID));
    }
    if user.disabled {
        return Err(OAuthError::invalid_grant(INVALID));
    }

    // RFC 6749 §6: the scope may narrow, never widen, what the login granted.
    let granted = Scope::parse(&session.scope).map_err(OAuthError::internal)?;
    let scope = match a.requested_scope.as_deref() {
        None => granted,
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
    let subject = Subject {
        user_id: &user.id,
        client_id: a.client_id.as_deref(),
        audience: &a.audience,
        scope: &scope,
    };
    // Signed before the transaction, so no row lock is held across two RSA signatures.
    let pair = sessions::sign_pair(
        &a.mint,
        &subject,
        &session.sid,
        session.expires_at,
        now,
        true,
    )?;
    let (refresh_token, new_row) = pair
        .refresh
        .expect("a refresh always issues a refresh token");

    match refresh_tokens::rotate(conn, &a.token_hash, &new_row, now, pair.access_expires_at)? {
        Rotation::Rotated => Ok(Outcome::Rotated {
            access_token: pair.access_token,
            refresh_token,
            scope,
        }),
        // Another request rotated it first: this one is reuse.
        Rotation::AlreadyRetired(retired_at) => reuse(conn, &session.sid, retired_at, a.grace),
        // The session was revoked between the read and the write.
        Rotation::SessionRevoked => Err(OAuthError::invalid_grant(INVALID)),
    }
}

/// A retired token was presented: revoke the session unless within the grace period.
fn reuse(
    conn: &mut DbConnection,
    sid: &str,
    retired_at: NaiveDateTime,
    grace: TimeDelta,
) -> Result<Outcome, OAuthError> {
    let now = crate::domain::now();
    if now < retired_at + grace {
        return Ok(Outcome::Reused {
            sid: sid.to_owned(),
            revoked: false,
        });
    }
    let revoked = store::sessions::revoke(conn, sid, now, "refresh_token_reuse")?;
    if revoked {
        let detail = serde_json::json!({ "reason": "a retired refresh token was presented again" });
        events::record(
            conn,
            "refresh_token_reuse",
            Some(&Actor::system()),
            Some(sid),
            detail,
        )?;
    }
    Ok(Outcome::Reused {
        sid: sid.to_owned(),
        revoked,
    })
}
