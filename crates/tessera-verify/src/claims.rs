use serde::{Deserialize, Serialize};

use crate::Error;

/// The claims of a Tessera access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    /// The user's id, or the client's id for `client_credentials` tokens.
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(default)]
    pub scope: String,
    /// The session; absent on `client_credentials` tokens.
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
}

impl AccessClaims {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// `Err(InsufficientScope)` unless the token carries `scope`.
    pub fn require_scope(&self, scope: &str) -> Result<(), Error> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(Error::InsufficientScope(scope.to_owned()))
        }
    }

    /// Whether the token acts for a user (not a client acting for itself).
    pub fn is_user(&self) -> bool {
        self.sid.is_some()
    }
}
