//! Request bodies: read with a hard 64 KiB limit, parsed strictly.

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

use super::errors::ApiError;
use crate::oauth::OAuthError;

pub const MAX_BODY: usize = 64 * 1024;

/// Reads the whole body, failing with 413 past `MAX_BODY` (chunked bodies included: the
/// `Content-Length` check in the middleware only covers declared sizes).
pub async fn read_limited(mut payload: web::Payload) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => ApiError::PayloadTooLarge,
            _ => OAuthError::invalid_request("the request body could not be read").into(),
        })?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(ApiError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The media type of the request, lower-cased, without parameters.
pub fn media_type(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next()?.trim().to_ascii_lowercase())
}

/// An `application/x-www-form-urlencoded` body as name-value pairs (RFC 6749 §3.2 requires
/// this encoding at the token endpoint).
pub async fn form_pairs(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Vec<(String, String)>, ApiError> {
    if media_type(req).as_deref() != Some("application/x-www-form-urlencoded") {
        // Drain nothing: the answer does not depend on the body.
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        )
        .into());
    }
    let body = read_limited(payload).await?;
    Ok(urlencoded_pairs(&body))
}

/// `application/x-www-form-urlencoded` bytes (a body or a query string) as owned pairs.
pub fn urlencoded_pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
