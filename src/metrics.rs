//! Prometheus metrics, one registry per running application (no global registry, so many
//! servers can share a test process).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    /// By route pattern (never the raw path: bounded label values), method and status.
    pub http_requests: HistogramVec,
    pub tokens_issued: IntCounterVec,
    pub refresh_reuse_detected: IntCounter,
    pub failed_logins: IntCounter,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = HistogramVec::new(
            HistogramOpts::new(
                "tessera_http_request_duration_seconds",
                "HTTP requests by endpoint, method and status, with their latency",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["endpoint", "method", "status"],
        )
        .expect("valid histogram");
        let tokens_issued = IntCounterVec::new(
            Opts::new(
                "tessera_tokens_issued_total",
                "Access tokens issued, by grant",
            ),
            &["grant"],
        )
        .expect("valid counter");
        let refresh_reuse_detected = IntCounter::new(
            "tessera_refresh_reuse_detected_total",
            "Retired refresh tokens presented again (the session was revoked)",
        )
        .expect("valid counter");
        let failed_logins = IntCounter::new(
            "tessera_failed_logins_total",
            "Logins refused for a wrong username or password, or a disabled user",
        )
        .expect("valid counter");
        for c in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(tokens_issued.clone()),
            Box::new(refresh_reuse_detected.clone()),
            Box::new(failed_logins.clone()),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        Self {
            registry,
            http_requests,
            tokens_issued,
            refresh_reuse_detected,
            failed_logins,
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("encoding metrics into memory cannot fail");
        String::from_utf8(buf).expect("the text format is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
