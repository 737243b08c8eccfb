//! The token endpoint (RFC 6749 §3.2): the request is parsed into one variant per grant, the
//! client is authenticated, then the grant's own module does the work.

mod authorization_code;
mod client_credentials;
pub(crate) mod password;

pub use password::check_credentials;
pub(crate) mod refresh_token;

use std::collections::HashMap;

use super::clients::{self, PresentedClient};
use super::tokens::TokenResponse;
use super::{OAuthError, Provider};
use crate::domain::GrantType;

/// Form parameters of a request, each present at most once (RFC 6749 §3.1).
#[derive(Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, OAuthError> {
        let mut map = HashMap::new();
        for (key, value) in pairs {
            // §3.1: a parameter sent without a value is treated as omitted.
            if value.is_empty() {
                continue;
            }
            if map.insert(key.clone(), value).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {key} is repeated"
                )));
            }
        }
        Ok(Self(map))
    }

    pub fn take(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    fn require(&mut self, key: &str) -> Result<String, OAuthError> {
        self.take(key)
            .ok_or_else(|| OAuthError::invalid_request(format!("missing parameter {key}")))
    }
}

/// A token request, parsed at the edge: one variant per grant type.
pub enum TokenRequest {
    Password {
        username: String,
        password: String,
        scope: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
}

impl TokenRequest {
    /// Parses the grant-specific parameters; the client's own (`client_id`, `client_secret`)
    /// are left in `params` for authentication.
    pub fn parse(params: &mut Params) -> Result<Self, OAuthError> {
        let grant = params.require("grant_type")?;
        let scope = params.take("scope");
        match grant.parse::<GrantType>() {
            Ok(GrantType::Password) => Ok(Self::Password {
                username: params.require("username")?,
                password: params.require("password")?,
                scope,
            }),
            Ok(GrantType::RefreshToken) => Ok(Self::RefreshToken {
                refresh_token: params.require("refresh_token")?,
                scope,
            }),
            Ok(GrantType::ClientCredentials) => Ok(Self::ClientCredentials { scope }),
            Ok(GrantType::AuthorizationCode) => Ok(Self::AuthorizationCode {
                code: params.require("code")?,
                redirect_uri: params.take("redirect_uri"),
                code_verifier: params.take("code_verifier"),
            }),
            Err(_) => Err(OAuthError::UnsupportedGrantType(format!(
                "grant_type {grant:?} is not supported"
            ))),
        }
    }

    fn grant(&self) -> GrantType {
        match self {
            Self::Password { .. } => GrantType::Password,
            Self::RefreshToken { .. } => GrantType::RefreshToken,
            Self::ClientCredentials { .. } => GrantType::ClientCredentials,
            Self::AuthorizationCode { .. } => GrantType::AuthorizationCode,
        }
    }
}

/// Handles a token request: `params` is the form body, `basic` the decoded Basic credentials.
pub async fn exchange(
    provider: &Provider,
    mut params: Params,
    basic: Option<(String, String)>,
) -> Result<TokenResponse, OAuthError> {
    let request = TokenRequest::parse(&mut params)?;
    let presented = PresentedClient {
        basic,
        client_id: params.take("client_id"),
        client_secret: params.take("client_secret"),
    };
    let client = clients::authenticate(provider, presented).await?;
    let grant = request.grant();
    if !client.allows(grant) {
        return Err(OAuthError::UnauthorizedClient(format!(
            "the client may not use the {grant} grant"
        )));
    }
    let response = match request {
        TokenRequest::Password {
            username,
            password,
            scope,
        } => password::exchange(provider, &client, username, password, scope.as_deref()).await,
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => {
            refresh_token::exchange(provider, Some(&client), &refresh_token, scope.as_deref()).await
        }
        TokenRequest::ClientCredentials { scope } => {
            client_credentials::exchange(provider, &client, scope.as_deref())
        }
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            authorization_code::exchange(
                provider,
                &client,
                &code,
                redirect_uri.as_deref(),
                code_verifier.as_deref(),
            )
            .await
        }
    }?;
    provider
        .metrics
        .tokens_issued
        .with_label_values(&[grant.as_str()])
        .inc();
    Ok(response)
}

fn expires_in(provider: &Provider) -> u64 {
    provider.settings.access_token_ttl.as_secs()
}
