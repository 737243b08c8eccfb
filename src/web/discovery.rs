//! Server metadata (RFC 8414, OIDC Discovery 1.0) and the JWKS (RFC 7517).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use super::State;

/// The metadata document. It lists what this server implements and nothing more, so clients
/// that follow it never call an endpoint that is not there.
pub async fn metadata(provider: State) -> HttpResponse {
    let issuer = &provider.issuer;
    let body = serde_json::json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/oauth/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "end_session_endpoint": format!("{issuer}/oauth/logout"),
        "code_challenge_methods_supported": ["S256"],
        "response_modes_supported": ["query"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "preferred_username", "email", "email_verified"],
        "authorization_response_iss_parameter_supported": true,
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": ["authorization_code", "password", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "scopes_supported": ["openid", "profile", "email", "admin"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
    });
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(body)
}

/// The public keys, with a real `max-age` and an `ETag` (verifiers that poll get `304`).
pub async fn jwks(req: HttpRequest, provider: State) -> HttpResponse {
    let set = provider.keys.current();
    let etag = set.etag();
    let cache = format!("public, max-age={}", provider.keys.jwks_max_age());
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    if matches {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .content_type("application/json")
        .body(set.jwks_body().to_vec())
}
