//! The JWKS cache: fetched lazily, kept per `Cache-Control: max-age` within bounds,
//! revalidated with `ETag`, refetched at most once per cooldown (for an unknown `kid`, or
//! after a failure), with one fetch in flight however many requests want it. A stale set keeps
//! serving while one request revalidates it, and for `max_stale` while the issuer is down.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use tokio::sync::{Mutex, MutexGuard};

use crate::http::{HttpClient, Request};
use crate::Error;

#[derive(Debug, Clone)]
pub struct CachePolicy {
    pub min_ttl: Duration,
    pub max_ttl: Duration,
    /// Least time between two fetches triggered by an unknown `kid` or a failure.
    pub refetch_cooldown: Duration,
    /// How long past its freshness the cached set still verifies when the issuer is down.
    pub max_stale: Duration,
}

/// An RS256 public key, parsed once per fetch: parsing costs about a tenth of a verification.
pub type PublicKey = ParsedPublicKey;

struct KeySet {
    keys: HashMap<String, Arc<PublicKey>>,
    fresh_until: Instant,
    etag: Option<String>,
}

pub struct JwksCache {
    source: Source,
    http: Arc<dyn HttpClient>,
    policy: CachePolicy,
    current: RwLock<Option<Arc<KeySet>>>,
    /// Held while fetching; holds when the last fetch was attempted.
    fetching: Mutex<Option<Instant>>,
    fetches: AtomicU64,
}

pub enum Source {
    Url(String),
    /// Discover `jwks_uri` from the issuer's metadata at the first fetch.
    Discovery {
        issuer: String,
        found: tokio::sync::OnceCell<String>,
    },
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

impl JwksCache {
    pub fn new(source: Source, http: Arc<dyn HttpClient>, policy: CachePolicy) -> Self {
        Self {
            source,
            http,
            policy,
            current: RwLock::new(None),
            fetching: Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times the JWKS was requested from the issuer.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn snapshot(&self) -> Option<Arc<KeySet>> {
        self.current.read().expect("jwks lock poisoned").clone()
    }

    /// The key for `kid`. Steady state: a read lock and a map lookup, no I/O.
    pub async fn key(&self, kid: &str) -> Result<Arc<PublicKey>, Error> {
        let seen = self.snapshot();
        if let Some(set) = &seen {
            let now = Instant::now();
            let known = set.keys.get(kid);
            if now < set.fresh_until {
                if let Some(key) = known {
                    return Ok(key.clone());
                }
                // An unknown kid may be a new key: refetch below, at most once per cooldown.
            } else if let (Some(key), true) = (known, now < set.fresh_until + self.policy.max_stale)
            {
                // Stale: one request revalidates while the others carry on with what we have.
                let Ok(guard) = self.fetching.try_lock() else {
                    return Ok(key.clone());
                };
                return match self.refresh(guard, seen.clone()).await {
                    Ok(set) => set.keys.get(kid).cloned().ok_or(Error::UnknownKey),
                    Err(_) => Ok(key.clone()),
                };
            }
        }
        let guard = self.fetching.lock().await;
        let set = self.refresh(guard, seen).await?;
        set.keys.get(kid).cloned().ok_or(Error::UnknownKey)
    }

    /// Fetches (or revalidates) the set, unless another caller replaced `seen` while this one
    /// waited for the lock, or the cooldown forbids it. Falls back to a stale set within
    /// `max_stale` when the issuer fails.
    async fn refresh(
        &self,
        mut last_fetch: MutexGuard<'_, Option<Instant>>,
        seen: Option<Arc<KeySet>>,
    ) -> Result<Arc<KeySet>, Error> {
        let now = Instant::now();
        let cached = self.snapshot();
        if let Some(set) = &cached {
            let replaced = !seen.as_ref().is_some_and(|s| Arc::ptr_eq(s, set));
            if replaced && now < set.fresh_until {
                return Ok(set.clone());
            }
        }
        if let Some(last) = *last_fetch {
            if now.duration_since(last) < self.policy.refetch_cooldown {
                // Too soon after the last attempt for another one.
                return match &cached {
                    Some(set) => self.usable(set, now),
                    None => Err(Error::KeysUnavailable(
                        "the last fetch failed moments ago".into(),
                    )),
                };
            }
        }
        *last_fetch = Some(now);
        match self.fetch(cached.as_deref()).await {
            Ok(set) => {
                let set = Arc::new(set);
                *self.current.write().expect("jwks lock poisoned") = Some(set.clone());
                Ok(set)
            }
            Err(e) => {
                tracing::warn!(error = %e, "JWKS fetch failed");
                match &cached {
                    Some(set) => self.usable(set, now).map_err(|_| e),
                    None => Err(e),
                }
            }
        }
    }

    /// A cached set, if still within its freshness plus the allowed staleness.
    fn usable(&self, set: &Arc<KeySet>, now: Instant) -> Result<Arc<KeySet>, Error> {
        if now < set.fresh_until + self.policy.max_stale {
            Ok(set.clone())
        } else {
            Err(Error::KeysUnavailable(
                "the cached keys are too old and the issuer cannot be reached".into(),
            ))
        }
    }

    async fn jwks_url(&self) -> Result<String, Error> {
        match &self.source {
            Source::Url(url) => Ok(url.clone()),
            Source::Discovery { issuer, found } => found
                .get_or_try_init(|| async {
                    let url = format!("{issuer}/.well-known/openid-configuration");
                    let response = self
                        .http
                        .send(Request {
                            url,
                            ..Request::default()
                        })
                        .await
                        .map_err(Error::KeysUnavailable)?;
                    if response.status != 200 {
                        return Err(Error::KeysUnavailable(format!(
                            "discovery answered {}",
                            response.status
                        )));
                    }
                    let meta: serde_json::Value = serde_json::from_slice(&response.body)
                        .map_err(|_| Error::Upstream("discovery document is not JSON".into()))?;
                    if meta["issuer"] != issuer.as_str() {
                        return Err(Error::Upstream("discovery names another issuer".into()));
                    }
                    meta["jwks_uri"]
                        .as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| Error::Upstream("discovery has no jwks_uri".into()))
                })
                .await
                .cloned(),
        }
    }

    async fn fetch(&self, cached: Option<&KeySet>) -> Result<KeySet, Error> {
        let url = self.jwks_url().await?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let request = Request {
            url,
            if_none_match: cached.and_then(|c| c.etag.clone()),
            ..Request::default()
        };
        let response = self
            .http
            .send(request)
            .await
            .map_err(Error::KeysUnavailable)?;
        let ttl = self.ttl(response.cache_control.as_deref());
        let fresh_until = Instant::now() + ttl;
        match (response.status, cached) {
            (304, Some(cached)) => Ok(KeySet {
                keys: cached.keys.clone(),
                fresh_until,
                etag: response.etag.or_else(|| cached.etag.clone()),
            }),
            (200, _) => Ok(KeySet {
                keys: parse_keys(&response.body)?,
                fresh_until,
                etag: response.etag,
            }),
            (status, _) => Err(Error::KeysUnavailable(format!(
                "the JWKS endpoint answered {status}"
            ))),
        }
    }

    /// `max-age` clamped into the policy's bounds; the minimum when absent.
    fn ttl(&self, cache_control: Option<&str>) -> Duration {
        let max_age = cache_control.and_then(|cc| {
            cc.split(',')
                .filter_map(|d| d.trim().strip_prefix("max-age="))
                .find_map(|v| v.trim().parse::<u64>().ok())
        });
        let ttl = max_age.map_or(self.policy.min_ttl, Duration::from_secs);
        ttl.clamp(self.policy.min_ttl, self.policy.max_ttl)
    }
}

/// RSA signing keys for RS256 with a `kid`; everything else is ignored.
fn parse_keys(body: &[u8]) -> Result<HashMap<String, Arc<PublicKey>>, Error> {
    let jwks: Jwks = serde_json::from_slice(body)
        .map_err(|_| Error::Upstream("the JWKS is not valid JSON".into()))?;
    let mut keys = HashMap::new();
    for jwk in jwks.keys {
        let usable = jwk.kty == "RSA"
            && jwk.use_.as_deref().is_none_or(|u| u == "sig")
            && jwk.alg.as_deref().is_none_or(|a| a == "RS256");
        let (Some(kid), Some(n), Some(e), true) = (jwk.kid, jwk.n, jwk.e, usable) else {
            continue;
        };
        let (Ok(n), Ok(e)) = (URL_SAFE_NO_PAD.decode(n), URL_SAFE_NO_PAD.decode(e)) else {
            continue;
        };
        // RSA_PKCS1_2048_8192_SHA256 also refuses keys under 2048 bits.
        if let Ok(key) = (RsaPublicKeyComponents { n: &n, e: &e })
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        {
            keys.insert(kid, Arc::new(key));
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{KeyPair, RsaKeyPair};

    use super::*;
    use crate::http::{Response, ResponseFuture};

    /// Serves a JWKS with an ETag, answers 304 to a matching If-None-Match, records requests.
    struct Issuer {
        body: Vec<u8>,
        requests: Mutex<Vec<Request>>,
    }

    impl HttpClient for Issuer {
        fn send(&self, request: Request) -> ResponseFuture<'_> {
            let not_modified = request.if_none_match.as_deref() == Some("\"v1\"");
            self.requests.lock().unwrap().push(request);
            let body = if not_modified {
                Vec::new()
            } else {
                self.body.clone()
            };
            let status = if not_modified { 304 } else { 200 };
            Box::pin(async move {
                Ok(Response {
                    status,
                    etag: Some("\"v1\"".into()),
                    cache_control: Some("max-age=0".into()),
                    body,
                })
            })
        }
    }

    fn jwks() -> Vec<u8> {
        let generated =
            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pair = RsaKeyPair::from_pkcs8(generated.as_der().unwrap().as_ref()).unwrap();
        let public = pair.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        serde_json::to_vec(&serde_json::json!({ "keys": [
            { "kty": "RSA", "kid": "good", "use": "sig", "alg": "RS256", "n": n, "e": e },
            { "kty": "RSA", "kid": "enc", "use": "enc", "alg": "RS256", "n": n, "e": e },
            { "kty": "RSA", "kid": "ps", "use": "sig", "alg": "PS256", "n": n, "e": e },
            { "kty": "EC", "kid": "ec", "crv": "P-256", "x": "x", "y": "y" },
            { "kty": "RSA", "use": "sig", "alg": "RS256", "n": n, "e": e },
        ]}))
        .unwrap()
    }

    #[tokio::test]
    async fn revalidates_with_the_etag_and_ignores_keys_it_must_not_use() {
        let issuer = Arc::new(Issuer {
            body: jwks(),
            requests: Mutex::new(Vec::new()),
        });
        let policy = CachePolicy {
            // Stale at once, so the second lookup revalidates.
            min_ttl: Duration::ZERO,
            max_ttl: Duration::ZERO,
            refetch_cooldown: Duration::ZERO,
            max_stale: Duration::from_secs(60),
        };
        let cache = JwksCache::new(
            Source::Url("http://issuer.invalid/jwks".into()),
            issuer.clone(),
            policy,
        );

        assert!(cache.key("good").await.is_ok());
        for ignored in ["enc", "ps", "ec"] {
            assert_eq!(
                cache.key(ignored).await.unwrap_err(),
                Error::UnknownKey,
                "{ignored}"
            );
        }
        // Revalidated with If-None-Match; the 304 keeps the keys.
        assert!(cache.key("good").await.is_ok());

        let requests = issuer.requests.lock().unwrap();
        assert!(requests.len() >= 2);
        assert_eq!(requests[0].if_none_match, None);
        assert!(requests[1..]
            .iter()
            .all(|r| r.if_none_match.as_deref() == Some("\"v1\"")));
    }
}
