//! `/admin/users`

use actix_web::{web, HttpRequest, HttpResponse};

use super::{actor, db, json_body, paging, AdminResult};
use crate::domain::Password;
use crate::oauth::admin::users::{self, CreateUser, PatchUser};
use crate::oauth::admin::{self, AdminError};
use crate::web::State;

fn parse_password(raw: &str) -> Result<Password, AdminError> {
    Password::parse(raw.to_owned()).map_err(|e| AdminError::InvalidRequest(e.to_string()))
}

pub async fn create(req: HttpRequest, payload: web::Payload, provider: State) -> AdminResult {
    let actor = actor(&req, &provider).await?;
    let body: CreateUser = json_body(&req, payload).await?;
    let new = users::parse_new(&body)?;
    let password = parse_password(&body.password)?;
    let hash = provider
        .passwords
        .hash(&password)
        .await
        .map_err(|e| AdminError::Server(crate::oauth::OAuthError::internal(e)))?;
    let user = db(&provider, move |conn| {
        users::create(conn, &actor, new, hash)
    })
    .await?;
    Ok(HttpResponse::Created().json(user))
}

pub async fn list(req: HttpRequest, provider: State) -> AdminResult {
    actor(&req, &provider).await?;
    let paging = paging(&req)?;
    let page = db(&provider, move |conn| users::list(conn, &paging)).await?;
    Ok(HttpResponse::Ok().json(page))
}

pub async fn get(req: HttpRequest, id: web::Path<String>, provider: State) -> AdminResult {
    actor(&req, &provider).await?;
    let user = db(&provider, move |conn| users::get(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(user))
}

pub async fn patch(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    provider: State,
) -> AdminResult {
    let actor = actor(&req, &provider).await?;
    let body: PatchUser = json_body(&req, payload).await?;
    let hash = match &body.password {
        Some(raw) => {
            let password = parse_password(raw)?;
            Some(
                provider
                    .passwords
                    .hash(&password)
                    .await
                    .map_err(|e| AdminError::Server(crate::oauth::OAuthError::internal(e)))?,
            )
        }
        None => None,
    };
    let user = db(&provider, move |conn| {
        users::update(conn, &actor, &id, &body, hash)
    })
    .await?;
    Ok(HttpResponse::Ok().json(user))
}

pub async fn delete(req: HttpRequest, id: web::Path<String>, provider: State) -> AdminResult {
    let actor = actor(&req, &provider).await?;
    db(&provider, move |conn| users::delete(conn, &actor, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn revoke_sessions(
    req: HttpRequest,
    id: web::Path<String>,
    provider: State,
) -> AdminResult {
    let actor = actor(&req, &provider).await?;
    db(&provider, move |conn| {
        admin::sessions::revoke_user(conn, &actor, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
