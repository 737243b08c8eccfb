//! Error responses. OAuth errors render RFC 6749 §5.2 JSON; a 5xx says nothing of its cause,
//! which goes to the log instead.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::oauth::OAuthError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    #[error("request body too large")]
    PayloadTooLarge,
}

pub fn error_body(code: &str, description: &str) -> serde_json::Value {
    serde_json::json!({ "error": code, "error_description": description })
}

fn status_of(e: &OAuthError) -> StatusCode {
    match e {
        OAuthError::InvalidClient(_) => StatusCode::UNAUTHORIZED,
        OAuthError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        OAuthError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::OAuth(e) => status_of(e),
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::OAuth(e) => oauth_response(e),
            Self::PayloadTooLarge => payload_too_large(),
        }
    }
}

/// The RFC 6749 §5.2 response for `e`; the cause of a server error goes to the log only.
pub fn oauth_response(e: &OAuthError) -> HttpResponse {
    // RFC 6749 §5.1: token endpoint answers, errors included, must not be cached.
    let mut response = super::token::no_store(HttpResponse::build(status_of(e)));
    match e {
        OAuthError::Internal(cause) => tracing::error!(error = ?cause, "request failed"),
        OAuthError::Unavailable(cause) => {
            tracing::error!(error = ?cause, "request failed");
            response.insert_header((header::RETRY_AFTER, "1"));
        }
        // RFC 6749 §5.2: a 401 names the scheme the client should use.
        OAuthError::InvalidClient(_) => {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="tessera""#),
            ));
        }
        _ => {}
    }
    response.json(error_body(e.code(), e.description()))
}

/// `413` with the contract's body, on every endpoint.
pub fn payload_too_large() -> HttpResponse {
    HttpResponse::PayloadTooLarge().json(error_body(
        "invalid_request",
        "the request body is larger than 64 KiB",
    ))
}

impl ApiError {
    pub fn into_response(self) -> HttpResponse {
        self.error_response()
    }

    pub fn status_of_oauth(e: &OAuthError) -> StatusCode {
        status_of(e)
    }
}

/// JSON 404 for paths that name no endpoint.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(error_body("not_found", "no such endpoint"))
}
