//! `POST /oauth/introspect` (RFC 7662).

use actix_web::{web, HttpRequest, HttpResponse};

use super::body::form_pairs;
use super::errors::ApiError;
use super::{client_auth, State};
use crate::oauth::grants::Params;
use crate::oauth::{introspection, OAuthError};

#[tracing::instrument(name = "introspect", skip_all)]
pub async fn introspect(
    req: HttpRequest,
    payload: web::Payload,
    provider: State,
) -> Result<HttpResponse, ApiError> {
    let mut params = Params::from_pairs(form_pairs(&req, payload).await?)?;
    client_auth::authenticate(&provider, &req, &mut params).await?;
    let token = params
        .take("token")
        .ok_or_else(|| OAuthError::invalid_request("missing parameter token"))?;
    let answer = introspection::introspect(&provider, &token).await?;
    Ok(super::token::no_store(HttpResponse::Ok()).json(answer))
}
