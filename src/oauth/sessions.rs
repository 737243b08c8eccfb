//! Sessions: started at a login, carried through refresh-token rotations.

use std::sync::Arc;

use chrono::{NaiveDateTime, TimeDelta};

use super::jwt::JwtType;
use super::keys::KeySet;
use super::tokens::{self, AccessClaims, RefreshClaims};
use super::{secrets, OAuthError, Provider};
use crate::domain::Scope;
use crate::store::refresh_tokens::RefreshTokenRow;
use crate::store::sessions::SessionRow;
use crate::store::{self, refresh_tokens, sessions};

/// Who a token pair is for.
pub struct Subject<'a> {
    pub user_id: &'a str,
    /// `None` for the simplejwt-compatible endpoints, whose tokens belong to no client.
    pub client_id: Option<&'a str>,
    pub audience: &'a str,
    pub scope: &'a Scope,
}

pub struct TokenPair {
    pub sid: String,
    pub access_token: String,
    /// The refresh token and its row; `None` when the client may not use the refresh grant.
    pub refresh: Option<(String, RefreshTokenRow)>,
    pub access_expires_at: NaiveDateTime,
}

pub fn at(epoch: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(epoch, 0)
        .expect("token timestamps are within chrono's range")
        .naive_utc()
}

fn ttl(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).expect("TTLs are bounded by the configuration")
}

/// What signing a token pair needs, detached from the provider so the work can move to the
/// blocking pool together with the database work around it.
#[derive(Clone)]
pub struct Mint {
    issuer: String,
    access_ttl: i64,
    refresh_ttl: i64,
    keys: Arc<KeySet>,
}

impl Mint {
    pub fn new(provider: &Provider) -> Self {
        Self {
            issuer: provider.issuer.clone(),
            access_ttl: ttl(provider.settings.access_token_ttl),
            refresh_ttl: ttl(provider.settings.refresh_token_ttl),
            keys: provider.keys.current(),
        }
    }
}

/// Signs an access token and, `with_refresh`, a refresh token for `sid`. The refresh token
/// expires after the refresh TTL, but never after the session's absolute end.
pub fn sign_pair(
    mint: &Mint,
    subject: &Subject<'_>,
    sid: &str,
    session_ends: NaiveDateTime,
    now: NaiveDateTime,
    with_refresh: bool,
) -> Result<TokenPair, OAuthError> {
    let iat = now.and_utc().timestamp();
    let access_exp = iat + mint.access_ttl;
    let refresh_exp = (iat + mint.refresh_ttl).min(session_ends.and_utc().timestamp());
    let keys = &mint.keys;
    let access = AccessClaims {
        iss: mint.issuer.clone(),
        sub: subject.user_id.to_owned(),
        aud: subject.audience.to_owned(),
        exp: access_exp,
        iat,
        jti: tokens::new_jti(),
        client_id: subject.client_id.map(str::to_owned),
        scope: subject.scope.to_string(),
        sid: Some(sid.to_owned()),
        token_type: tokens::ACCESS.into(),
        user_id: Some(subject.user_id.to_owned()),
    };
    let refresh = RefreshClaims {
        iss: mint.issuer.clone(),
        sub: subject.user_id.to_owned(),
        aud: mint.issuer.clone(),
        exp: refresh_exp,
        iat,
        jti: tokens::new_jti(),
        sid: sid.to_owned(),
        token_type: tokens::REFRESH.into(),
        user_id: subject.user_id.to_owned(),
    };
    let access_token = keys
        .sign(JwtType::Access, &access)
        .map_err(OAuthError::Internal)?;
    let refresh = if with_refresh {
        let token = keys
            .sign(JwtType::Plain, &refresh)
            .map_err(OAuthError::Internal)?;
        let row = RefreshTokenRow {
            token_hash: secrets::sha256(token.as_bytes()),
            jti: refresh.jti,
            sid: sid.to_owned(),
            issued_at: now,
            expires_at: at(refresh_exp),
            retired_at: None,
        };
        Some((token, row))
    } else {
        None
    };
    Ok(TokenPair {
        sid: sid.to_owned(),
        access_token,
        refresh,
        access_expires_at: at(access_exp),
    })
}

/// Starts a session at a successful login and returns its first token pair.
/// `browser_session` is the sign-in cookie's hash when the login came through the browser, so
/// logging out there ends this session too.
pub async fn start(
    provider: &Provider,
    subject: Subject<'_>,
    kind: &'static str,
    with_refresh: bool,
    browser_session: Option<Vec<u8>>,
) -> Result<TokenPair, OAuthError> {
    let now = crate::domain::now();
    let sid = uuid::Uuid::now_v7().to_string();
    let session_ends = now
        + TimeDelta::from_std(provider.settings.session_max_age)
            .expect("session lifetime is bounded by the configuration");
    let pair = sign_pair(
        &Mint::new(provider),
        &subject,
        &sid,
        session_ends,
        now,
        with_refresh,
    )?;
    let session = SessionRow {
        sid,
        user_id: subject.user_id.to_owned(),
        client_id: subject.client_id.map(str::to_owned),
        kind: kind.to_owned(),
        scope: subject.scope.to_string(),
        created_at: now,
        last_used_at: now,
        expires_at: session_ends,
        access_expires_at: pair.access_expires_at,
        revoked_at: None,
        revoked_reason: None,
        browser_session,
    };
    let row = pair.refresh.as_ref().map(|(_, row)| row.clone());
    provider
        .db(move |conn| {
            store::write_transaction(conn, |conn| {
                sessions::insert(conn, &session)?;
                if let Some(row) = &row {
                    refresh_tokens::insert(conn, row)?;
                }
                Ok::<_, OAuthError>(())
            })
        })
        .await?;
    Ok(pair)
}

/// Starts a session for `user_id` at a login through `client` (password or authorization code
/// grant): the client's audience, and a refresh token only if the client may use one.
pub async fn start_for_client(
    provider: &Provider,
    client: &super::clients::Client,
    user_id: &str,
    scope: &Scope,
    browser_session: Option<Vec<u8>>,
) -> Result<TokenPair, OAuthError> {
    let audience = client
        .audience
        .as_deref()
        .unwrap_or(&provider.settings.audience);
    let subject = Subject {
        user_id,
        client_id: Some(&client.client_id),
        audience,
        scope,
    };
    let with_refresh = client.allows(crate::domain::GrantType::RefreshToken);
    start(provider, subject, "oauth", with_refresh, browser_session).await
}
