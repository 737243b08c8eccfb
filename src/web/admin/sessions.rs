//! `/admin/sessions`

use actix_web::{web, HttpRequest, HttpResponse};

use super::{actor, db, paging, AdminResult};
use crate::oauth::admin::sessions;
use crate::web::{query_params, State};

pub async fn list(req: HttpRequest, provider: State) -> AdminResult {
    actor(&req, &provider).await?;
    let paging = paging(&req)?;
    let user_id = query_params(&req).remove("user_id");
    let page = db(&provider, move |conn| {
        sessions::list(conn, user_id.as_deref(), &paging)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

pub async fn revoke(req: HttpRequest, sid: web::Path<String>, provider: State) -> AdminResult {
    let actor = actor(&req, &provider).await?;
    db(&provider, move |conn| sessions::revoke(conn, &actor, &sid)).await?;
    Ok(HttpResponse::NoContent().finish())
}
