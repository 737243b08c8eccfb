//! `POST /oauth/revoke` (RFC 7009).

use actix_web::{web, HttpRequest, HttpResponse};

use super::body::form_pairs;
use super::errors::ApiError;
use super::{client_auth, State};
use crate::oauth::grants::Params;
use crate::oauth::{revocation, OAuthError};

#[tracing::instrument(name = "revoke", skip_all)]
pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    provider: State,
) -> Result<HttpResponse, ApiError> {
    let mut params = Params::from_pairs(form_pairs(&req, payload).await?)?;
    let client = client_auth::authenticate(&provider, &req, &mut params).await?;
    let token = params
        .take("token")
        .ok_or_else(|| OAuthError::invalid_request("missing parameter token"))?;
    // token_type_hint is optional and only a hint (§2.1): every kind is tried.
    revocation::revoke(&provider, &client, &token).await?;
    Ok(super::token::no_store(HttpResponse::Ok()).finish())
}
