//! The authorization endpoint (RFC 6749 §4.1, RFC 7636 PKCE, OpenID Connect Core §3.1).
//!
//! Errors follow RFC 6749 §4.1.2.1: until the client and its redirect URI are known to be
//! valid, an error is shown to the user and never redirected (an open redirector is how codes
//! and tokens are stolen); after that it goes back to the client with `error` and `state`.

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};

use super::clients::{self, Client};
use super::{secrets, OAuthError, Provider};
use crate::domain::{ClientType, GrantType, Scope};
use crate::store::browser::{self, CodeRow};

/// How long a code lives (RFC 6749 §4.1.2 recommends at most ten minutes; one is plenty).
pub const CODE_LIFETIME: TimeDelta = TimeDelta::seconds(60);

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client: Client,
    pub redirect_uri: String,
    pub scope: Scope,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// The parameters as received, to carry through the login and consent forms.
    pub params: Vec<(String, String)>,
}

#[derive(Debug)]
pub enum AuthorizeError {
    /// Shown to the user: the client or redirect URI cannot be trusted.
    Page(String),
    /// Sent back to the client's redirect URI.
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
    Server(OAuthError),
}

impl From<OAuthError> for AuthorizeError {
    fn from(e: OAuthError) -> Self {
        Self::Server(e)
    }
}

/// The parameters the request carries through the forms (and nothing else).
const CARRIED: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

pub async fn validate(
    provider: &Provider,
    pairs: Vec<(String, String)>,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let mut params: HashMap<String, String> = HashMap::new();
    let mut repeated = None;
    for (k, v) in &pairs {
        if CARRIED.contains(&k.as_str()) && params.insert(k.clone(), v.clone()).is_some() {
            repeated = Some(k.clone());
        }
    }
    let get = |k: &str| params.get(k).filter(|v| !v.is_empty()).cloned();

    // 1. The client and redirect URI: errors here are shown, not redirected.
    let client_id = get("client_id")
        .ok_or_else(|| AuthorizeError::Page("The request names no client.".into()))?;
    let lookup = client_id.clone();
    let client = provider
        .db(move |conn| clients::find(conn, &lookup))
        .await?
        .ok_or_else(|| AuthorizeError::Page("The request names an unknown client.".into()))?;
    let redirect_uri = match get("redirect_uri") {
        // Exact match only (RFC 9700 §4.1.3): no prefixes, no wildcards.
        Some(uri) if client.redirect_uris.contains(&uri) => uri,
        Some(_) => {
            return Err(AuthorizeError::Page(
                "The redirect URI is not registered for this client.".into(),
            ))
        }
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => {
            return Err(AuthorizeError::Page(
                "The request must name one of the client's redirect URIs.".into(),
            ))
        }
    };
    let state = get("state");
    let fail = |error: &'static str, description: &str| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        description: description.to_owned(),
        state: state.clone(),
    };

    // 2. Everything else goes back to the client.
    if let Some(name) = repeated {
        return Err(fail(
            "invalid_request",
            &format!("parameter {name} is repeated"),
        ));
    }
    match get("response_type").as_deref() {
        Some("code") => {}
        None => return Err(fail("invalid_request", "response_type is required")),
        Some(_) => {
            return Err(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(fail(
            "unauthorized_client",
            "the client may not use the authorization code flow",
        ));
    }
    let scope = client.resolve_scope(get("scope").as_deref()).map_err(|_| {
        fail(
            "invalid_scope",
            "the requested scope exceeds what the client is registered for",
        )
    })?;
    let code_challenge = match (
        get("code_challenge"),
        get("code_challenge_method").as_deref(),
    ) {
        (None, _) if client.client_type == ClientType::Public => {
            // RFC 9700 §2.1.1: public clients must use PKCE.
            return Err(fail(
                "invalid_request",
                "code_challenge is required for public clients",
            ));
        }
        (None, None) => None,
        (None, Some(_)) => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method without code_challenge",
            ))
        }
        (Some(challenge), Some("S256")) if is_pkce_value(&challenge) => Some(challenge),
        (Some(_), Some("S256")) => {
            return Err(fail("invalid_request", "code_challenge is malformed"))
        }
        (Some(_), None | Some("plain")) => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method must be S256 (plain is refused)",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(fail("invalid_request", "unsupported code_challenge_method"))
        }
    };
    let nonce = get("nonce");
    if nonce.as_ref().is_some_and(|n| n.len() > 512)
        || state.as_ref().is_some_and(|s| s.len() > 2048)
    {
        return Err(fail("invalid_request", "state or nonce is too long"));
    }
    let carried = CARRIED
        .iter()
        .filter_map(|k| params.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect();
    Ok(AuthorizationRequest {
        client,
        redirect_uri,
        scope,
        state,
        nonce,
        code_challenge,
        params: carried,
    })
}

/// RFC 7636 §4.1/§4.2: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
pub fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether the user must be asked before the client gets `scope`.
pub async fn needs_consent(
    provider: &Provider,
    request: &AuthorizationRequest,
    user_id: &str,
) -> Result<bool, OAuthError> {
    if request.client.first_party {
        return Ok(false);
    }
    let (user, client) = (user_id.to_owned(), request.client.client_id.clone());
    let granted = provider
        .db(move |conn| Ok(browser::consented_scope(conn, &user, &client)?))
        .await?;
    Ok(!granted
        .and_then(|g| Scope::parse(&g).ok())
        .is_some_and(|g| request.scope.is_subset_of(&g)))
}

pub async fn record_consent(
    provider: &Provider,
    request: &AuthorizationRequest,
    user_id: &str,
) -> Result<(), OAuthError> {
    let (user, client, scope) = (
        user_id.to_owned(),
        request.client.client_id.clone(),
        request.scope.to_string(),
    );
    provider
        .db(move |conn| {
            Ok(browser::record_consent(
                conn,
                &user,
                &client,
                &scope,
                crate::domain::now(),
            )?)
        })
        .await
}

/// Issues a code for a signed-in user; returns the URL to send the browser to.
pub async fn issue_code(
    provider: &Provider,
    request: &AuthorizationRequest,
    user_id: &str,
    auth_time: NaiveDateTime,
    browser_session: Vec<u8>,
) -> Result<String, OAuthError> {
    let code = secrets::random_token(32);
    let now = crate::domain::now();
    let row = CodeRow {
        code_hash: secrets::sha256(code.as_bytes()),
        client_id: request.client.client_id.clone(),
        user_id: user_id.to_owned(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.to_string(),
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        auth_time,
        browser_session: Some(browser_session),
        created_at: now,
        expires_at: now + CODE_LIFETIME,
        used_at: None,
        sid: None,
    };
    provider
        .db(move |conn| Ok(browser::insert_code(conn, &row)?))
        .await?;
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = &request.state {
        pairs.push(("state", state));
    }
    // RFC 9207: the issuer, so a client talking to several servers can tell them apart.
    pairs.push(("iss", &provider.issuer));
    Ok(with_query(&request.redirect_uri, &pairs))
}

/// `uri` with `pairs` appended to its query.
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{query}")
}

/// The redirect for an error the client should hear about.
pub fn error_redirect(
    redirect_uri: &str,
    error: &str,
    description: &str,
    state: Option<&str>,
    issuer: &str,
) -> String {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    with_query(redirect_uri, &pairs)
}
