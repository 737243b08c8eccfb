//! RFC 7662 introspection, for opaque `Token` keys (DRF authtoken) and for services that want
//! a per-request check. Answers are cached briefly, keyed by the token's SHA-256; refresh
//! tokens are reported inactive, since they are never credentials for a resource server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::http::{HttpClient, Request};
use crate::Error;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub token_use: Option<String>,
}

/// A bound on the cache: past it, the cache starts over (answers are short-lived anyway).
const MAX_CACHED: usize = 10_000;

pub struct Introspector {
    url: String,
    client: (String, String),
    http: Arc<dyn HttpClient>,
    ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], (Instant, Introspection)>>,
}

impl Introspector {
    /// `ttl` bounds how stale an answer may be: a revocation shows after at most that long.
    pub fn new(
        issuer: &str,
        client_id: &str,
        client_secret: &str,
        ttl: Duration,
        http: Arc<dyn HttpClient>,
    ) -> Self {
        Self {
            url: format!("{}/oauth/introspect", issuer.trim_end_matches('/')),
            client: (client_id.to_owned(), client_secret.to_owned()),
            http,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub async fn introspect(&self, token: &str) -> Result<Introspection, Error> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = Instant::now();
        if let Some((at, answer)) = self
            .cache
            .lock()
            .expect("introspection cache poisoned")
            .get(&key)
        {
            if now.duration_since(*at) < self.ttl {
                return Ok(answer.clone());
            }
        }
        let request = Request {
            url: self.url.clone(),
            basic_auth: Some(self.client.clone()),
            form: Some(vec![("token".into(), token.to_owned())]),
            ..Request::default()
        };
        let response = self.http.send(request).await.map_err(Error::Upstream)?;
        if response.status != 200 {
            return Err(Error::Upstream(format!(
                "introspection answered {}",
                response.status
            )));
        }
        let mut answer: Introspection = serde_json::from_slice(&response.body)
            .map_err(|_| Error::Upstream("introspection answered with something else".into()))?;
        // A refresh token is never a credential for a resource server.
        if answer.token_use.as_deref() == Some("refresh_token") {
            answer = Introspection::default();
        }
        let mut cache = self.cache.lock().expect("introspection cache poisoned");
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(key, (now, answer.clone()));
        Ok(answer)
    }
}
