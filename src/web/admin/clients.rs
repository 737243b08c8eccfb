//! `/admin/clients`

use actix_web::{web, HttpRequest, HttpResponse};

use super::{actor, db, json_body, paging, AdminResult};
use crate::oauth::admin::clients::{self, CreateClient};
use crate::web::State;

pub async fn create(req: HttpRequest, payload: web::Payload, provider: State) -> AdminResult {
    let actor = actor(&req, &provider).await?;
    let body: CreateClient = json_body(&req, payload).await?;
    let new = body.parse()?;
    let client = db(&provider, move |conn| clients::create(conn, &actor, new)).await?;
    // The only time the secret is shown: keep the answer out of caches.
    Ok(crate::web::token::no_store(HttpResponse::Created()).json(client))
}

pub async fn list(req: HttpRequest, provider: State) -> AdminResult {
    actor(&req, &provider).await?;
    let paging = paging(&req)?;
    let page = db(&provider, move |conn| clients::list(conn, &paging)).await?;
    Ok(HttpResponse::Ok().json(page))
}

pub async fn get(req: HttpRequest, id: web::Path<String>, provider: State) -> AdminResult {
    actor(&req, &provider).await?;
    let client = db(&provider, move |conn| clients::get(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(client))
}

pub async fn delete(req: HttpRequest, id: web::Path<String>, provider: State) -> AdminResult {
    let actor = actor(&req, &provider).await?;
    let client_id = id.clone();
    db(&provider, move |conn| {
        clients::delete(conn, &actor, &client_id)
    })
    .await?;
    provider.clients.evict(&id);
    Ok(HttpResponse::NoContent().finish())
}
