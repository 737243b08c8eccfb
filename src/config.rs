//! Typed settings, loaded once at start and passed down (no globals).
//!
//! Sources, strongest first: `TESSERA_*` environment variables, then an optional TOML file given
//! with `--config` whose keys are the variable names without the prefix, in lower case
//! (`database_url`, `access_token_ttl`, …). A value that does not parse stops start-up with an
//! error naming the variable.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: {reason}")]
    Invalid { var: String, reason: String },
    #[error("cannot read config file {path}: {reason}")]
    File { path: String, reason: String },
}

/// Where the database lives; the scheme decides the diesel backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A file path, or a shared in-memory database name (`file:…?mode=memory&cache=shared`).
    Sqlite(String),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw == "sqlite::memory:" {
            // Every pooled connection to a plain `:memory:` gets its own empty database; a
            // named shared-cache database is one database for the whole pool.
            let name = uuid::Uuid::new_v4().simple();
            return Ok(Self::Sqlite(format!(
                "file:tessera-{name}?mode=memory&cache=shared"
            )));
        }
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path".into());
            }
            return Ok(Self::Sqlite(path.to_owned()));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self::Postgres(raw.to_owned()));
        }
        Err("expected sqlite://PATH, sqlite::memory: or postgres://…".into())
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite(_))
    }
}

#[derive(Debug, Clone)]
pub struct BootstrapAdmin {
    pub username: String,
    pub password: SecretString,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub database_pool_size: u32,
    pub bind: SocketAddr,
    /// `None` means "http:// + the address actually bound", resolved at start.
    pub issuer: Option<String>,
    pub keys_dir: PathBuf,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub session_max_age: Duration,
    pub audience: String,
    pub refresh_reuse_grace: Duration,
    pub key_activation_delay: Duration,
    pub bootstrap_admin: Option<BootstrapAdmin>,
    pub log: String,
    pub workers: usize,
    pub password_hash_concurrency: usize,
    /// How often the key set is re-read, so a rotation on another instance shows here.
    pub key_reload_interval: Duration,
    pub housekeeping_interval: Duration,
}

/// Environment variable names, in one place so the error messages and the docs agree.
mod var {
    pub const DATABASE_URL: &str = "TESSERA_DATABASE_URL";
    pub const DATABASE_POOL_SIZE: &str = "TESSERA_DATABASE_POOL_SIZE";
    pub const BIND: &str = "TESSERA_BIND";
    pub const ISSUER: &str = "TESSERA_ISSUER";
    pub const KEYS_DIR: &str = "TESSERA_KEYS_DIR";
    pub const ACCESS_TOKEN_TTL: &str = "TESSERA_ACCESS_TOKEN_TTL";
    pub const REFRESH_TOKEN_TTL: &str = "TESSERA_REFRESH_TOKEN_TTL";
    pub const SESSION_MAX_AGE: &str = "TESSERA_SESSION_MAX_AGE";
    pub const AUDIENCE: &str = "TESSERA_AUDIENCE";
    pub const REFRESH_REUSE_GRACE: &str = "TESSERA_REFRESH_REUSE_GRACE";
    pub const KEY_ACTIVATION_DELAY: &str = "TESSERA_KEY_ACTIVATION_DELAY";
    pub const BOOTSTRAP_ADMIN: &str = "TESSERA_BOOTSTRAP_ADMIN";
    pub const LOG: &str = "TESSERA_LOG";
    pub const WORKERS: &str = "TESSERA_WORKERS";
    pub const PASSWORD_HASH_CONCURRENCY: &str = "TESSERA_PASSWORD_HASH_CONCURRENCY";
    pub const KEY_RELOAD_INTERVAL: &str = "TESSERA_KEY_RELOAD_INTERVAL";
    pub const HOUSEKEEPING_INTERVAL: &str = "TESSERA_HOUSEKEEPING_INTERVAL";
}

/// The merged raw values: environment over file.
struct Source {
    values: HashMap<String, String>,
}

impl Source {
    fn get(&self, var: &str) -> Option<&str> {
        self.values.get(var).map(String::as_str)
    }

    fn parse<T>(
        &self,
        var: &str,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(raw) => parse(raw.trim()).map_err(|reason| ConfigError::Invalid {
                var: var.to_owned(),
                reason,
            }),
        }
    }

    fn seconds(&self, var: &str, default: u64, min: u64) -> Result<Duration, ConfigError> {
        self.parse(var, Duration::from_secs(default), |raw| {
            let secs: u64 = raw
                .parse()
                .map_err(|_| format!("expected a whole number of seconds, got {raw:?}"))?;
            if secs < min {
                return Err(format!("must be at least {min} seconds"));
            }
            // Keep lifetimes within what timestamps and i64 epoch arithmetic can hold.
            if secs > 10 * 365 * 86_400 {
                return Err("must be at most ten years".into());
            }
            Ok(Duration::from_secs(secs))
        })
    }

    fn count(&self, var: &str, default: usize, max: usize) -> Result<usize, ConfigError> {
        self.parse(var, default, |raw| match raw.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(format!(
                "expected a whole number from 1 to {max}, got {raw:?}"
            )),
        })
    }
}

impl Settings {
    /// Loads from the process environment, layered over `config_file` when given.
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigError> {
        let file = match config_file {
            Some(path) => read_toml(path)?,
            None => HashMap::new(),
        };
        let env = std::env::vars().filter(|(k, _)| k.starts_with("TESSERA_"));
        Self::from_sources(file, env)
    }

    /// Builds settings from file values (keyed by variable name) overlaid with `env`.
    pub fn from_sources(
        file: HashMap<String, String>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut values = file;
        values.extend(env);
        let src = Source { values };
        let cores = std::thread::available_parallelism().map_or(2, usize::from);

        let database_url = src.parse(
            var::DATABASE_URL,
            DatabaseUrl::Sqlite("data/tessera.db".into()),
            DatabaseUrl::parse,
        )?;
        let default_pool = if database_url.is_sqlite() { 8 } else { 16 };
        let bind = src.parse(var::BIND, SocketAddr::from(([127, 0, 0, 1], 8080)), |raw| {
            raw.parse()
                .map_err(|_| format!("expected HOST:PORT with an IP address, got {raw:?}"))
        })?;
        let issuer = src.parse(var::ISSUER, None, |raw| parse_issuer(raw).map(Some))?;
        let bootstrap_admin = src.parse(var::BOOTSTRAP_ADMIN, None, |raw| {
            let (username, password) = raw
                .split_once(':')
                .filter(|(u, p)| !u.is_empty() && !p.is_empty())
                .ok_or("expected username:password")?;
            Ok(Some(BootstrapAdmin {
                username: username.to_owned(),
                password: SecretString::from(password.to_owned()),
            }))
        })?;
        let audience = src.parse(var::AUDIENCE, "tessera".to_owned(), |raw| {
            if raw.is_empty() {
                Err("must not be empty".into())
            } else {
                Ok(raw.to_owned())
            }
        })?;

        Ok(Self {
            database_pool_size: src.count(var::DATABASE_POOL_SIZE, default_pool, 512)? as u32,
            database_url,
            bind,
            issuer,
            keys_dir: src.parse(var::KEYS_DIR, PathBuf::from("keys"), |raw| {
                if raw.is_empty() {
                    Err("must not be empty".into())
                } else {
                    Ok(PathBuf::from(raw))
                }
            })?,
            access_token_ttl: src.seconds(var::ACCESS_TOKEN_TTL, 300, 1)?,
            refresh_token_ttl: src.seconds(var::REFRESH_TOKEN_TTL, 86_400, 1)?,
            session_max_age: src.seconds(var::SESSION_MAX_AGE, 30 * 86_400, 1)?,
            audience,
            refresh_reuse_grace: src.seconds(var::REFRESH_REUSE_GRACE, 0, 0)?,
            key_activation_delay: src.seconds(var::KEY_ACTIVATION_DELAY, 600, 0)?,
            bootstrap_admin,
            log: src.parse(var::LOG, "info".to_owned(), |raw| Ok(raw.to_owned()))?,
            workers: src.count(var::WORKERS, cores, 256)?,
            password_hash_concurrency: src.count(var::PASSWORD_HASH_CONCURRENCY, cores, 256)?,
            key_reload_interval: src.seconds(var::KEY_RELOAD_INTERVAL, 30, 1)?,
            housekeeping_interval: src.seconds(var::HOUSEKEEPING_INTERVAL, 300, 1)?,
        })
    }
}

/// RFC 8414 §2: an https (or, for local use, http) URL with no query or fragment.
fn parse_issuer(raw: &str) -> Result<String, String> {
    let rest = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
        .ok_or("must start with https:// or http://")?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("must name a host".into());
    }
    if raw.contains(['?', '#']) || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain a query, a fragment or white space".into());
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

fn read_toml(path: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let file_error = |reason: String| ConfigError::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| file_error(e.to_string()))?;
    let mut values = HashMap::new();
    for (key, value) in table {
        let var = format!("TESSERA_{}", key.to_ascii_uppercase());
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => return Err(file_error(format!("{key}: unsupported value {other}"))),
        };
        values.insert(var, text);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Settings::from_sources(HashMap::new(), env)
    }

    #[test]
    fn defaults_match_the_contract() {
        let s = settings(&[]).unwrap();
        assert_eq!(
            s.database_url,
            DatabaseUrl::Sqlite("data/tessera.db".into())
        );
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.access_token_ttl, Duration::from_secs(300));
        assert_eq!(s.refresh_token_ttl, Duration::from_secs(86_400));
        assert_eq!(s.audience, "tessera");
        assert_eq!(s.key_activation_delay, Duration::from_secs(600));
        assert!(s.issuer.is_none());
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (var, value) in [
            ("TESSERA_ACCESS_TOKEN_TTL", "five"),
            ("TESSERA_ACCESS_TOKEN_TTL", "0"),
            ("TESSERA_BIND", "localhost"),
            ("TESSERA_DATABASE_URL", "mysql://x"),
            ("TESSERA_ISSUER", "ftp://x"),
            ("TESSERA_ISSUER", "https://x/?a=b"),
            ("TESSERA_BOOTSTRAP_ADMIN", "nopassword"),
        ] {
            let err = settings(&[(var, value)]).unwrap_err().to_string();
            assert!(err.starts_with(var), "{err}");
        }
    }

    #[test]
    fn environment_wins_over_the_file() {
        let file = HashMap::from([
            ("TESSERA_AUDIENCE".to_string(), "from-file".to_string()),
            ("TESSERA_ACCESS_TOKEN_TTL".to_string(), "60".to_string()),
        ]);
        let env = [("TESSERA_AUDIENCE".to_string(), "from-env".to_string())];
        let s = Settings::from_sources(file, env).unwrap();
        assert_eq!(s.audience, "from-env");
        assert_eq!(s.access_token_ttl, Duration::from_secs(60));
    }

    #[test]
    fn issuer_loses_its_trailing_slash() {
        let s = settings(&[("TESSERA_ISSUER", "https://id.example.com/")]).unwrap();
        assert_eq!(s.issuer.as_deref(), Some("https://id.example.com"));
    }
}
