//! `GET|POST /userinfo` (OIDC Core §5.3) with RFC 6750 bearer errors.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use super::State;
use crate::oauth::access::{self, BearerError};

#[tracing::instrument(name = "userinfo", skip_all)]
pub async fn userinfo(req: HttpRequest, provider: State) -> HttpResponse {
    let Some(token) = bearer_token(&req) else {
        // RFC 6750 §3.1: no credentials at all gets the challenge without an error code.
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="tessera""#))
            .json(super::errors::error_body(
                "invalid_token",
                "a bearer token is required",
            ));
    };
    match access::authenticate(&provider, token).await {
        Ok(access::Access {
            user: Some(user), ..
        }) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "sub": user.id,
                "preferred_username": user.username,
                "email": user.email,
            })),
        Ok(_) => invalid_token("the token does not belong to a user"),
        Err(BearerError::Invalid(why)) => invalid_token(why),
        Err(BearerError::Server(e)) => super::errors::ApiError::OAuth(e).into_response(),
    }
}

pub fn invalid_token(description: &str) -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((
            header::WWW_AUTHENTICATE,
            format!(r#"Bearer realm="tessera", error="invalid_token", error_description="{description}""#),
        ))
        .json(super::errors::error_body("invalid_token", description))
}

/// The token of an `Authorization: Bearer …` header (RFC 6750 §2.1).
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
