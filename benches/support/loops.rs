//! Timed request loops and what they saw.

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use super::http::Target;

/// How long request loops run untimed before a timed phase, so that connection set-up and
/// cold caches are not counted.
pub const WARM_UP: Duration = Duration::from_secs(1);

/// What one or more request loops saw.
#[derive(Default)]
pub struct Tally {
    pub ok: u64,
    pub failed: u64,
    pub first_error: Option<String>,
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

/// A finished phase: the tally, the wall time it took, and where its CPU went, in each
/// bench's own terms (`None` where /proc cannot tell, or not measured).
pub struct Phase<Cpu = ()> {
    pub tally: Tally,
    elapsed: Duration,
    pub cpu: Option<Cpu>,
}

impl Phase {
    /// The rate is taken over the time until the last in-flight request returned, so no
    /// request is counted without its cost.
    fn from_loops(started: Instant, tallies: Vec<Tally>) -> Self {
        Self {
            elapsed: started.elapsed(),
            tally: tallies.into_iter().fold(Tally::default(), Tally::merge),
            cpu: None,
        }
    }

    pub fn with_cpu<Cpu>(self, cpu: Option<Cpu>) -> Phase<Cpu> {
        Phase {
            tally: self.tally,
            elapsed: self.elapsed,
            cpu,
        }
    }
}

impl<Cpu> Phase<Cpu> {
    pub fn rate(&self) -> f64 {
        self.tally.ok as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.tally.latencies.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }

    /// The rate, error, p50 and p99 columns of the phase's row in a bench's table.
    pub fn figures(&self) -> String {
        format!(
            "{:>10.0} {:>8} {:>9.1} {:>9.1}",
            self.rate(),
            self.tally.failed,
            self.percentile(0.50).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
        )
    }
}

/// The heads of the columns `Phase::figures` fills.
pub fn figures_header() -> String {
    format!(
        "{:>10} {:>8} {:>9} {:>9}",
        "per second", "errors", "p50 ms", "p99 ms"
    )
}

/// Runs `concurrency` copies of a loop until `duration` has passed.
pub async fn run_for<F, Fut>(duration: Duration, concurrency: usize, make_loop: F) -> Phase
where
    F: Fn(Instant) -> Fut,
    Fut: Future<Output = Tally>,
{
    let started = Instant::now();
    // join_all polls every loop on this task: the runtime's other threads stay free for the
    // server, and the loops only wait on I/O.
    let tallies = join_all((0..concurrency).map(|_| make_loop(started + duration))).await;
    Phase::from_loops(started, tallies)
}

/// Sends `request()` again and again until `deadline`.
pub async fn repeat_until<F, Fut, T>(deadline: Instant, mut request: F) -> Tally
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let started = Instant::now();
        let result = request().await;
        tally.record(started, &result);
    }
    tally
}

/// Refresh rotations for `duration`, one loop per token slot; each slot ends holding its
/// loop's last, unused, token.
pub async fn chained_refreshes(
    target: &Target,
    tokens: &mut [String],
    duration: Duration,
) -> Phase {
    let started = Instant::now();
    let deadline = started + duration;
    let tallies = join_all(
        tokens
            .iter_mut()
            .map(|slot| refresh_loop(target, slot, deadline)),
    )
    .await;
    Phase::from_loops(started, tallies)
}

/// Rotates one session's refresh token again and again, each time presenting the token the
/// previous answer returned, so every token is fresh and never reuse. After a failure the
/// loop stops: its token may have been retired, and presenting it again would be reuse, which
/// revokes the session.
async fn refresh_loop(target: &Target, slot: &mut String, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let started = Instant::now();
        let result = target
            .token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", slot.as_str()),
            ])
            .await
            .and_then(|body| match body["refresh_token"].as_str() {
                Some(next) => Ok(next.to_owned()),
                None => Err("200 without a refresh_token".to_owned()),
            });
        tally.record(started, &result);
        match result {
            Ok(next) => *slot = next,
            Err(_) => break,
        }
    }
    tally
}
