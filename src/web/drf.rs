//! The Django REST Framework-compatible endpoints (CONTRACT §4), answering in DRF's shapes:
//! field errors as `{"field": ["…"]}`, simplejwt's `{"detail", "code": "token_not_valid"}`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::body::{media_type, read_limited};
use super::errors::ApiError;
use super::State;
use crate::oauth::drf::{self, DrfError};

const NO_ACCOUNT: &str = "No active account found with the given credentials";
const TOKEN_NOT_VALID: &str = "Token is invalid or expired";

/// `POST /api/token/`
#[tracing::instrument(name = "simplejwt_obtain", skip_all)]
pub async fn obtain_pair(req: HttpRequest, payload: web::Payload, provider: State) -> HttpResponse {
    let fields = match fields(&req, payload, &["username", "password"]).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    let [username, password] = fields;
    match drf::obtain_pair(&provider, username, password).await {
        Ok(pair) => {
            no_store(StatusCode::OK).json(json!({ "access": pair.access, "refresh": pair.refresh }))
        }
        Err(DrfError::BadCredentials) => {
            no_store(StatusCode::UNAUTHORIZED).json(json!({ "detail": NO_ACCOUNT }))
        }
        Err(e) => failure(e),
    }
}

/// `POST /api/token/refresh/`
#[tracing::instrument(name = "simplejwt_refresh", skip_all)]
pub async fn refresh(req: HttpRequest, payload: web::Payload, provider: State) -> HttpResponse {
    let [token] = match fields(&req, payload, &["refresh"]).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    match drf::refresh_pair(&provider, &token).await {
        Ok(pair) => {
            no_store(StatusCode::OK).json(json!({ "access": pair.access, "refresh": pair.refresh }))
        }
        Err(e) => failure(e),
    }
}

/// `POST /api/token/verify/`
#[tracing::instrument(name = "simplejwt_verify", skip_all)]
pub async fn verify(req: HttpRequest, payload: web::Payload, provider: State) -> HttpResponse {
    let [token] = match fields(&req, payload, &["token"]).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    match drf::verify(&provider, &token).await {
        Ok(()) => HttpResponse::Ok().json(json!({})),
        Err(e) => failure(e),
    }
}

/// `POST /api/token/blacklist/`
#[tracing::instrument(name = "simplejwt_blacklist", skip_all)]
pub async fn blacklist(req: HttpRequest, payload: web::Payload, provider: State) -> HttpResponse {
    let [token] = match fields(&req, payload, &["refresh"]).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    match drf::blacklist(&provider, &token).await {
        Ok(()) => HttpResponse::Ok().json(json!({})),
        Err(e) => failure(e),
    }
}

/// `POST /api-token-auth/`
#[tracing::instrument(name = "authtoken_obtain", skip_all)]
pub async fn obtain_api_token(
    req: HttpRequest,
    payload: web::Payload,
    provider: State,
) -> HttpResponse {
    let [username, password] = match fields(&req, payload, &["username", "password"]).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    match drf::obtain_api_token(&provider, username, password).await {
        Ok(key) => no_store(StatusCode::OK).json(json!({ "token": key })),
        Err(DrfError::BadCredentials) => HttpResponse::BadRequest()
            .json(json!({ "non_field_errors": ["Unable to log in with provided credentials."] })),
        Err(e) => failure(e),
    }
}

fn no_store(status: StatusCode) -> actix_web::HttpResponseBuilder {
    super::token::no_store(HttpResponse::build(status))
}

fn failure(e: DrfError) -> HttpResponse {
    match e {
        DrfError::TokenNotValid | DrfError::BadCredentials => HttpResponse::Unauthorized()
            .json(json!({ "detail": TOKEN_NOT_VALID, "code": "token_not_valid" })),
        DrfError::Server(e) => ApiError::OAuth(e).into_response(),
    }
}

/// Reads the named string fields from a JSON object or a form, as DRF's parsers do. Missing,
/// blank or non-string fields are answered DRF's way: `400 {"field": ["…"]}`.
async fn fields<const N: usize>(
    req: &HttpRequest,
    payload: web::Payload,
    names: &[&str; N],
) -> Result<[String; N], HttpResponse> {
    let media = media_type(req);
    let body = match read_limited(payload).await {
        Ok(body) => body,
        Err(e) => return Err(e.into_response()),
    };
    let parse_error = |detail: &str| HttpResponse::BadRequest().json(json!({ "detail": detail }));
    let values: HashMap<String, Value> = match media.as_deref() {
        Some("application/json") => match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => map.into_iter().collect(),
            Ok(_) => return Err(parse_error("Invalid data. Expected a dictionary.")),
            Err(e) => return Err(parse_error(&format!("JSON parse error - {e}"))),
        },
        Some("application/x-www-form-urlencoded") => form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect(),
        other => {
            let shown = other.unwrap_or("");
            return Err(HttpResponse::UnsupportedMediaType().json(
                json!({ "detail": format!("Unsupported media type \"{shown}\" in request.") }),
            ));
        }
    };
    let mut errors = serde_json::Map::new();
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (slot, name) in out.iter_mut().zip(names) {
        match values.get(*name) {
            None | Some(Value::Null) => {
                errors.insert((*name).into(), json!(["This field is required."]));
            }
            Some(Value::String(s)) if s.is_empty() => {
                errors.insert((*name).into(), json!(["This field may not be blank."]));
            }
            Some(Value::String(s)) => *slot = s.clone(),
            Some(_) => {
                errors.insert((*name).into(), json!(["Not a valid string."]));
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(HttpResponse::BadRequest().json(Value::Object(errors)))
    }
}
