//! The claims `/userinfo` returns (OIDC Core §5.3–§5.4).

use serde_json::{json, Value};

use crate::store::users::UserRow;

/// By scope for OpenID tokens: `sub` always, `profile` adds the username, `email` the address.
/// Tokens from before OpenID Connect (password grant, DRF keys; `scope` without `openid`, or
/// `None`) get the basic claims.
pub fn claims(user: &UserRow, scope: Option<&str>) -> Value {
    let scope: Vec<&str> = scope.unwrap_or("").split(' ').collect();
    if !scope.contains(&"openid") {
        return json!({ "sub": user.id, "preferred_username": user.username, "email": user.email });
    }
    let mut claims = json!({ "sub": user.id });
    if scope.contains(&"profile") {
        claims["preferred_username"] = user.username.clone().into();
    }
    if scope.contains(&"email") {
        claims["email"] = user.email.clone().into();
        // Tessera does not verify addresses.
        claims["email_verified"] = false.into();
    }
    claims
}
