/// Why a token was refused, or why verification could not run. Messages never contain token
/// contents.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token is not signed with RS256")]
    Algorithm,
    #[error("the token is not an access token")]
    NotAnAccessToken,
    #[error("the token names no key id")]
    MissingKeyId,
    #[error("the token was signed by an unknown key")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by another issuer")]
    Issuer,
    #[error("the token is meant for another audience")]
    Audience,
    #[error("the token lacks a required claim or has a malformed one")]
    Claims,
    #[error("the token's session has been revoked")]
    Revoked,
    #[error("the token lacks the scope {0:?}")]
    InsufficientScope(String),
    #[error("the issuer's keys cannot be fetched: {0}")]
    KeysUnavailable(String),
    #[error("the issuer answered unexpectedly: {0}")]
    Upstream(String),
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    /// Whether the token itself is at fault (RFC 6750 `invalid_token`), rather than the
    /// verifier's access to the issuer.
    pub fn is_token_error(&self) -> bool {
        !matches!(
            self,
            Self::KeysUnavailable(_)
                | Self::Upstream(_)
                | Self::Config(_)
                | Self::InsufficientScope(_)
        )
    }
}
