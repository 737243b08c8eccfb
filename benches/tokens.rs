//! Token endpoint throughput, over real HTTP against Postgres, measured against the machine's
//! own RSA signing ceiling in the same run.
//!
//! `cargo bench --bench tokens`. Absolute rates drift 25–35% between runs on shared machines,
//! so the figures that matter are the ratios to the raw signing rate measured alongside.
//!
//! Environment:
//! - `TESSERA_BENCH_POSTGRES_URL` — server URL without a database, optionally with a query
//!   such as `?sslmode=disable` (default `postgres://postgres@127.0.0.1:5432`)
//! - `TESSERA_BENCH_SECONDS` — length of each timed HTTP phase (default 10)
//! - `TESSERA_BENCH_CONCURRENCY` — concurrent request loops (default 32)
//!
//! Exits 0 whatever the ratios (a benchmark, not a test); non-zero when it cannot run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use diesel::{Connection, RunQueryDsl};
use futures_util::future::join_all;
use serde_json::Value;
use tessera::config::Settings;
use tessera::domain::{ClientType, GrantType, Username};
use tessera::oauth::clients::{ClientView, NewClient};
use tessera::oauth::users::NewUser;

const USERNAME: &str = "bench-user";
const PASSWORD: &str = "bench-password-123";
/// Targets from the brief: a token endpoint should spend most of its CPU on the signature.
const CLIENT_CREDENTIALS_TARGET: f64 = 0.70;
/// A rotation signs twice and commits once, so half the signing rate is its own ceiling.
const REFRESH_TARGET: f64 = 0.35;
const WARM_UP: Duration = Duration::from_secs(1);
const SIGN_MULTI: Duration = Duration::from_secs(4);
const SIGN_SINGLE: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let options = match Options::from_env() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("bench: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    // Named threads tell the bench's own client work apart from the server's in `top -H`.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-client")
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(&options)) {
        Ok(report) => {
            report.print(&options);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

struct Options {
    postgres_url: String,
    seconds: Duration,
    concurrency: usize,
}

impl Options {
    fn from_env() -> anyhow::Result<Self> {
        let number = |var: &str, default: u64| -> anyhow::Result<u64> {
            match std::env::var(var) {
                Err(_) => Ok(default),
                Ok(raw) => match raw.trim().parse::<u64>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => bail!("{var}: expected a positive whole number, got {raw:?}"),
                },
            }
        };
        Ok(Self {
            postgres_url: std::env::var("TESSERA_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
                .trim_end_matches('/')
                .to_owned(),
            seconds: Duration::from_secs(number("TESSERA_BENCH_SECONDS", 10)?),
            concurrency: number("TESSERA_BENCH_CONCURRENCY", 32)? as usize,
        })
    }
}

/// Everything measured, printed at the end.
struct Report {
    workers: usize,
    pool_size: u32,
    client_credentials: Phase,
    refresh: Phase,
    sign_single: f64,
    sign_multi: f64,
    sign_threads: usize,
}

async fn run(options: &Options) -> anyhow::Result<Report> {
    // Declared first so it is dropped last: the database goes even when a step below fails.
    let db = BenchDb::create(&options.postgres_url)?;
    let keys_dir = tempfile::tempdir().context("a temporary keys directory")?;
    let settings = bench_settings(&db.url, keys_dir.path())?;
    let client = tokio::task::spawn_blocking({
        let settings = settings.clone();
        move || register_fixtures(&settings)
    })
    .await??;

    let app = tessera::startup::Application::build(settings.clone())
        .await
        .context("the server did not start")?;
    let token_url = format!("{}/oauth/token", app.issuer());
    let server = app.handle();
    tokio::spawn(app.run_until_stopped());

    // One client for every loop: keep-alive connections are reused, as a real relying party's
    // would be, so the figures measure the token endpoint and not TCP set-up.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency)
        .build()
        .context("an HTTP client")?;
    let target = Target {
        http,
        url: token_url,
        client,
    };

    eprintln!("bench: measuring the raw signing ceiling …");
    let key = read_signing_key(keys_dir.path())?;
    let (sign_single, sign_multi, sign_threads) =
        tokio::task::spawn_blocking(move || measure_signing(&key)).await?;

    eprintln!(
        "bench: client_credentials for {:?} × {} loops …",
        options.seconds, options.concurrency
    );
    run_for(WARM_UP, options.concurrency, |_, deadline| {
        client_credentials_loop(&target, deadline)
    })
    .await;
    let client_credentials = run_for(options.seconds, options.concurrency, |_, deadline| {
        client_credentials_loop(&target, deadline)
    })
    .await;

    eprintln!("bench: {} password logins (untimed) …", options.concurrency);
    let tokens = login_all(&target, options.concurrency).await?;
    eprintln!(
        "bench: refresh rotations for {:?} × {} loops …",
        options.seconds, options.concurrency
    );
    let refresh = run_for(options.seconds, options.concurrency, |i, deadline| {
        refresh_loop(&target, tokens[i].clone(), deadline)
    })
    .await;

    // Nothing is in flight: a graceful stop would only wait on idle keep-alive connections.
    server.stop(false).await;
    drop(db);
    Ok(Report {
        workers: settings.workers,
        pool_size: settings.database_pool_size,
        client_credentials,
        refresh,
        sign_single,
        sign_multi,
        sign_threads,
    })
}

// ---------------------------------------------------------------------------------------------
// Set-up

/// A throwaway Postgres database, dropped (with its open connections) when this is dropped.
struct BenchDb {
    admin_url: String,
    name: String,
    url: String,
}

impl BenchDb {
    /// `server_url` names no database; a query (`?sslmode=disable`) is kept for both URLs.
    fn create(server_url: &str) -> anyhow::Result<Self> {
        let (server, query) = match server_url.split_once('?') {
            Some((server, query)) => (server.trim_end_matches('/'), format!("?{query}")),
            None => (server_url, String::new()),
        };
        let admin_url = format!("{server}/postgres{query}");
        let mut admin = diesel::PgConnection::establish(&admin_url).map_err(|e| {
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
        Ok(Self {
            url: format!("{server}/{name}{query}"),
            admin_url,
            name,
        })
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        // FORCE: the server's pool may still hold connections if a step failed mid-way.
        let dropped = diesel::PgConnection::establish(&self.admin_url)
            .map_err(|e| e.to_string())
            .and_then(|mut admin| {
                diesel::sql_query(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .execute(&mut admin)
                .map_err(|e| e.to_string())
            });
        if let Err(e) = dropped {
            eprintln!("bench: could not drop database {}: {e}", self.name);
        }
    }
}

fn bench_settings(database_url: &str, keys_dir: &Path) -> anyhow::Result<Settings> {
    let env = [
        ("TESSERA_DATABASE_URL", database_url),
        ("TESSERA_BIND", "127.0.0.1:0"),
        ("TESSERA_KEYS_DIR", &keys_dir.display().to_string()),
        ("TESSERA_LOG", "warn"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    Ok(Settings::from_sources(HashMap::new(), env)?)
}

/// Registers the bench's client and user directly in the database (blocking).
fn register_fixtures(settings: &Settings) -> anyhow::Result<ClientView> {
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

// ---------------------------------------------------------------------------------------------
// The signing ceiling

/// The key the server signs with, so the ceiling is measured on the very same operation.
fn read_signing_key(dir: &Path) -> anyhow::Result<RsaKeyPair> {
    let pems: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pem"))
        .collect();
    let [pem] = pems.as_slice() else {
        bail!(
            "expected one key in {}, found {}",
            dir.display(),
            pems.len()
        );
    };
    // A PKCS#8 PEM is base64 of the DER between its armour lines.
    let text = std::fs::read_to_string(pem)?;
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64)?;
    RsaKeyPair::from_pkcs8(&der).map_err(|e| anyhow::anyhow!("{}: {e}", pem.display()))
}

/// Signatures per second on one thread, and in total on one thread per core.
fn measure_signing(key: &RsaKeyPair) -> (f64, f64, usize) {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let single = sign_rate(key, 1, SIGN_SINGLE);
    let multi = sign_rate(key, threads, SIGN_MULTI);
    (single, multi, threads)
}

fn sign_rate(key: &RsaKeyPair, threads: usize, duration: Duration) -> f64 {
    // About the size of a JWT signing input: header and claims, base64url.
    let message = vec![b'e'; 600];
    let stop = AtomicBool::new(false);
    let count = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let rng = SystemRandom::new();
                let mut signature = vec![0u8; key.public_modulus_len()];
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    key.sign(&RSA_PKCS1_SHA256, &rng, &message, &mut signature)
                        .expect("RSA signing");
                    n += 1;
                }
                count.fetch_add(n, Ordering::Relaxed);
            });
        }
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
    });
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

// ---------------------------------------------------------------------------------------------
// HTTP phases

/// The token endpoint and the client that calls it.
struct Target {
    http: reqwest::Client,
    url: String,
    client: ClientView,
}

impl Target {
    /// POSTs a token request with HTTP Basic client authentication; `Err` for anything but a
    /// 200 with a JSON body, carrying what went wrong.
    async fn token(&self, form: &[(&str, &str)]) -> Result<Value, String> {
        let response = self
            .http
            .post(&self.url)
            .basic_auth(&self.client.client_id, self.client.client_secret.as_deref())
            .form(form)
            .send()
            .await
            .map_err(|e| format!("transport: {e}"))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            let body = response.text().await.unwrap_or_default();
            return Err(format!(
                "{status}: {}",
                body.chars().take(200).collect::<String>()
            ));
        }
        response.json().await.map_err(|e| format!("body: {e}"))
    }
}

/// What one or more request loops saw.
#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    first_error: Option<String>,
    /// Latency of each successful request.
    latencies: Vec<Duration>,
}

impl Tally {
    fn record<T>(&mut self, started: Instant, result: &Result<T, String>) {
        match result {
            Ok(_) => {
                self.ok += 1;
                self.latencies.push(started.elapsed());
            }
            Err(e) => {
                self.failed += 1;
                self.first_error.get_or_insert_with(|| e.clone());
            }
        }
    }

    fn merge(mut self, other: Tally) -> Tally {
        self.ok += other.ok;
        self.failed += other.failed;
        self.first_error = self.first_error.or(other.first_error);
        self.latencies.extend(other.latencies);
        self
    }
}

/// A finished phase: the tally and the wall time it took.
struct Phase {
    tally: Tally,
    elapsed: Duration,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.tally.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.tally.latencies.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let index = ((sorted.len() - 1) as f64 * p).round() as usize;
        sorted[index]
    }
}

/// Runs `concurrency` loops until `duration` has passed. The rate is taken over the time
/// until the last in-flight request has returned, so no request is counted without its cost.
async fn run_for<F, Fut>(duration: Duration, concurrency: usize, make_loop: F) -> Phase
where
    F: Fn(usize, Instant) -> Fut,
    Fut: std::future::Future<Output = Tally>,
{
    let started = Instant::now();
    let deadline = started + duration;
    // join_all polls every loop on this task: the runtime's other threads stay free for the
    // server, and the loops only wait on I/O.
    let tallies = join_all((0..concurrency).map(|i| make_loop(i, deadline))).await;
    let elapsed = started.elapsed();
    let tally = tallies.into_iter().fold(Tally::default(), Tally::merge);
    Phase { tally, elapsed }
}

async fn client_credentials_loop(target: &Target, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let started = Instant::now();
        let result = target.token(&[("grant_type", "client_credentials")]).await;
        tally.record(started, &result);
    }
    tally
}

/// Rotates one session's refresh token again and again, each time presenting the token the
/// previous answer returned. After a failure the loop stops: its token may have been retired,
/// and presenting it again would be reuse, which revokes the session.
async fn refresh_loop(target: &Target, mut refresh_token: String, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let started = Instant::now();
        let result = target
            .token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
            ])
            .await
            .and_then(|body| match body["refresh_token"].as_str() {
                Some(next) => Ok(next.to_owned()),
                None => Err("200 without a refresh_token".to_owned()),
            });
        tally.record(started, &result);
        match result {
            Ok(next) => refresh_token = next,
            Err(_) => break,
        }
    }
    tally
}

/// One password login per loop, before the timed phase: argon2 costs ~60 ms a login and
/// would otherwise swamp the rotation figures.
async fn login_all(target: &Target, count: usize) -> anyhow::Result<Vec<String>> {
    let form = [
        ("grant_type", "password"),
        ("username", USERNAME),
        ("password", PASSWORD),
    ];
    let answers = join_all((0..count).map(|_| target.token(&form))).await;
    answers
        .into_iter()
        .map(|answer| {
            let body = answer.map_err(|e| anyhow::anyhow!("password login failed: {e}"))?;
            body["refresh_token"]
                .as_str()
                .map(str::to_owned)
                .context("password login answered without a refresh_token")
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Report

impl Report {
    fn print(&self, options: &Options) {
        let cores = self.sign_threads;
        println!();
        println!(
            "tessera token benchmark — {cores} cores, {} loops, {:?} a phase, server: {} workers, db pool {}",
            options.concurrency, options.seconds, self.workers, self.pool_size
        );
        println!();
        println!(
            "{:<38} {:>10} {:>8} {:>9} {:>9}",
            "measure", "per second", "errors", "p50 ms", "p99 ms"
        );
        println!("{}", "-".repeat(78));
        println!(
            "{:<38} {:>10.0}",
            "raw RSA-2048 sign, 1 thread", self.sign_single
        );
        println!(
            "{:<38} {:>10.0}",
            format!("raw RSA-2048 sign, {cores} threads (ceiling)"),
            self.sign_multi
        );
        self.print_phase("client_credentials tokens", &self.client_credentials);
        self.print_phase("refresh rotations", &self.refresh);
        println!();
        self.print_ratio(
            "client_credentials / ceiling",
            self.client_credentials.rate(),
            CLIENT_CREDENTIALS_TARGET,
        );
        self.print_ratio(
            "refresh / ceiling (2 signs + 1 commit)",
            self.refresh.rate(),
            REFRESH_TARGET,
        );
        for (name, phase) in [
            ("client_credentials", &self.client_credentials),
            ("refresh", &self.refresh),
        ] {
            if let Some(e) = &phase.tally.first_error {
                println!("first {name} error: {e}");
            }
        }
    }

    fn print_phase(&self, name: &str, phase: &Phase) {
        println!(
            "{:<38} {:>10.0} {:>8} {:>9.1} {:>9.1}",
            name,
            phase.rate(),
            phase.tally.failed,
            phase.percentile(0.50).as_secs_f64() * 1e3,
            phase.percentile(0.99).as_secs_f64() * 1e3,
        );
    }

    fn print_ratio(&self, name: &str, rate: f64, target: f64) {
        let ratio = rate / self.sign_multi;
        let verdict = if ratio >= target { "PASS" } else { "BELOW" };
        println!("{name:<38} {ratio:>10.2}   target ≥ {target:.2}   {verdict}");
    }
}
