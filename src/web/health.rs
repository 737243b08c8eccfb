//! Liveness, readiness and metrics.

use actix_web::HttpResponse;

use super::State;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Ready when the database answers.
pub async fn readyz(provider: State) -> HttpResponse {
    if provider.ready().await {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "unavailable", "reason": "database unreachable" }))
    }
}

pub async fn metrics(provider: State) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(provider.metrics.render())
}
