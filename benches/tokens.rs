//! Token endpoint throughput, over real HTTP against Postgres, measured against the machine's
//! own RSA signing ceiling in the same run.
//!
//! `cargo bench --bench tokens`. Absolute rates drift 25–35% between runs on shared machines,
//! so the figures that matter are the ratios to the raw signing rate measured alongside. Those
//! ratios need the cores to themselves: the bench warns when the ceiling shows they were not.
//! The CPU-per-operation table (Linux, Postgres on this machine) does not: it says where each
//! token's CPU goes (server, Postgres, load generator) even on a busy machine.
//!
//! Environment:
//! - `TESSERA_BENCH_POSTGRES_URL` — server URL without a database, optionally with a query
//!   such as `?sslmode=disable` (default `postgres://postgres@127.0.0.1:5432`)
//! - `TESSERA_BENCH_SECONDS` — length of each timed HTTP phase (default 10)
//! - `TESSERA_BENCH_CONCURRENCY` — concurrent request loops (default 32)
//!
//! Exits 0 whatever the ratios (a benchmark, not a test); non-zero when it cannot run.

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use support::cpu::{backend_pids, stat_ticks};
use support::db::{bench_settings, register_fixtures, BenchDb};
use support::http::{login_all, start_server, Target};
use support::loops::{
    chained_refreshes, figures_header, repeat_until, run_for, Phase, Tally, WARM_UP,
};
use support::{blocking, Options, CLIENT_THREADS};

/// A token endpoint should spend most of its CPU on the signature it exists to make.
const CLIENT_CREDENTIALS_TARGET: f64 = 0.70;
/// A rotation signs twice and commits once, so half the signing rate is its own ceiling.
const REFRESH_TARGET: f64 = 0.35;
const SIGN_MULTI: Duration = Duration::from_secs(4);
const SIGN_SINGLE: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    support::main(run, Report::print)
}

/// Everything measured, printed at the end.
struct Report {
    workers: usize,
    pool_size: u32,
    client_credentials: Phase<CpuUse>,
    refresh: Phase<CpuUse>,
    /// Measured before and after the HTTP phases: a busy neighbour during either shows.
    ceiling_before: Ceiling,
    ceiling_after: Ceiling,
}

async fn run(options: &Options) -> anyhow::Result<Report> {
    // Declared first so it is dropped last: the database goes even when a step below fails.
    let db = BenchDb::create(&options.postgres_url, false)?;
    let keys_dir = tempfile::tempdir().context("a temporary keys directory")?;
    let settings = bench_settings(&db.url, keys_dir.path())?;
    let client = blocking({
        let settings = settings.clone();
        move || register_fixtures(&settings)
    })
    .await?;

    let (target, server) = start_server(settings.clone(), client, options.concurrency).await?;

    eprintln!("bench: measuring the raw signing ceiling …");
    let key = Arc::new(read_signing_key(keys_dir.path())?);
    let ceiling_before = Ceiling::measure(key.clone()).await?;

    let probe = CpuProbe::new(&db);
    eprintln!(
        "bench: client_credentials for {:?} × {} loops …",
        options.seconds, options.concurrency
    );
    run_for(WARM_UP, options.concurrency, |deadline| {
        client_credentials_loop(&target, deadline)
    })
    .await;
    let client_credentials = probe
        .measure(run_for(options.seconds, options.concurrency, |deadline| {
            client_credentials_loop(&target, deadline)
        }))
        .await?;

    eprintln!("bench: {} password logins (untimed) …", options.concurrency);
    let mut tokens = login_all(&target, options.concurrency).await?;
    eprintln!(
        "bench: refresh rotations for {:?} × {} loops …",
        options.seconds, options.concurrency
    );
    let refresh = probe
        .measure(chained_refreshes(&target, &mut tokens, options.seconds))
        .await?;

    // Nothing is in flight: a graceful stop would only wait on idle keep-alive connections.
    server.stop(false).await;
    eprintln!("bench: measuring the raw signing ceiling again …");
    let ceiling_after = Ceiling::measure(key).await?;
    drop(db);
    Ok(Report {
        workers: settings.workers,
        pool_size: settings.database_pool_size,
        client_credentials,
        refresh,
        ceiling_before,
        ceiling_after,
    })
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
#[derive(Clone, Copy)]
struct Ceiling {
    single: f64,
    multi: f64,
    threads: usize,
    /// CPU time one signature takes, from the signing threads' own CPU clocks: unlike the
    /// rates, it does not drop when other processes take the cores.
    sign_cpu: Duration,
}

impl Ceiling {
    async fn measure(key: Arc<RsaKeyPair>) -> anyhow::Result<Self> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        // Off the async threads: the measurement blocks for seconds.
        blocking(move || {
            let (single, _) = sign_rate(&key, 1, SIGN_SINGLE);
            let (multi, sign_cpu) = sign_rate(&key, threads, SIGN_MULTI);
            Ok(Self {
                single,
                multi,
                threads,
                sign_cpu,
            })
        })
        .await
    }
}

/// Signatures per second of wall time on `threads` threads, and the CPU time per signature.
fn sign_rate(key: &RsaKeyPair, threads: usize, duration: Duration) -> (f64, Duration) {
    // About the size of a JWT signing input: header and claims, base64url.
    let message = vec![b'e'; 600];
    let stop = AtomicBool::new(false);
    let count = AtomicU64::new(0);
    let cpu_nanos = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let rng = SystemRandom::new();
                let mut signature = vec![0u8; key.public_modulus_len()];
                let mut n = 0;
                let cpu_start = thread_cpu();
                while !stop.load(Ordering::Relaxed) {
                    key.sign(&RSA_PKCS1_SHA256, &rng, &message, &mut signature)
                        .expect("RSA signing");
                    n += 1;
                }
                let cpu = thread_cpu() - cpu_start;
                count.fetch_add(n, Ordering::Relaxed);
                cpu_nanos.fetch_add(cpu.as_nanos() as u64, Ordering::Relaxed);
            });
        }
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
    });
    let count = count.load(Ordering::Relaxed);
    let rate = count as f64 / started.elapsed().as_secs_f64();
    let sign_cpu = Duration::from_nanos(cpu_nanos.load(Ordering::Relaxed) / count.max(1));
    (rate, sign_cpu)
}

/// CPU time used by the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec it is given, nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "CLOCK_THREAD_CPUTIME_ID is supported");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

// ---------------------------------------------------------------------------------------------
// HTTP phases

async fn client_credentials_loop(target: &Target, deadline: Instant) -> Tally {
    repeat_until(deadline, || {
        target.token(&[("grant_type", "client_credentials")])
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// CPU accounting
//
// Throughput against the signing ceiling is only meaningful on a quiet machine. CPU time per
// operation is not thrown off by other processes, and it says where the time goes: the
// server (this process but the load generator's threads), the load generator, and Postgres
// (its backends for the bench database, read from /proc when Postgres runs here).

/// CPU time a phase used, by consumer.
#[derive(Clone, Copy)]
struct CpuUse {
    server: Duration,
    load: Duration,
    postgres: Option<Duration>,
}

/// Cumulative CPU counters at one moment.
struct CpuReading {
    process: Duration,
    load: Duration,
    /// Per backend pid; `None` when a backend's /proc entry cannot be read.
    backends: Option<HashMap<u32, Duration>>,
}

impl CpuReading {
    fn since(&self, earlier: &CpuReading) -> CpuUse {
        let load = self.load.saturating_sub(earlier.load);
        let postgres = self
            .backends
            .as_ref()
            .zip(earlier.backends.as_ref())
            .map(|(now, then)| {
                // A backend that started during the phase counts from zero.
                now.iter()
                    .map(|(pid, cpu)| {
                        cpu.saturating_sub(then.get(pid).copied().unwrap_or_default())
                    })
                    .sum()
            });
        CpuUse {
            server: self
                .process
                .saturating_sub(earlier.process)
                .saturating_sub(load),
            load,
            postgres,
        }
    }
}

/// Reads the counters of this process and of the bench database's Postgres backends.
struct CpuProbe {
    admin_url: String,
    database: String,
}

impl CpuProbe {
    fn new(db: &BenchDb) -> Self {
        Self {
            admin_url: db.admin_url.clone(),
            database: db.name.clone(),
        }
    }

    /// Runs `phase` between two readings; a phase on a system without /proc gets no figures.
    async fn measure(
        &self,
        phase: impl std::future::Future<Output = Phase>,
    ) -> anyhow::Result<Phase<CpuUse>> {
        let before = self.read().await?;
        let phase = phase.await;
        let after = self.read().await?;
        Ok(phase.with_cpu(
            before
                .zip(after)
                .map(|(before, after)| after.since(&before)),
        ))
    }

    async fn read(&self) -> anyhow::Result<Option<CpuReading>> {
        let (admin_url, database) = (self.admin_url.clone(), self.database.clone());
        let pids = blocking(move || backend_pids(&admin_url, &database)).await?;
        let Some(process) = proc_cpu(Path::new("/proc/self/stat")) else {
            return Ok(None);
        };
        let backends = pids
            .into_iter()
            .map(|pid| proc_cpu(Path::new(&format!("/proc/{pid}/stat"))).map(|cpu| (pid, cpu)))
            .collect();
        Ok(Some(CpuReading {
            process,
            load: load_generator_cpu(),
            backends,
        }))
    }
}

/// The load generator's threads: the main thread, which polls the request loops, and the
/// runtime's workers, named `bench-client`, which drive the HTTP connections.
fn load_generator_cpu() -> Duration {
    let pid = std::process::id().to_string();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    tasks
        .filter_map(Result::ok)
        .filter(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            task.file_name() == pid.as_str() || comm.trim_end() == CLIENT_THREADS
        })
        .filter_map(|task| proc_cpu(&task.path().join("stat")))
        .sum()
}

/// User plus system time from a /proc `stat` file.
fn proc_cpu(stat: &Path) -> Option<Duration> {
    let ticks = stat_ticks(stat)?;
    // SAFETY: sysconf only reads a system constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_nanos(ticks * 1_000_000_000 / per_second))
}

// ---------------------------------------------------------------------------------------------
// Report

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

impl Report {
    /// The higher of the two measurements: something else using the CPU lowers a measured
    /// ceiling, and a lower ceiling would flatter the ratios.
    fn ceiling(&self) -> f64 {
        self.ceiling_before.multi.max(self.ceiling_after.multi)
    }

    fn print(&self, options: &Options) {
        let cores = self.ceiling_before.threads;
        println!();
        println!(
            "tessera token benchmark — {cores} cores, {} loops, {:?} a phase, server: {} workers, db pool {}",
            options.concurrency, options.seconds, self.workers, self.pool_size
        );
        println!();
        println!("{:<38} {}", "measure", figures_header());
        println!("{}", "-".repeat(78));
        for (when, ceiling) in [
            ("before", &self.ceiling_before),
            ("after", &self.ceiling_after),
        ] {
            println!(
                "{:<38} {:>10.0}",
                format!("raw RSA-2048 sign, 1 thread, {when}"),
                ceiling.single
            );
            println!(
                "{:<38} {:>10.0}",
                format!("raw RSA-2048 sign, {cores} threads, {when}"),
                ceiling.multi
            );
        }
        self.print_phase("client_credentials tokens", &self.client_credentials);
        self.print_phase("refresh rotations", &self.refresh);
        println!();
        println!(
            "{:<38} {:>10.0}",
            "ceiling (higher of before/after)",
            self.ceiling()
        );
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
        self.print_cpu();
        for warning in self.warnings() {
            println!("WARNING: {warning}");
        }
    }

    /// CPU per operation and the share of the identity provider's own CPU (server and
    /// Postgres) spent signing: the efficiency figure that other processes do not disturb.
    fn print_cpu(&self) {
        let phases = [
            ("client_credentials token", &self.client_credentials, 1.0),
            ("refresh rotation (2 signatures)", &self.refresh, 2.0),
        ];
        if phases.iter().all(|(_, phase, _)| phase.cpu.is_none()) {
            return;
        }
        let sign_cpu = self
            .ceiling_before
            .sign_cpu
            .min(self.ceiling_after.sign_cpu);
        println!();
        println!(
            "{:<38} {:>10} {:>8} {:>9} {:>9}",
            "CPU per operation, µs", "server", "postgres", "load gen", "signing"
        );
        println!("{}", "-".repeat(78));
        println!(
            "{:<38} {:>10.0}",
            "one RSA-2048 signature",
            micros(sign_cpu)
        );
        for (name, phase, signatures) in phases {
            let (Some(cpu), ops) = (phase.cpu, phase.tally.ok.max(1) as f64) else {
                continue;
            };
            let server = micros(cpu.server) / ops;
            let postgres = cpu.postgres.map(|d| micros(d) / ops);
            let signing = signatures * micros(sign_cpu) / (server + postgres.unwrap_or(0.0));
            println!(
                "{:<38} {:>10.0} {:>8} {:>9.0} {:>8.0}%",
                name,
                server,
                postgres.map_or("n/a".to_owned(), |p| format!("{p:.0}")),
                micros(cpu.load) / ops,
                signing * 100.0,
            );
        }
        println!("(signing: the share of server + postgres CPU spent in RSA signatures)");
    }

    /// Signs that something else was using the CPU, which makes every figure suspect.
    fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let low = self.ceiling_before.multi.min(self.ceiling_after.multi);
        if low < 0.85 * self.ceiling() {
            warnings.push(
                "the ceilings before and after the HTTP phases differ by more than 15%".to_owned(),
            );
        }
        for ceiling in [&self.ceiling_before, &self.ceiling_after] {
            let scaling = ceiling.multi / ceiling.single;
            if scaling < 0.85 * ceiling.threads as f64 {
                warnings.push(format!(
                    "{} threads signed only {scaling:.2}× as fast as one: the cores were not \
                     free (or are hyper-threads of one core)",
                    ceiling.threads
                ));
                break;
            }
        }
        if !warnings.is_empty() {
            warnings.push("the figures are suspect: run again on a quiet machine".to_owned());
        }
        warnings
    }

    fn print_phase(&self, name: &str, phase: &Phase<CpuUse>) {
        println!("{name:<38} {}", phase.figures());
    }

    fn print_ratio(&self, name: &str, rate: f64, target: f64) {
        let ratio = rate / self.ceiling();
        let verdict = if ratio >= target { "PASS" } else { "BELOW" };
        println!("{name:<38} {ratio:>10.2}   target ≥ {target:.2}   {verdict}");
    }
}
