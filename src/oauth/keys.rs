//! Signing keys: RSA-2048 in the keys directory, metadata in the `signing_keys` table.
//!
//! A key is published in the JWKS from its creation and signs from `signs_from` on
//! (CONTRACT §5). The first key of a fresh installation signs at once: no verifier can have
//! cached an older set.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{NaiveDateTime, TimeDelta};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde::de::DeserializeOwned;

use super::jwt::{JwtType, Signer};
use crate::store::signing_keys::{self, SigningKeyRow};
use crate::store::DbConnection;

const KEY_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("keys directory {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("key {kid}: {reason}")]
    Invalid { kid: String, reason: String },
    #[error("RSA key generation failed: {0}")]
    Generate(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("no key is ready to sign")]
    NoSigningKey,
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
}

/// One key, parsed once.
pub struct LoadedKey {
    pub kid: String,
    pub signer: Arc<Signer>,
    decoding: DecodingKey,
    jwk: serde_json::Value,
    pub signs_from: NaiveDateTime,
}

/// The keys in force, swapped whole on reload so readers never see half a rotation.
pub struct KeySet {
    keys: Vec<LoadedKey>,
    jwks_body: Arc<[u8]>,
    etag: String,
}

impl KeySet {
    /// The newest key whose `signs_from` has passed.
    pub fn signer(&self, now: NaiveDateTime) -> Option<&Arc<Signer>> {
        self.keys
            .iter()
            .filter(|k| k.signs_from <= now)
            .max_by_key(|k| k.signs_from)
            .map(|k| &k.signer)
    }

    pub fn jwks_body(&self) -> Arc<[u8]> {
        self.jwks_body.clone()
    }

    pub fn etag(&self) -> &str {
        &self.etag
    }

    /// Verifies an RS256 JWT of ours: the algorithm is pinned (never read from the header),
    /// the `typ` must match, the `kid` must name a published key, and `exp`, `iss` and `aud`
    /// are checked with no leeway (our own clock issued the token).
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: JwtType,
        issuer: &str,
        audience: &str,
    ) -> Result<T, VerifyError> {
        self.verify_for(token, typ, issuer, Some(audience))
    }

    /// As `verify`; `audience: None` accepts any audience, for our own endpoints (introspection,
    /// userinfo, revocation, the admin API) that serve tokens minted for any resource server.
    pub fn verify_for<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: JwtType,
        issuer: &str,
        audience: Option<&str>,
    ) -> Result<T, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        if header.alg != Algorithm::RS256 {
            return Err(VerifyError::Algorithm);
        }
        if header.typ.as_deref() != Some(typ.header_value()) {
            return Err(VerifyError::Type);
        }
        let kid = header.kid.ok_or(VerifyError::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(VerifyError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = 0;
        validation.set_issuer(&[issuer]);
        match audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<T>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => VerifyError::Expired,
                jsonwebtoken::errors::ErrorKind::InvalidSignature => VerifyError::Signature,
                _ => VerifyError::Claims,
            })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("token is not a well-formed JWT")]
    Malformed,
    #[error("token is not signed with RS256")]
    Algorithm,
    #[error("token has the wrong type")]
    Type,
    #[error("token was signed by an unknown key")]
    UnknownKey,
    #[error("token signature is invalid")]
    Signature,
    #[error("token has expired")]
    Expired,
    #[error("token claims are invalid")]
    Claims,
}

pub struct KeyStore {
    dir: PathBuf,
    current: RwLock<Arc<KeySet>>,
    jwks_max_age: u64,
    /// How long a superseded key stays published: the longest a token it signed can live.
    retain_for: TimeDelta,
}

impl KeyStore {
    /// Loads the keys recorded in the database from `dir`, generating the first key of a
    /// fresh installation. Blocking: file I/O, SQL and possibly RSA key generation.
    pub fn open(
        conn: &mut DbConnection,
        dir: &Path,
        activation_delay: std::time::Duration,
        retain_for: std::time::Duration,
    ) -> Result<Self, KeyError> {
        let retain_for =
            TimeDelta::from_std(retain_for).expect("lifetimes are bounded by the configuration");
        std::fs::create_dir_all(dir).map_err(|e| KeyError::Io(dir.to_owned(), e))?;
        let mut rows = signing_keys::list(conn)?;
        if !rows.iter().any(|r| r.retired_at.is_none()) {
            let now = crate::domain::now();
            let kid = generate_key_file(dir)?;
            signing_keys::insert(
                conn,
                &SigningKeyRow {
                    kid,
                    created_at: now,
                    signs_from: now,
                    retired_at: None,
                },
            )?;
            rows = signing_keys::list(conn)?;
        }
        let set = load_set(dir, &rows, crate::domain::now(), retain_for)?;
        // Verifiers may cache the set at most as long as a new key waits before signing, so
        // they pick it up before it is used; five minutes at most for leaked-key rotations.
        let jwks_max_age = activation_delay.as_secs().min(300);
        Ok(Self {
            dir: dir.to_owned(),
            current: RwLock::new(Arc::new(set)),
            jwks_max_age,
            retain_for,
        })
    }

    pub fn current(&self) -> Arc<KeySet> {
        self.current.read().expect("key set lock poisoned").clone()
    }

    pub fn jwks_max_age(&self) -> u64 {
        self.jwks_max_age
    }

    /// Re-reads the key metadata and files (another instance may have rotated).
    pub fn reload(&self, conn: &mut DbConnection) -> Result<(), KeyError> {
        let rows = signing_keys::list(conn)?;
        let set = load_set(&self.dir, &rows, crate::domain::now(), self.retain_for)?;
        *self.current.write().expect("key set lock poisoned") = Arc::new(set);
        Ok(())
    }

    /// Adds a new key (CONTRACT §5). It is published at once and signs after `delay`, so
    /// verifiers that refresh their JWKS within the delay never meet an unknown `kid`.
    /// `immediate` is for a leaked key: the new key signs now and every other key is retired,
    /// so everything they signed stops verifying. Reloads this instance's key set; others
    /// follow at their next reload.
    pub fn rotate(
        &self,
        conn: &mut DbConnection,
        delay: std::time::Duration,
        immediate: bool,
    ) -> Result<SigningKeyRow, KeyError> {
        let now = crate::domain::now();
        let kid = generate_key_file(&self.dir)?;
        let signs_from = if immediate {
            now
        } else {
            now + TimeDelta::from_std(delay).expect("delay is bounded by the configuration")
        };
        let row = SigningKeyRow {
            kid: kid.clone(),
            created_at: now,
            signs_from,
            retired_at: None,
        };
        crate::store::write_transaction(conn, |conn| {
            signing_keys::insert(conn, &row)?;
            if immediate {
                signing_keys::retire_all_except(conn, &kid, now)?;
            }
            Ok::<_, KeyError>(())
        })?;
        self.reload(conn)?;
        Ok(row)
    }
}

/// The keys to publish at `now`: unretired keys, less those superseded by a newer signing key
/// longer ago than any token lives.
fn load_set(
    dir: &Path,
    rows: &[SigningKeyRow],
    now: NaiveDateTime,
    retain_for: TimeDelta,
) -> Result<KeySet, KeyError> {
    let mut live: Vec<&SigningKeyRow> = rows.iter().filter(|r| r.retired_at.is_none()).collect();
    live.sort_by_key(|r| r.signs_from);
    let mut keys = Vec::new();
    for (i, row) in live.iter().enumerate() {
        let superseded_at = live[i + 1..]
            .iter()
            .map(|r| r.signs_from)
            .find(|t| *t <= now);
        if superseded_at.is_some_and(|t| t + retain_for < now) {
            continue;
        }
        keys.push(load_key(dir, row)?);
    }
    let jwks = serde_json::json!({ "keys": keys.iter().map(|k| &k.jwk).collect::<Vec<_>>() });
    let body = serde_json::to_vec(&jwks).expect("a JSON value serialises");
    let digest = crate::oauth::secrets::sha256(&body);
    let etag = format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..16]));
    Ok(KeySet {
        keys,
        jwks_body: body.into(),
        etag,
    })
}

fn key_path(dir: &Path, kid: &str) -> PathBuf {
    dir.join(format!("{kid}.pem"))
}

fn load_key(dir: &Path, row: &SigningKeyRow) -> Result<LoadedKey, KeyError> {
    let invalid = |reason: String| KeyError::Invalid {
        kid: row.kid.clone(),
        reason,
    };
    let path = key_path(dir, &row.kid);
    let pem = std::fs::read_to_string(&path).map_err(|e| KeyError::Io(path.clone(), e))?;
    let private = rsa::PrivateKey::from_pkcs8_pem(&pem).map_err(|e| invalid(e.to_string()))?;
    let der = private.to_pkcs8_der().map_err(|e| invalid(e.to_string()))?;
    let key_pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(der.as_bytes())
        .map_err(|e| invalid(e.to_string()))?;
    let (n, e) = public_components(&private);
    if thumbprint(&n, &e) != row.kid {
        return Err(invalid(format!(
            "{} does not hold the key its name says",
            path.display()
        )));
    }
    let jwk = serde_json::json!({
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": row.kid, "n": n, "e": e,
    });
    Ok(LoadedKey {
        kid: row.kid.clone(),
        signer: Arc::new(Signer::new(row.kid.clone(), key_pair)),
        decoding: DecodingKey::from_rsa_components(&n, &e).map_err(|e| invalid(e.to_string()))?,
        jwk,
        signs_from: row.signs_from,
    })
}

/// base64url `n` and `e` of the public key.
fn public_components(key: &rsa::PrivateKey) -> (String, String) {
    (
        URL_SAFE_NO_PAD.encode(key.n_bytes()),
        URL_SAFE_NO_PAD.encode(key.e_bytes()),
    )
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(crate::oauth::secrets::sha256(canonical.as_bytes()))
}

/// Generates an RSA key, writes it as PKCS#8 PEM readable by the owner only, returns its kid.
pub fn generate_key_file(dir: &Path) -> Result<String, KeyError> {
    let mut rng = getrandom::SysRng;
    let private =
        rsa::PrivateKey::new(&mut rng, KEY_BITS).map_err(|e| KeyError::Generate(e.to_string()))?;
    let (n, e) = public_components(&private);
    let kid = thumbprint(&n, &e);
    let pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let path = key_path(dir, &kid);
    write_private(&path, pem.as_bytes()).map_err(|e| KeyError::Io(path, e))?;
    Ok(kid)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

impl KeySet {
    /// Signs with the current key.
    pub fn sign(
        &self,
        typ: JwtType,
        claims: &impl serde::Serialize,
    ) -> Result<String, anyhow::Error> {
        let signer = self
            .signer(crate::domain::now())
            .ok_or(KeyError::NoSigningKey)?;
        Ok(signer.sign(typ, claims)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
