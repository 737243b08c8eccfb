//! What both benches share: their options, the throwaway database and the server's fixtures,
//! the HTTP client, timed request loops, and what their CPU accounting reads.
//!
//! Each bench includes it with `#[path = "support/mod.rs"] mod support;`. Cargo's bench
//! auto-discovery takes `benches/*.rs` and `benches/*/main.rs`, so this directory is not
//! built as a bench of its own.
//!
//! Each bench compiles its own copy, so an item here that only one bench used would be dead
//! code in the other: what is here is used by both.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};

pub mod cpu;
pub mod db;
pub mod http;
pub mod loops;

/// The name of the runtime's threads: they run the load generator, while the server's own
/// threads share the process.
pub const CLIENT_THREADS: &str = "bench-client";

pub struct Options {
    pub postgres_url: String,
    pub seconds: Duration,
    pub concurrency: usize,
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

/// A bench's `main`: reads the options, runs the bench and prints its report. Exits 0 whatever
/// the figures (a benchmark, not a test); non-zero when the bench cannot run.
pub fn main<R>(
    run: impl AsyncFnOnce(&Options) -> anyhow::Result<R>,
    print: impl FnOnce(&R, &Options),
) -> ExitCode {
    let options = match Options::from_env() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("bench: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    // Named threads tell the load generator's CPU apart from the server's, which shares this
    // process (see `load_generator_cpu` in tokens.rs, and `top -H`).
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .thread_name(CLIENT_THREADS)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bench: cannot start a tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&options)) {
        Ok(report) => {
            print(&report, &options);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs blocking work (the database, /proc, signing) off the async threads, which also drive
/// the HTTP loops.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .context("a blocking task panicked")?
}
