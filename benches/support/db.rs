//! The throwaway database and what the server needs in it.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use diesel::{Connection, PgConnection, RunQueryDsl};
use tessera::config::Settings;
use tessera::domain::{ClientType, GrantType, Username};
use tessera::oauth::clients::{ClientView, NewClient};
use tessera::oauth::users::NewUser;

/// The bench user's credentials, for the password grant.
pub const USERNAME: &str = "bench-user";
pub const PASSWORD: &str = "bench-password-123";

/// A throwaway Postgres database, dropped (with its open connections) when this is dropped.
pub struct BenchDb {
    pub admin_url: String,
    pub name: String,
    pub url: String,
    /// Whether to say on stderr that the database was created and dropped.
    announce: bool,
}

impl BenchDb {
    /// `server_url` names no database; a query (`?sslmode=disable`) is kept for both URLs.
    /// With `announce`, the database's creation and drop are logged on stderr.
    pub fn create(server_url: &str, announce: bool) -> anyhow::Result<Self> {
        let (server, query) = match server_url.split_once('?') {
            Some((server, query)) => (server.trim_end_matches('/'), format!("?{query}")),
            None => (server_url, String::new()),
        };
        let admin_url = format!("{server}/postgres{query}");
        let mut admin = PgConnection::establish(&admin_url).map_err(|e| {
            anyhow::anyhow!(
                "Postgres is unreachable at {admin_url}: {e}\n\
                 Start it, or point TESSERA_BENCH_POSTGRES_URL at a server (trust auth, \
                 allowed to CREATE DATABASE)."
            )
        })?;
        let name = format!("tessera_bench_{}", uuid::Uuid::new_v4().simple());
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .with_context(|| format!("CREATE DATABASE {name}"))?;
        if announce {
            eprintln!("bench: created database {name}");
        }
        Ok(Self {
            url: format!("{server}/{name}{query}"),
            admin_url,
            name,
            announce,
        })
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        // FORCE: the server's pool may still hold connections if a step failed mid-way.
        let dropped = PgConnection::establish(&self.admin_url)
            .map_err(|e| e.to_string())
            .and_then(|mut admin| {
                diesel::sql_query(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .execute(&mut admin)
                .map_err(|e| e.to_string())
            });
        match dropped {
            Ok(_) if self.announce => eprintln!("bench: dropped database {}", self.name),
            Ok(_) => {}
            Err(e) => eprintln!("bench: could not drop database {}: {e}", self.name),
        }
    }
}

pub fn bench_settings(database_url: &str, keys_dir: &Path) -> anyhow::Result<Settings> {
    let env = [
        ("TESSERA_DATABASE_URL", database_url),
        ("TESSERA_BIND", "127.0.0.1:0"),
        ("TESSERA_KEYS_DIR", &keys_dir.display().to_string()),
        ("TESSERA_LOG", "warn"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    Ok(Settings::from_sources(HashMap::new(), env)?)
}

/// Applies the migrations and registers the bench's client and user through the library,
/// directly in the database (blocking).
pub fn register_fixtures(settings: &Settings) -> anyhow::Result<ClientView> {
    let pool = tessera::store::connect(&settings.database_url, 1)?;
    let mut conn = pool.get().context("a database connection")?;
    tessera::store::run_migrations(&mut conn)?;
    let client = tessera::oauth::clients::register(
        &mut conn,
        NewClient {
            name: "bench".into(),
            client_type: ClientType::Confidential,
            grant_types: vec![
                GrantType::Password,
                GrantType::RefreshToken,
                GrantType::ClientCredentials,
            ],
            redirect_uris: vec![],
            scopes: vec!["read".into(), "write".into()],
            audience: None,
            first_party: false,
        },
    )?;
    let hash = tessera::oauth::passwords::hash_blocking(PASSWORD)?;
    let user = NewUser {
        username: Username::parse(USERNAME)?,
        email: None,
        admin: false,
    };
    tessera::oauth::users::create(&mut conn, user, hash)?;
    Ok(client)
}
