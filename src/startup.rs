//! `Application::build` binds the listener, prepares storage and keys, and returns a server
//! that reports its real port: tests and production start the same way.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::oauth::keys::KeyStore;
use crate::oauth::passwords::PasswordHasher;
use crate::oauth::Provider;
use crate::store;
use crate::web::{
    admin, authorize, body::MAX_BODY, discovery, drf, errors, feed, health, introspect, middleware,
    revoke, token, userinfo,
};

pub struct Application {
    port: u16,
    issuer: String,
    server: Server,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let addr = listener.local_addr()?;
        let issuer = settings
            .issuer
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));

        let provider = tokio::task::spawn_blocking(move || prepare(settings, issuer))
            .await
            .context("start-up task failed")??;
        let issuer = provider.issuer.clone();
        let workers = provider.settings.workers;
        let data = web::Data::new(provider);
        spawn_background_jobs(&data);

        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY))
                .wrap(from_fn(middleware::observe))
                .configure(routes)
                .default_service(web::to(errors::not_found))
        })
        .workers(workers)
        .listen(listener)?
        .run();
        tracing::info!(%addr, %issuer, "listening");
        Ok(Self {
            port: addr.port(),
            issuer,
            server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Stops the server (tests use it to run a second instance, or to stop one mid-test).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The route table: every endpoint, in one place.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/.well-known/openid-configuration",
        web::get().to(discovery::metadata),
    )
    .route(
        "/.well-known/oauth-authorization-server",
        web::get().to(discovery::metadata),
    )
    .route("/.well-known/jwks.json", web::get().to(discovery::jwks))
    .route("/oauth/token", web::post().to(token::token))
    .route("/oauth/revoke", web::post().to(revoke::revoke))
    .route("/oauth/introspect", web::post().to(introspect::introspect))
    .route("/oauth/revocations", web::get().to(feed::revocations))
    .route("/userinfo", web::get().to(userinfo::userinfo))
    .route("/oauth/authorize", web::get().to(authorize::authorize))
    .route("/oauth/authorize/login", web::post().to(authorize::login))
    .route(
        "/oauth/authorize/consent",
        web::post().to(authorize::consent),
    )
    .route("/oauth/logout", web::get().to(authorize::logout))
    .route("/oauth/logout", web::post().to(authorize::logout))
    .route("/api/token/", web::post().to(drf::obtain_pair))
    .route("/api/token/refresh/", web::post().to(drf::refresh))
    .route("/api/token/verify/", web::post().to(drf::verify))
    .route("/api/token/blacklist/", web::post().to(drf::blacklist))
    .route("/api-token-auth/", web::post().to(drf::obtain_api_token))
    .route("/userinfo", web::post().to(userinfo::userinfo))
    .service(
        web::scope("/admin")
            .route("/users", web::post().to(admin::users::create))
            .route("/users", web::get().to(admin::users::list))
            .route("/users/{id}", web::get().to(admin::users::get))
            .route("/users/{id}", web::patch().to(admin::users::patch))
            .route("/users/{id}", web::delete().to(admin::users::delete))
            .route(
                "/users/{id}/sessions",
                web::delete().to(admin::users::revoke_sessions),
            )
            .route("/clients", web::post().to(admin::clients::create))
            .route("/clients", web::get().to(admin::clients::list))
            .route("/clients/{client_id}", web::get().to(admin::clients::get))
            .route(
                "/clients/{client_id}",
                web::delete().to(admin::clients::delete),
            )
            .route("/sessions", web::get().to(admin::sessions::list))
            .route("/sessions/{sid}", web::delete().to(admin::sessions::revoke))
            .route("/keys/rotate", web::post().to(admin::system::rotate_keys))
            .route("/events", web::get().to(admin::system::events)),
    )
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .route("/metrics", web::get().to(health::metrics));
}

/// Blocking start-up: database, migrations, keys, the bootstrap admin.
fn prepare(settings: Settings, issuer: String) -> anyhow::Result<Provider> {
    check_jwt_backend()?;
    let pool = store::connect(&settings.database_url, settings.database_pool_size)?;
    let mut conn = pool.get().context("no database connection")?;
    let applied = store::run_migrations(&mut conn)?;
    if !applied.is_empty() {
        tracing::info!(?applied, "migrations applied");
    }
    let retain_for = settings.access_token_ttl.max(settings.refresh_token_ttl);
    let keys = KeyStore::open(
        &mut conn,
        &settings.keys_dir,
        settings.key_activation_delay,
        retain_for,
    )?;
    if let Some(admin) = &settings.bootstrap_admin {
        use secrecy::ExposeSecret;
        let created = crate::oauth::users::ensure_bootstrap_admin(
            &mut conn,
            &admin.username,
            admin.password.expose_secret(),
        )?;
        if created {
            tracing::info!(username = %admin.username, "bootstrap admin created");
        }
    }
    drop(conn);
    let passwords = PasswordHasher::new(settings.password_hash_concurrency)?;
    Ok(Provider::new(
        issuer,
        settings,
        pool,
        keys,
        passwords,
        Arc::new(Metrics::new()),
    ))
}

/// jsonwebtoken panics at run time when its crypto backend is missing or doubled; fail at
/// start instead.
fn check_jwt_backend() -> anyhow::Result<()> {
    jsonwebtoken::crypto::CryptoProvider::try_get_default()
        .map(|_| ())
        .context("jsonwebtoken has no crypto provider: build with exactly one of aws_lc_rs or rust_crypto")
}

/// Re-reads the key set (a rotation on another instance shows here within the interval) and
/// runs housekeeping. The jobs hold only a weak reference: they end with the server.
fn spawn_background_jobs(data: &web::Data<Provider>) {
    let weak = Arc::downgrade(&data.clone().into_inner());
    let (reload_every, housekeep_every) = (
        data.settings.key_reload_interval,
        data.settings.housekeeping_interval,
    );
    tokio::spawn(async move {
        let mut reload = tokio::time::interval(reload_every);
        let mut housekeep = tokio::time::interval(housekeep_every);
        reload.tick().await; // the key set was just loaded
        loop {
            let keys_due = tokio::select! {
                _ = reload.tick() => true,
                _ = housekeep.tick() => false,
            };
            let Some(provider) = weak.upgrade() else {
                break;
            };
            if keys_due {
                let worker = provider.clone();
                if let Err(e) = provider
                    .db(move |conn| Ok(worker.keys.reload(conn)))
                    .await
                    .and_then(|r| r.map_err(crate::oauth::OAuthError::internal))
                {
                    tracing::error!(error = ?e, "reloading the signing keys failed");
                }
            } else {
                let ttl = provider.settings.refresh_token_ttl;
                let result = provider
                    .db(move |conn| {
                        Ok(crate::oauth::housekeeping::run(
                            conn,
                            crate::domain::now(),
                            ttl,
                        )?)
                    })
                    .await;
                match result {
                    Ok(report) => tracing::info!(?report, "housekeeping done"),
                    Err(e) => tracing::error!(error = ?e, "housekeeping failed"),
                }
            }
        }
    });
}
