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
use super::errors::{error_body, oauth_response, payload_too_large, ApiError};
use super::{query_params, State};
use crate::oauth::admin::{self, AdminError, Paging};
use crate::oauth::events::Actor;
use crate::oauth::OAuthError;

/// `AdminError` rendered as `{error, error_description}` with the contract's statuses.
#[derive(Debug, thiserror::Error)]
pub enum AdminApiError {
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("request body too large")]
    PayloadTooLarge,
}

impl From<ApiError> for AdminApiError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::OAuth(e) => Self::Admin(AdminError::Server(e)),
            ApiError::PayloadTooLarge => Self::PayloadTooLarge,
        }
    }
}

impl From<OAuthError> for AdminApiError {
    fn from(e: OAuthError) -> Self {
        Self::Admin(AdminError::Server(e))
    }
}

impl ResponseError for AdminApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Admin(AdminError::InvalidRequest(_)) => StatusCode::BAD_REQUEST,
            Self::Admin(AdminError::InvalidToken(_)) => StatusCode::UNAUTHORIZED,
            Self::Admin(AdminError::InsufficientScope) => StatusCode::FORBIDDEN,
            Self::Admin(AdminError::NotFound(_)) => StatusCode::NOT_FOUND,
            Self::Admin(AdminError::Conflict(_)) => StatusCode::CONFLICT,
            Self::Admin(AdminError::Server(e)) => ApiError::status_of_oauth(e),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let error = match self {
            Self::PayloadTooLarge => return payload_too_large(),
            Self::Admin(AdminError::Server(e)) => return oauth_response(e),
            Self::Admin(error) => error,
        };
        let (code, challenge) = match error {
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
            _ => ("invalid_request", None),
        };
        let mut response = HttpResponse::build(self.status_code());
        if let Some(challenge) = challenge {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            ));
        }
        response.json(error_body(code, &error.to_string()))
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
    let body = read_limited(payload).await?;
    let invalid = |why: String| AdminApiError::from(AdminError::InvalidRequest(why));
    // Parse to a value first: serde would otherwise fill a struct from a JSON array by position.
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| invalid(format!("invalid JSON body: {e}")))?;
    if !value.is_object() {
        return Err(invalid("the body must be a JSON object".into()));
    }
    T::deserialize(value).map_err(|e| invalid(format!("invalid JSON body: {e}")))
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
