//! The test kit: `TestApp::spawn(backend)` starts a server with its own database (an SQLite
//! file in a temp dir, or a fresh Postgres database dropped afterwards) and a fresh signing key.

use std::collections::HashMap;
use std::sync::OnceLock;

use diesel::{Connection, RunQueryDsl};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::Value;
use tessera::config::Settings;
use tessera::domain::{ClientType, GrantType, Username};
use tessera::oauth::clients::{ClientView, NewClient};
use tessera::oauth::users::NewUser;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend: `name::sqlite` and `name::postgres`.
macro_rules! backend_tests {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn run($backend: $crate::helpers::Backend) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($crate::helpers::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::helpers::postgres_available() {
                        run($crate::helpers::Backend::Postgres).await
                    }
                }
            }
        )*
    };
}

fn postgres_admin_url() -> String {
    std::env::var("TESSERA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// Whether the Postgres half can run. Under `CI=true` an unreachable Postgres fails the run;
/// elsewhere the Postgres tests report themselves skipped, with the reason.
pub fn postgres_available() -> bool {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    let result = AVAILABLE.get_or_init(|| {
        diesel::PgConnection::establish(&format!("{}/postgres", postgres_admin_url()))
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => true,
        Err(reason) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "CI=true and Postgres is unreachable at {}: {reason}",
                postgres_admin_url()
            )
        }
        Err(reason) => {
            eprintln!(
                "SKIPPED (postgres): unreachable at {}: {reason}",
                postgres_admin_url()
            );
            false
        }
    }
}

/// A database for one test, dropped with it.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: tempfile::TempDir,
}

impl TestDb {
    pub fn create(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}", dir.path().join("tessera.db").display()),
                pg_name: None,
                _dir: dir,
            },
            Backend::Postgres => {
                let name = format!("tessera_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin =
                    diesel::PgConnection::establish(&format!("{}/postgres", postgres_admin_url()))
                        .expect("connect to postgres");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .expect("create test database");
                Self {
                    url: format!("{}/{name}", postgres_admin_url()),
                    pg_name: Some(name),
                    _dir: dir,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            if let Ok(mut admin) =
                diesel::PgConnection::establish(&format!("{}/postgres", postgres_admin_url()))
            {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub backend: Backend,
    pub http: reqwest::Client,
    pub settings: Settings,
    pub keys_dir: tempfile::TempDir,
    pub handle: actix_web::dev::ServerHandle,
    pub db: TestDb,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, &[]).await
    }

    /// Spawns with extra `TESSERA_*` settings.
    pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
        let db = TestDb::create(backend);
        let keys_dir = tempfile::tempdir().unwrap();
        Self::spawn_on(backend, db, keys_dir, extra).await
    }

    /// Spawns on an existing database and keys directory (a second instance, a restart).
    pub async fn spawn_on(
        backend: Backend,
        db: TestDb,
        keys_dir: tempfile::TempDir,
        extra: &[(&str, &str)],
    ) -> TestApp {
        let settings = test_settings(&db.url, keys_dir.path(), extra);
        Self::start(backend, settings, db, keys_dir).await
    }

    /// A further instance with `settings`: it owns a throwaway database handle and keys
    /// directory of its own, and uses whatever `settings` names.
    pub async fn spawn_settings(backend: Backend, settings: Settings) -> TestApp {
        let placeholder = TestDb {
            url: String::new(),
            pg_name: None,
            _dir: tempfile::tempdir().unwrap(),
        };
        Self::start(backend, settings, placeholder, tempfile::tempdir().unwrap()).await
    }

    async fn start(
        backend: Backend,
        settings: Settings,
        db: TestDb,
        keys_dir: tempfile::TempDir,
    ) -> TestApp {
        let app = tessera::startup::Application::build(settings.clone())
            .await
            .expect("the application starts");
        let address = app.issuer().to_owned();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            backend,
            http: reqwest::Client::new(),
            settings,
            keys_dir,
            handle,
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Runs `work` on a connection to this app's database, off the async runtime.
    pub async fn with_db<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut tessera::store::DbConnection) -> T + Send + 'static,
    ) -> T {
        let url = self.settings.database_url.clone();
        tokio::task::spawn_blocking(move || {
            let pool = tessera::store::connect(&url, 1).unwrap();
            let mut conn = pool.get().unwrap();
            work(&mut conn)
        })
        .await
        .unwrap()
    }

    pub async fn create_user(&self, username: &str, password: &str) -> String {
        self.create_user_with(username, password, false).await
    }

    /// A user with the email `<username>@example.com`.
    pub async fn create_user_with(&self, username: &str, password: &str, admin: bool) -> String {
        let (username, password) = (username.to_owned(), password.to_owned());
        self.with_db(move |conn| {
            let hash = tessera::oauth::passwords::hash_blocking(&password).unwrap();
            let email = format!("{username}@example.com");
            let new = NewUser {
                username: Username::parse(&username).unwrap(),
                email: Some(tessera::domain::Email::parse(&email).unwrap()),
                admin,
            };
            tessera::oauth::users::create(conn, new, hash).unwrap().id
        })
        .await
    }

    /// An access token of a fresh admin user (`root`).
    pub async fn admin_token(&self) -> String {
        self.create_user_with("root", "root-password-1", true).await;
        let client = self.confidential_client().await;
        let login = self.login(&client, "root", "root-password-1").await;
        login["access_token"].as_str().unwrap().to_owned()
    }

    /// Signs `claims` with the server's own private key, as the server would: for tokens the
    /// server would never issue itself (already expired, say).
    pub fn sign_as_server(&self, typ: &str, claims: &Value) -> String {
        use base64::Engine;
        use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
        let b64 = |d: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d);
        let pem_path = std::fs::read_dir(self.keys_dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "pem"))
            .unwrap();
        let kid = pem_path.file_stem().unwrap().to_str().unwrap().to_owned();
        let pem = std::fs::read_to_string(&pem_path).unwrap();
        let der = rsa::PrivateKey::from_pkcs8_pem(&pem)
            .unwrap()
            .to_pkcs8_der()
            .unwrap();
        let pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(der.as_bytes()).unwrap();
        let header = serde_json::json!({ "alg": "RS256", "typ": typ, "kid": kid });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut sig = vec![0u8; pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        pair.sign(
            &aws_lc_rs::signature::RSA_PKCS1_SHA256,
            &rng,
            input.as_bytes(),
            &mut sig,
        )
        .unwrap();
        format!("{input}.{}", b64(&sig))
    }

    /// A form POST authenticated as `client` (HTTP Basic).
    pub async fn post_form(
        &self,
        path: &str,
        client: &ClientView,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .basic_auth(&client.client_id, client.client_secret.as_deref())
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Introspects `token` as `client`, asserting a 200.
    pub async fn introspect(&self, client: &ClientView, token: &str) -> Value {
        let resp = self
            .post_form("/oauth/introspect", client, &[("token", token)])
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    }

    pub async fn create_client(&self, new: NewClient) -> ClientView {
        self.with_db(move |conn| tessera::oauth::clients::register(conn, new).unwrap())
            .await
    }

    /// A confidential client with every grant of the token endpoint and scopes `read write`.
    pub async fn confidential_client(&self) -> ClientView {
        self.create_client(NewClient {
            name: "test".into(),
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
        })
        .await
    }

    pub async fn post_token(
        &self,
        client: Option<&ClientView>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.http.post(self.url("/oauth/token")).form(form);
        if let Some(c) = client {
            request = request.basic_auth(&c.client_id, c.client_secret.as_deref());
        }
        request.send().await.unwrap()
    }

    /// Logs in with the password grant, asserting success; returns the token response.
    pub async fn login(&self, client: &ClientView, username: &str, password: &str) -> Value {
        let resp = self
            .post_token(
                Some(client),
                &[
                    ("grant_type", "password"),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK, "login failed");
        resp.json().await.unwrap()
    }

    pub async fn refresh(&self, client: &ClientView, refresh_token: &str) -> reqwest::Response {
        self.post_token(
            Some(client),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    pub async fn get_jwks(&self) -> Value {
        self.http
            .get(self.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Verifies an access token against the published JWKS with jsonwebtoken: RS256 pinned,
    /// `iss` and `aud` checked.
    pub async fn verify_access(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<Value, jsonwebtoken::errors::Error> {
        let jwks = self.get_jwks().await;
        verify_with_jwks(&jwks, token, &self.address, audience)
    }

    pub async fn session_revoked(&self, sid: &str) -> bool {
        let sid = sid.to_owned();
        self.with_db(move |conn| {
            tessera::store::sessions::find(conn, &sid)
                .unwrap()
                .unwrap()
                .revoked_at
                .is_some()
        })
        .await
    }
}

pub fn test_settings(db_url: &str, keys_dir: &std::path::Path, extra: &[(&str, &str)]) -> Settings {
    let mut env: Vec<(String, String)> = vec![
        ("TESSERA_DATABASE_URL".into(), db_url.into()),
        ("TESSERA_BIND".into(), "127.0.0.1:0".into()),
        ("TESSERA_KEYS_DIR".into(), keys_dir.display().to_string()),
        ("TESSERA_WORKERS".into(), "2".into()),
        ("TESSERA_DATABASE_POOL_SIZE".into(), "8".into()),
        ("TESSERA_PASSWORD_HASH_CONCURRENCY".into(), "2".into()),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Settings::from_sources(HashMap::new(), env).expect("valid test settings")
}

pub fn verify_with_jwks(
    jwks: &Value,
    token: &str,
    issuer: &str,
    audience: &str,
) -> Result<Value, jsonwebtoken::errors::Error> {
    let header = jsonwebtoken::decode_header(token)?;
    let kid = header.kid.clone().unwrap_or_default();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .ok_or(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat)?;
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 0;
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    Ok(jsonwebtoken::decode::<Value>(token, &key, &validation)?.claims)
}

/// Decodes a JWT's parts without verifying: for inspecting headers and claims in assertions.
pub fn unverified_parts(token: &str) -> (Value, Value) {
    use base64::Engine;
    let mut parts = token.split('.');
    let mut decode = || {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts.next().unwrap())
            .unwrap();
        serde_json::from_slice::<Value>(&raw).unwrap()
    };
    (decode(), decode())
}

/// Asserts an RFC 6749 §5.2 error: status, `error` code, a description, and `no-store`.
pub async fn assert_oauth_error(resp: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    body
}

/// The real `tessera serve` binary in its own process, on a random port, logging JSON lines
/// that the test can read. Killed on drop.
pub struct ServerProcess {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    /// The log lines read so far.
    pub log: Vec<String>,
    pub address: String,
}

impl ServerProcess {
    /// Starts the server with `env` (on top of a random bind address and JSON logs) and waits
    /// for the line that says it listens (so `TESSERA_LOG` must let `tessera::startup` info
    /// through).
    pub fn start(env: &[(&str, &str)]) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .arg("serve")
            .env_clear()
            .env("TESSERA_BIND", "127.0.0.1:0")
            .env("TESSERA_LOG_FORMAT", "json")
            .envs(env.iter().copied())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = std::sync::mpsc::channel::<String>();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Owned from here on, so a failed start still kills the process.
        let mut server = Self {
            child,
            lines,
            log: Vec::new(),
            address: String::new(),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while server.address.is_empty() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = server.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "the server did not log its address:\n{}",
                    server.log.join("\n")
                )
            });
            let parsed: Value = serde_json::from_str(&line).unwrap_or_default();
            if parsed["fields"]["message"] == "listening" {
                server.address = format!("http://{}", parsed["fields"]["addr"].as_str().unwrap());
            }
            server.log.push(line);
        }
        server
    }

    /// Stops the server and returns its whole log.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The pipe closes with the process: this reads to the end of the log.
        let rest: Vec<String> = self.lines.iter().collect();
        self.log.extend(rest);
        self.log.join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a `tessera` CLI command against `db` and `keys`, with `stdin` as its input.
pub fn run_cli(
    db: &TestDb,
    keys: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env_clear()
        .env("TESSERA_DATABASE_URL", &db.url)
        .env("TESSERA_KEYS_DIR", keys)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// The JSON a successful CLI command printed.
pub fn cli_json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
