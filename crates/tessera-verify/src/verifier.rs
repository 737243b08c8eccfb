//! The verifier: built once per service, shared by every request.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, Validation};
use serde::de::DeserializeOwned;

use crate::http::HttpClient;
use crate::jwks::{CachePolicy, JwksCache, Source};
use crate::{Error, RevocationFollower};

pub struct Verifier {
    issuer: String,
    audience: String,
    leeway: u64,
    jwks: JwksCache,
    revocations: Option<Arc<RevocationFollower>>,
    validation: Validation,
}

pub struct VerifierBuilder {
    issuer: String,
    audience: String,
    jwks_url: Option<String>,
    leeway: Duration,
    policy: CachePolicy,
    http: Option<Arc<dyn HttpClient>>,
    revocations: Option<Arc<RevocationFollower>>,
}

impl Verifier {
    /// Issuer and audience are required: a verifier that skipped either would accept tokens
    /// minted for someone else.
    pub fn builder(issuer: impl Into<String>, audience: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            audience: audience.into(),
            jwks_url: None,
            leeway: Duration::from_secs(30),
            policy: CachePolicy {
                min_ttl: Duration::from_secs(60),
                max_ttl: Duration::from_secs(3600),
                refetch_cooldown: Duration::from_secs(30),
                max_stale: Duration::from_secs(3600),
            },
            http: None,
            revocations: None,
        }
    }

    /// Verifies an access token and returns its claims as `C` (often [`crate::AccessClaims`]).
    pub async fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<C, Error> {
        // Pinned: the header's alg is only compared, never obeyed (RFC 8725 §3.1). Read it
        // ourselves first, so `none` and other algorithms are named as such.
        if header_alg(token)? != "RS256" {
            return Err(Error::Algorithm);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::Malformed)?;
        // RFC 9068 §4: access tokens are typed, so no other JWT of the issuer passes for one.
        if !header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
        }) {
            return Err(Error::NotAnAccessToken);
        }
        let kid = header.kid.ok_or(Error::MissingKeyId)?;
        let key = self.jwks.key(&kid).await?;
        let claims: serde_json::Value = jsonwebtoken::decode(token, &key, &self.validation)
            .map(|data| data.claims)
            .map_err(map_jwt_error)?;
        if claims["token_type"] != "access" {
            return Err(Error::NotAnAccessToken);
        }
        if claims["iat"]
            .as_i64()
            .is_some_and(|iat| iat > now_epoch() + self.leeway as i64)
        {
            return Err(Error::NotYetValid);
        }
        if let (Some(feed), Some(sid)) = (&self.revocations, claims["sid"].as_str()) {
            if feed.is_revoked(sid) {
                return Err(Error::Revoked);
            }
        }
        serde_json::from_value(claims).map_err(|_| Error::Claims)
    }

    /// How many times the JWKS has been fetched (for monitoring, and for tests).
    pub fn jwks_fetch_count(&self) -> u64 {
        self.jwks.fetch_count()
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }
}

fn map_jwt_error(e: jsonwebtoken::errors::Error) -> Error {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => Error::Expired,
        ErrorKind::ImmatureSignature => Error::NotYetValid,
        ErrorKind::InvalidIssuer => Error::Issuer,
        ErrorKind::InvalidAudience => Error::Audience,
        ErrorKind::InvalidSignature => Error::Signature,
        ErrorKind::InvalidAlgorithm => Error::Algorithm,
        ErrorKind::MissingRequiredClaim(_) => Error::Claims,
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => Error::Malformed,
        _ => Error::Claims,
    }
}

/// The `alg` of a compact JWS's protected header.
fn header_alg(token: &str) -> Result<String, Error> {
    use base64::Engine;
    let encoded = token
        .split('.')
        .next()
        .filter(|h| !h.is_empty())
        .ok_or(Error::Malformed)?;
    if token.split('.').count() != 3 || encoded.len() > 4096 {
        return Err(Error::Malformed);
    }
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| Error::Malformed)?;
    let header: serde_json::Value = serde_json::from_slice(&raw).map_err(|_| Error::Malformed)?;
    header["alg"]
        .as_str()
        .map(str::to_owned)
        .ok_or(Error::Malformed)
}

fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl VerifierBuilder {
    /// Where the JWKS lives. Without it, `jwks_uri` is read from the issuer's discovery
    /// document at the first fetch.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// Clock skew allowed on `exp`, `nbf` and `iat` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Bounds on how long the JWKS is cached, whatever its `max-age` says (default 60 s–1 h).
    pub fn cache_ttl(mut self, min: Duration, max: Duration) -> Self {
        self.policy.min_ttl = min;
        self.policy.max_ttl = max;
        self
    }

    /// Least time between two refetches for unknown `kid`s or after failures (default 30 s).
    pub fn refetch_cooldown(mut self, cooldown: Duration) -> Self {
        self.policy.refetch_cooldown = cooldown;
        self
    }

    /// How long past freshness cached keys keep verifying while the issuer is unreachable
    /// (default 1 h).
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.policy.max_stale = max_stale;
        self
    }

    pub fn http_client(mut self, http: Arc<dyn HttpClient>) -> Self {
        self.http = Some(http);
        self
    }

    /// Refuse tokens whose session this follower has seen revoked.
    pub fn revocations(mut self, follower: Arc<RevocationFollower>) -> Self {
        self.revocations = Some(follower);
        self
    }

    pub fn build(self) -> Result<Verifier, Error> {
        if !(self.issuer.starts_with("https://") || self.issuer.starts_with("http://")) {
            return Err(Error::Config("the issuer must be an http(s) URL".into()));
        }
        if self.audience.is_empty() {
            return Err(Error::Config("the audience must not be empty".into()));
        }
        if self.policy.min_ttl > self.policy.max_ttl {
            return Err(Error::Config(
                "the minimum cache lifetime exceeds the maximum".into(),
            ));
        }
        let http = match self.http {
            Some(http) => http,
            #[cfg(feature = "reqwest")]
            None => Arc::new(crate::http::ReqwestClient::default()),
            #[cfg(not(feature = "reqwest"))]
            None => {
                return Err(Error::Config(
                    "no HTTP client: enable the reqwest feature or pass one".into(),
                ))
            }
        };
        let source = match self.jwks_url {
            Some(url) => Source::Url(url),
            None => Source::Discovery {
                issuer: self.issuer.clone(),
                found: tokio::sync::OnceCell::new(),
            },
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = self.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        Ok(Verifier {
            leeway: self.leeway.as_secs(),
            jwks: JwksCache::new(source, http, self.policy),
            revocations: self.revocations,
            validation,
            issuer: self.issuer,
            audience: self.audience,
        })
    }
}
