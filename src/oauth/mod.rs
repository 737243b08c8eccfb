//! The protocol: grants, tokens, keys, sessions. Never sees an HTTP request: the web layer
//! extracts plain values and calls one function here.

pub mod access;
pub mod admin;
pub mod authorize;
pub mod browser;
pub mod clients;
pub mod django_import;
pub mod drf;
mod error;
pub mod events;
pub mod feed;
pub mod grants;
pub mod housekeeping;
pub mod introspection;
pub mod jwt;
pub mod keys;
pub mod passwords;
pub mod revocation;
pub mod secrets;
mod sessions;
pub mod tokens;
pub mod userinfo;
pub mod users;

use std::sync::Arc;

pub use error::OAuthError;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::store::{DbConnection, Pool};
use keys::KeyStore;
use passwords::PasswordHasher;

/// Everything a request needs, built once at start and shared.
pub struct Provider {
    /// `iss` of every token; also the audience of refresh tokens.
    pub issuer: String,
    pub settings: Settings,
    pool: Pool,
    pub keys: KeyStore,
    pub passwords: PasswordHasher,
    pub metrics: Arc<Metrics>,
    /// Failed browser sign-ins, per account and per address.
    pub login_throttle: browser::LoginThrottle,
    pub clients: clients::ClientCache,
}

impl Provider {
    pub fn new(
        issuer: String,
        settings: Settings,
        pool: Pool,
        keys: KeyStore,
        passwords: PasswordHasher,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            issuer,
            settings,
            pool,
            keys,
            passwords,
            metrics,
            // Five failures per account, fifty per address, in any fifteen minutes.
            login_throttle: browser::LoginThrottle::new(std::time::Duration::from_secs(900), 5, 50),
            clients: clients::ClientCache::new(std::time::Duration::from_secs(10)),
        }
    }

    /// Runs blocking database work on the blocking pool, with the caller's tracing span.
    pub async fn db<T, F>(&self, work: F) -> Result<T, OAuthError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, OAuthError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            span.in_scope(|| {
                let mut conn = pool.get().map_err(crate::store::StoreError::from)?;
                work(&mut conn)
            })
        })
        .await
        .map_err(OAuthError::internal)?
    }

    /// Is the database reachable? For `/readyz`.
    pub async fn ready(&self) -> bool {
        self.db(|conn| Ok(crate::store::ping(conn)?)).await.is_ok()
    }
}
