//! Password hashing with argon2id (OWASP parameters), off the async workers and bounded.
//!
//! Each hash or verify takes ~60 ms of CPU and 19 MiB of memory. A semaphore bounds how many
//! run at once, so a login flood queues instead of exhausting memory or starving the workers.

use std::sync::Arc;

use argon2::password_hash::PasswordVerifier;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, Version};
use tokio::sync::Semaphore;

use crate::domain::Password;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing task failed")]
    Task,
}

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A real hash of a random password: verifying against it costs what a real check costs,
    /// so the response time does not reveal whether a username exists.
    dummy_hash: Arc<str>,
}

/// OWASP's first Argon2id recommendation: m = 19 MiB, t = 2, p = 1 (argon2's defaults).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Checks a password against a stored hash: Tessera's argon2id, or a hash imported from
/// Django (`pbkdf2_sha256$…`, `argon2$…`). Django's unusable passwords (`!…`) never match.
fn verify_blocking(password: &str, hash: &str) -> bool {
    if let Some(django) = hash.strip_prefix("pbkdf2_sha256$") {
        return verify_django_pbkdf2(password, django);
    }
    // Django stores argon2 as "argon2" followed by the PHC string ("$argon2id$v=19$…").
    let phc = hash
        .strip_prefix("argon2$")
        .map_or(hash, |_| &hash["argon2".len()..]);
    if !phc.starts_with("$argon2") {
        return false;
    }
    argon2().verify_password(password.as_bytes(), phc).is_ok()
}

/// Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` (the part after the algorithm).
fn verify_django_pbkdf2(password: &str, encoded: &str) -> bool {
    use base64::Engine;
    let mut parts = encoded.splitn(3, '$');
    let (Some(iterations), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some(iterations) = iterations
        .parse::<u32>()
        .ok()
        .and_then(std::num::NonZeroU32::new)
    else {
        return false;
    };
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(expected) else {
        return false;
    };
    aws_lc_rs::pbkdf2::verify(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt.as_bytes(),
        password.as_bytes(),
        &expected,
    )
    .is_ok()
}

/// Whether a stored hash should be replaced by Tessera's own after a successful login.
pub fn needs_rehash(hash: &str) -> bool {
    !hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
}

/// Whether `hash` is a form `verify` understands (for imports).
pub fn is_supported_hash(hash: &str) -> bool {
    let django_pbkdf2 = hash.strip_prefix("pbkdf2_sha256$").is_some_and(|rest| {
        let parts: Vec<&str> = rest.splitn(3, '$').collect();
        parts.len() == 3 && parts[0].parse::<u32>().is_ok_and(|n| n > 0)
    });
    django_pbkdf2 || hash.starts_with("argon2$argon2") || hash.starts_with("$argon2")
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> Result<Self, PasswordError> {
        let dummy = hash_blocking(&crate::oauth::secrets::random_token(16))?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            dummy_hash: dummy.into(),
        })
    }

    pub async fn hash(&self, password: &Password) -> Result<String, PasswordError> {
        let password = password.clone();
        self.run(move || hash_blocking(password.expose())).await?
    }

    /// Checks `password` against `stored`, or against the dummy hash when there is no user,
    /// so both cases cost the same.
    pub async fn verify(
        &self,
        password: &Password,
        stored: Option<String>,
    ) -> Result<bool, PasswordError> {
        let password = password.clone();
        let (hash, real) = match stored {
            Some(hash) => (hash, true),
            None => (self.dummy_hash.to_string(), false),
        };
        let ok = self
            .run(move || verify_blocking(password.expose(), &hash))
            .await?;
        Ok(ok && real)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::Task)?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(work))
            .await
            .map_err(|_| PasswordError::Task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let hasher = PasswordHasher::new(2).unwrap();
        let pw = Password::parse("correct horse battery".into()).unwrap();
        let hash = hasher.hash(&pw).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(hasher.verify(&pw, Some(hash.clone())).await.unwrap());
        let wrong = Password::for_login("wrong horse battery".into());
        assert!(!hasher.verify(&wrong, Some(hash)).await.unwrap());
        // No user: the dummy hash is checked and the answer is always no.
        assert!(!hasher.verify(&pw, None).await.unwrap());
    }
}
