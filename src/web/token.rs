//! `POST /oauth/token` (RFC 6749 §3.2).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::body::form_pairs;
use super::errors::ApiError;
use super::State;
use crate::oauth::clients::parse_basic;
use crate::oauth::grants::{self, Params};

#[tracing::instrument(name = "token", skip_all)]
pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    provider: State,
) -> Result<HttpResponse, ApiError> {
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| {
                    crate::oauth::OAuthError::InvalidClient("malformed Authorization header".into())
                })
                .and_then(parse_basic)
        })
        .transpose()?;
    let params = Params::from_pairs(form_pairs(&req, payload).await?)?;
    let response = grants::exchange(&provider, params, basic).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}
