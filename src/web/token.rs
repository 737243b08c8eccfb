//! `POST /oauth/token` (RFC 6749 §3.2).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::body::form_pairs;
use super::client_auth::basic_credentials;
use super::errors::ApiError;
use super::State;
use crate::oauth::grants::{self, Params};

#[tracing::instrument(name = "token", skip_all)]
pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    provider: State,
) -> Result<HttpResponse, ApiError> {
    let basic = basic_credentials(&req)?;
    let params = Params::from_pairs(form_pairs(&req, payload).await?)?;
    let response = grants::exchange(&provider, params, basic).await?;
    Ok(no_store(HttpResponse::Ok()).json(response))
}

/// RFC 6749 §5.1: responses that carry tokens must not be cached.
pub fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    builder
}
