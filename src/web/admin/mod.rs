//! The admin API (CONTRACT §6): JSON in and out, authorised by an admin's bearer token.

pub mod clients;
pub mod sessions;
pub mod system;
pub mod users;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::de::DeserializeOwned;

use super::body::{media_type, read_limited};
use super::errors::{error_body, ApiError};
use super::{query_params, State};
use crate::oauth::admin::{self, AdminError, Paging};
use crate::oauth::events::Actor;
use crate::oauth::OAuthError;

/// `AdminError` rendered as `{error, error_description}` with the contract's statuses.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct AdminApiError(#[from] AdminError);

impl From<ApiError> for AdminApiError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::OAuth(e) => Self(AdminError::Server(e)),
            ApiError::PayloadTooLarge => Self(AdminError::InvalidRequest("too large".into())),
        }
    }
}

impl From<OAuthError> for AdminApiError {
    fn from(e: OAuthError) -> Self {
        Self(AdminError::Server(e))
    }
}

impl ResponseError for AdminApiError {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            AdminError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            AdminError::InsufficientScope => StatusCode::FORBIDDEN,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::Conflict(_) => StatusCode::CONFLICT,
            AdminError::Server(e) => ApiError::OAuth(clone_server(e)).status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let description = self.0.to_string();
        let (code, challenge) = match &self.0 {
            AdminError::InvalidRequest(_) => ("invalid_request", None),
            AdminError::InvalidToken(_) => (
                "invalid_token",
                Some(r#"Bearer realm="tessera", error="invalid_token""#),
            ),
            AdminError::InsufficientScope => (
                "insufficient_scope",
                Some(r#"Bearer realm="tessera", error="insufficient_scope""#),
            ),
            AdminError::NotFound(_) => ("not_found", None),
            AdminError::Conflict(_) => ("conflict", None),
            AdminError::Server(e) => return ApiError::OAuth(clone_server(e)).error_response(),
        };
        let mut response = HttpResponse::build(self.status_code());
        if let Some(challenge) = challenge {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            ));
        }
        response.json(error_body(code, &description))
    }
}

/// Server-side failures keep their cause for the log; the response says nothing of it.
fn clone_server(e: &OAuthError) -> OAuthError {
    match e {
        OAuthError::Unavailable(cause) => OAuthError::Unavailable(anyhow::anyhow!("{cause:#}")),
        OAuthError::Internal(cause) => OAuthError::Internal(anyhow::anyhow!("{cause:#}")),
        other => OAuthError::Internal(anyhow::anyhow!("{other}")),
    }
}

pub type AdminResult = Result<HttpResponse, AdminApiError>;

/// The caller, if authorised.
pub async fn actor(req: &HttpRequest, provider: &State) -> Result<Actor, AdminApiError> {
    let bearer = super::userinfo::bearer_token(req);
    Ok(admin::authorize(provider, bearer).await?)
}

/// A JSON body of type `T`; anything else is `400 invalid_request`.
pub async fn json_body<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<T, AdminApiError> {
    if media_type(req).as_deref() != Some("application/json") {
        return Err(AdminError::InvalidRequest("the body must be application/json".into()).into());
    }
    let body = match read_limited(payload).await {
        Ok(body) => body,
        Err(ApiError::PayloadTooLarge) => {
            return Err(AdminError::InvalidRequest("the body is larger than 64 KiB".into()).into())
        }
        Err(e) => return Err(e.into()),
    };
    serde_json::from_slice(&body)
        .map_err(|e| AdminError::InvalidRequest(format!("invalid JSON body: {e}")).into())
}

pub fn paging(req: &HttpRequest) -> Result<Paging, AdminApiError> {
    let query = query_params(req);
    Ok(Paging::parse(
        query.get("limit").map(String::as_str),
        query.get("cursor").map(String::as_str),
    )?)
}

/// Runs blocking admin work on the database.
pub async fn db<T, F>(provider: &State, work: F) -> Result<T, AdminApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::store::DbConnection) -> Result<T, AdminError> + Send + 'static,
{
    let result = provider
        .db(move |conn| Ok(work(conn)))
        .await
        .map_err(AdminError::Server)?;
    Ok(result?)
}
