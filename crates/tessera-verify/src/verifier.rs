//! The verifier: built once per service, shared by every request.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::http::HttpClient;
use crate::jwks::{CachePolicy, JwksCache, Source};
use crate::{Error, RevocationFollower};

pub struct Verifier {
    issuer: String,
    audience: String,
    leeway: u64,
    jwks: JwksCache,
    revocations: Option<Arc<RevocationFollower>>,
}

/// Longer than any token Tessera issues; a bound on the work an attacker can ask for.
const MAX_TOKEN_LEN: usize = 16 * 1024;

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
}

/// The claims the verifier itself checks, borrowed from the payload.
#[derive(Deserialize)]
struct Registered<'a> {
    #[serde(borrow, default)]
    iss: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    sub: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    aud: Option<Audience<'a>>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(borrow, default)]
    token_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    sid: Option<Cow<'a, str>>,
}

/// RFC 7519 §4.1.3: one audience or several.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience<'a> {
    #[serde(borrow)]
    One(Cow<'a, str>),
    #[serde(borrow)]
    Many(Vec<Cow<'a, str>>),
}

fn decode_part(part: &str) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| Error::Malformed)
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
    ///
    /// Each part of the token is decoded and parsed once; the signature is checked with a key
    /// parsed once per JWKS fetch.
    pub async fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<C, Error> {
        let mut parts = token.splitn(4, '.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::Malformed);
        };
        if token.len() > MAX_TOKEN_LEN {
            return Err(Error::Malformed);
        }
        let header_json = decode_part(header_b64)?;
        let header: Header<'_> =
            serde_json::from_slice(&header_json).map_err(|_| Error::Malformed)?;
        // Pinned: the header's alg is only compared, never obeyed (RFC 8725 §3.1).
        if header.alg != "RS256" {
            return Err(Error::Algorithm);
        }
        // RFC 9068 §4: access tokens are typed, so no other JWT of the issuer passes for one.
        let typ = header.typ.as_deref().unwrap_or("");
        if !(typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")) {
            return Err(Error::NotAnAccessToken);
        }
        let kid = header.kid.ok_or(Error::MissingKeyId)?;
        let key = self.jwks.key(&kid).await?;
        let signature = decode_part(signature_b64)?;
        let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
        key.verify_sig(signing_input, &signature)
            .map_err(|_| Error::Signature)?;

        let payload = decode_part(payload_b64)?;
        let registered: Registered<'_> =
            serde_json::from_slice(&payload).map_err(|_| Error::Claims)?;
        self.check(&registered)?;
        if let (Some(feed), Some(sid)) = (&self.revocations, registered.sid.as_deref()) {
            if feed.is_revoked(sid) {
                return Err(Error::Revoked);
            }
        }
        serde_json::from_slice(&payload).map_err(|_| Error::Claims)
    }

    /// RFC 7519 §4.1 and RFC 9068 §2.2: every claim required, times within the leeway.
    fn check(&self, c: &Registered<'_>) -> Result<(), Error> {
        let now = now_epoch();
        let leeway = self.leeway as i64;
        let (Some(exp), Some(iat), Some(_sub)) = (c.exp, c.iat, c.sub.as_deref()) else {
            return Err(Error::Claims);
        };
        if now > exp.saturating_add(leeway) {
            return Err(Error::Expired);
        }
        if c.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway))
            || iat > now.saturating_add(leeway)
        {
            return Err(Error::NotYetValid);
        }
        match c.iss.as_deref() {
            Some(iss) if iss == self.issuer => {}
            Some(_) => return Err(Error::Issuer),
            None => return Err(Error::Claims),
        }
        let audience_ok = match &c.aud {
            Some(Audience::One(aud)) => *aud == self.audience,
            Some(Audience::Many(auds)) => auds.iter().any(|a| *a == self.audience),
            None => return Err(Error::Claims),
        };
        if !audience_ok {
            return Err(Error::Audience);
        }
        if c.token_type.as_deref() != Some("access") {
            return Err(Error::NotAnAccessToken);
        }
        Ok(())
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
        Ok(Verifier {
            leeway: self.leeway.as_secs(),
            jwks: JwksCache::new(source, http, self.policy),
            revocations: self.revocations,
            issuer: self.issuer,
            audience: self.audience,
        })
    }
}
