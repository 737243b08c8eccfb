//! `/admin/keys/rotate` and `/admin/events`.

use actix_web::{HttpRequest, HttpResponse};

use super::{actor, db, paging, AdminResult};
use crate::oauth::admin::{self, AdminError};
use crate::oauth::events;
use crate::oauth::users::rfc3339;
use crate::oauth::OAuthError;
use crate::web::{query_params, State};

pub async fn rotate_keys(req: HttpRequest, provider: State) -> AdminResult {
    let actor = actor(&req, &provider).await?;
    let immediate = match query_params(&req).get("immediate").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(AdminError::InvalidRequest("immediate must be true or false".into()).into())
        }
    };
    let provider_for_task = provider.clone();
    let key = db(&provider, move |conn| {
        let delay = provider_for_task.settings.key_activation_delay;
        let key = provider_for_task
            .keys
            .rotate(conn, delay, immediate)
            .map_err(|e| AdminError::Server(OAuthError::internal(e)))?;
        events::record(
            conn,
            "key_rotated",
            Some(&actor),
            Some(&key.kid),
            serde_json::json!({
                "immediate": immediate, "signs_from": rfc3339(key.signs_from),
            }),
        )?;
        Ok(key)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "kid": key.kid, "signs_from": rfc3339(key.signs_from) })))
}

pub async fn events(req: HttpRequest, provider: State) -> AdminResult {
    actor(&req, &provider).await?;
    let paging = paging(&req)?;
    let page = db(&provider, move |conn| admin::list_events(conn, &paging)).await?;
    Ok(HttpResponse::Ok().json(page))
}
