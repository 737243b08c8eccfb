//! Cross-cutting request handling: the body-size guard, a tracing span and metrics.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};
use tracing::Instrument;

use super::body::MAX_BODY;
use super::errors::ApiError;
use super::State;

/// Refuses declared oversized bodies on every endpoint before any handler runs, and records
/// each request's latency by route pattern, method and status.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let started = Instant::now();
    let endpoint = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().as_str().to_owned();
    let metrics = req.app_data::<State>().map(|s| s.metrics.clone());

    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let response = if declared.is_some_and(|n| n > MAX_BODY as u64) {
        let (http_req, _) = req.into_parts();
        ServiceResponse::new(http_req, ApiError::PayloadTooLarge.error_response())
    } else {
        let span = tracing::info_span!("request", %method, path = %req.path());
        next.call(req).instrument(span).await?.map_into_boxed_body()
    };

    if let Some(metrics) = metrics {
        metrics
            .http_requests
            .with_label_values(&[
                endpoint.as_str(),
                method.as_str(),
                response.status().as_str(),
            ])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}
