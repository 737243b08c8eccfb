//! `GET /oauth/revocations[?since=CURSOR]`: the revocation feed for offline verifiers.

use actix_web::{HttpRequest, HttpResponse};

use super::errors::ApiError;
use super::{client_auth, query_params, State};
use crate::oauth::clients::{self, PresentedClient};
use crate::oauth::feed;

#[tracing::instrument(name = "revocation_feed", skip_all)]
pub async fn revocations(req: HttpRequest, provider: State) -> Result<HttpResponse, ApiError> {
    let presented = PresentedClient {
        basic: client_auth::basic_credentials(&req)?,
        ..PresentedClient::default()
    };
    clients::authenticate(&provider, presented).await?;
    let query = query_params(&req);
    let page = feed::page(&provider, query.get("since").map(String::as_str)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-cache"))
        .json(page))
}
