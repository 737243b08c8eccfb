//! Client authentication at the endpoints that require it (token, revocation, introspection,
//! revocation feed): HTTP Basic, or `client_id`/`client_secret` in the form.

use actix_web::http::header;
use actix_web::HttpRequest;

use super::errors::ApiError;
use crate::oauth::clients::{self, Client, PresentedClient};
use crate::oauth::grants::Params;
use crate::oauth::{OAuthError, Provider};

/// The decoded `Authorization: Basic` credentials, if the header is there.
pub fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::InvalidClient("malformed Authorization header".into()))?;
    Ok(Some(clients::parse_basic(value)?))
}

/// Authenticates the client of a form-encoded request; its credentials leave `params`.
pub async fn authenticate(
    provider: &Provider,
    req: &HttpRequest,
    params: &mut Params,
) -> Result<Client, ApiError> {
    let presented = PresentedClient {
        basic: basic_credentials(req)?,
        client_id: params.take("client_id"),
        client_secret: params.take("client_secret"),
    };
    Ok(clients::authenticate(provider, presented).await?)
}
