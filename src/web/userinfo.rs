//! `GET|POST /userinfo` (OIDC Core §5.3) with RFC 6750 bearer errors.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use super::State;
use crate::oauth::access::{self, BearerError};
use crate::oauth::userinfo;

#[tracing::instrument(name = "userinfo", skip_all)]
pub async fn userinfo(req: HttpRequest, provider: State) -> HttpResponse {
    // DRF's `Authorization: Token KEY` for the opaque tokens of /api-token-auth/.
    if let Some(key) = scheme_token(&req, "token") {
        return match access::authenticate_api_token(&provider, key).await {
            Ok(found) => claims_response(userinfo::claims(&found.user, None)),
            Err(BearerError::Invalid(why)) => invalid_token(why),
            Err(BearerError::Server(e)) => super::errors::ApiError::OAuth(e).into_response(),
        };
    }
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
            user: Some(user),
            claims,
        }) => claims_response(userinfo::claims(&user, Some(&claims.scope))),
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

fn claims_response(claims: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(claims)
}

/// The token of an `Authorization: Bearer …` header (RFC 6750 §2.1).
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    scheme_token(req, "bearer")
}

/// The credentials of an `Authorization` header of the given scheme (case-insensitive).
fn scheme_token<'a>(req: &'a HttpRequest, scheme: &str) -> Option<&'a str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (given, token) = value.split_once(' ')?;
    let token = token.trim();
    (given.eq_ignore_ascii_case(scheme) && !token.is_empty()).then_some(token)
}
