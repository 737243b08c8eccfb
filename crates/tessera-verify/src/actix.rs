//! actix-web integration: an extractor that yields verified claims and answers per RFC 6750.
//!
//! Register the verifier as `web::Data<Verifier>`; then a handler taking
//! `Authenticated<AccessClaims>` only runs for a valid access token.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use serde::de::DeserializeOwned;

use crate::{Error, Verifier};

/// The claims of the request's valid Bearer access token.
#[derive(Debug, Clone)]
pub struct Authenticated<C>(pub C);

/// A refused request: `401 invalid_token` (or `invalid_request` when no token was sent) with
/// `WWW-Authenticate: Bearer`, `403 insufficient_scope`, or `503` when the issuer's keys
/// cannot be had.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct Rejection {
    error: Error,
    no_token: bool,
}

impl From<Error> for Rejection {
    fn from(error: Error) -> Self {
        Self {
            error,
            no_token: false,
        }
    }
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        match &self.error {
            Error::InsufficientScope(_) => StatusCode::FORBIDDEN,
            e if e.is_token_error() || self.no_token => StatusCode::UNAUTHORIZED,
            // The service's own mistake (no verifier registered), not the issuer's.
            Error::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        let (code, description) = match &self.error {
            _ if self.no_token => (None, "a bearer token is required".to_owned()),
            Error::InsufficientScope(scope) => (
                Some("insufficient_scope"),
                format!("the {scope} scope is required"),
            ),
            e if e.is_token_error() => (Some("invalid_token"), e.to_string()),
            _ => (None, "the token cannot be verified right now".to_owned()),
        };
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            // RFC 6750 §3: no error code when the request had no credentials at all.
            let challenge = match code {
                Some(code) => {
                    format!(r#"Bearer error="{code}", error_description="{description}""#)
                }
                None => "Bearer".to_owned(),
            };
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        response.json(serde_json::json!({ "error": code.unwrap_or("invalid_request"), "error_description": description }))
    }
}

impl<C: DeserializeOwned + 'static> FromRequest for Authenticated<C> {
    type Error = Rejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Rejection>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verifier = req.app_data::<web::Data<Verifier>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let verifier = verifier.ok_or_else(|| {
                Rejection::from(Error::Config("no web::Data<Verifier> registered".into()))
            })?;
            let Some(token) = token else {
                return Err(Rejection {
                    error: Error::Malformed,
                    no_token: true,
                });
            };
            Ok(Self(verifier.verify::<C>(&token).await?))
        })
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}
