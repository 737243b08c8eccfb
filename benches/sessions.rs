//! Session-store benchmark: token introspection, the revocation feed and refresh rotation over
//! real HTTP, against Postgres holding 100,000 sessions, and the plans of the queries behind
//! them.
//!
//! `cargo bench --bench sessions`. In order, it:
//! 1. creates a throwaway database `tessera_bench_<random>`, applies the migrations and seeds it
//!    with SQL: 100,000 sessions, 10,000 of them revoked and listed in the revocation feed, and
//!    10,000 refresh tokens;
//! 2. starts the server in-process and measures, with N concurrent loops for S seconds each:
//!    introspection of a valid access token; the revocation-feed poll of a follower that is
//!    caught up; full cold reads of the feed (10 pages); refresh rotation at ~10,000
//!    refresh-token rows and again after seeding to ~1,000,000;
//! 3. prints `EXPLAIN (ANALYZE, BUFFERS)` of the hot queries, so a reader sees which indexes
//!    they use.
//!
//! The database is dropped at the end, also when a step fails.
//!
//! Environment:
//! - `TESSERA_BENCH_POSTGRES_URL` — server URL without a database, optionally with a query
//!   such as `?sslmode=disable` (default `postgres://postgres@127.0.0.1:5432`)
//! - `TESSERA_BENCH_SECONDS` — length of each timed HTTP phase (default 10)
//! - `TESSERA_BENCH_CONCURRENCY` — concurrent request loops (default 32)
//!
//! Exits 0 whatever the figures (a benchmark, not a test); non-zero when it cannot run.

#[path = "support/mod.rs"]
mod support;

use std::future::Future;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::sql_types::{BigInt, Binary, Text, Timestamp};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use reqwest::Method;
use serde_json::Value;
use support::cpu::{backend_pids, stat_ticks};
use support::db::{bench_settings, register_fixtures, BenchDb};
use support::http::{login, login_all, start_server, Target};
use support::loops::{
    chained_refreshes, figures_header, repeat_until, run_for, Phase, Tally, WARM_UP,
};
use support::{blocking, Options};
use tessera::oauth::feed::PAGE_SIZE;

const SESSIONS: i64 = 100_000;
/// Seeded sessions 1..=REVOKED are revoked; the rest are live.
const REVOKED: i64 = 10_000;
/// Refresh-token rows before the first refresh phase, and before the second.
const SMALL_REFRESH_ROWS: i64 = 10_000;
const LARGE_REFRESH_ROWS: i64 = 1_000_000;
/// Seeded sessions are spread over this many (synthetic) users, so the `user_id` index holds
/// what a production one would rather than one huge key.
const SEED_USERS: i64 = 1_000;
const COLD_READS: usize = 5;
/// p99 of a refresh at 1,000,000 rows over p99 at 10,000: every lookup is by primary key, so
/// a hundredfold table should cost little more than one more B-tree level.
const P99_GROWTH_TARGET: f64 = 1.5;

fn main() -> ExitCode {
    support::main(run, Report::print)
}

/// Everything measured, printed at the end.
struct Report {
    workers: usize,
    pool_size: u32,
    seeding: Vec<SeedStep>,
    introspection: Phase<CpuShares>,
    feed_polls: Phase<CpuShares>,
    cold_reads: Vec<ColdRead>,
    refresh_small: RefreshRun,
    refresh_large: RefreshRun,
    plans: Vec<Plan>,
}

async fn run(options: &Options) -> anyhow::Result<Report> {
    // Declared first so it is dropped last: the database goes even when a step below fails.
    let db = BenchDb::create(&options.postgres_url, true)?;
    let keys_dir = tempfile::tempdir().context("a temporary keys directory")?;
    let settings = bench_settings(&db.url, keys_dir.path())?;
    let mut seeding = Vec::new();

    let (client, steps) = blocking({
        let (settings, url) = (settings.clone(), db.url.clone());
        move || {
            let client = register_fixtures(&settings)?;
            let steps = seed_base(&url, &client.client_id)?;
            Ok((client, steps))
        }
    })
    .await?;
    seeding.extend(steps);

    let (target, server) = start_server(settings.clone(), client, options.concurrency).await?;

    let (introspection, sid) = measure_introspection(&target, options, &db).await?;
    let (cold_reads, feed_polls) = measure_feed(&target, options, &db).await?;
    let cursor = cold_reads[0].cursor;

    eprintln!("bench: refresh at ~{SMALL_REFRESH_ROWS} refresh-token rows …");
    let refresh_small = measure_refresh(&target, options, &db).await?;
    seeding.extend(
        blocking({
            let url = db.url.clone();
            move || seed_large(&url)
        })
        .await?,
    );
    eprintln!("bench: refresh at ~{LARGE_REFRESH_ROWS} refresh-token rows …");
    let refresh_large = measure_refresh(&target, options, &db).await?;

    // Nothing is in flight: a graceful stop would only wait on idle keep-alive connections.
    server.stop(false).await;

    eprintln!("bench: EXPLAIN of the hot queries …");
    let probe = PlanProbe {
        cursor,
        token_hash: tessera::oauth::secrets::sha256(refresh_large.tokens[0].as_bytes()),
        sid,
    };
    let plans = blocking({
        let url = db.url.clone();
        move || explain_hot_queries(&url, &probe)
    })
    .await?;
    drop(db);
    Ok(Report {
        workers: settings.workers,
        pool_size: settings.database_pool_size,
        seeding,
        introspection,
        feed_polls,
        cold_reads,
        refresh_small,
        refresh_large,
        plans,
    })
}

// ---------------------------------------------------------------------------------------------
// Seeding, in SQL: a hundred thousand logins through HTTP would take argon2 hours.

/// One seeding statement: what it made, how many rows, how long it took.
struct SeedStep {
    what: &'static str,
    rows: Option<usize>,
    took: Duration,
}

fn seed_step(
    what: &'static str,
    work: impl FnOnce() -> anyhow::Result<Option<usize>>,
) -> anyhow::Result<SeedStep> {
    eprintln!("bench: seeding: {what} …");
    let started = Instant::now();
    let rows = work().with_context(|| format!("seeding {what}"))?;
    Ok(SeedStep {
        what,
        rows,
        took: started.elapsed(),
    })
}

fn connect(url: &str) -> anyhow::Result<PgConnection> {
    PgConnection::establish(url).with_context(|| format!("connecting to {url}"))
}

/// Sessions, the revocation feed and the first refresh tokens.
fn seed_base(url: &str, client_id: &str) -> anyhow::Result<Vec<SeedStep>> {
    let mut pg = connect(url)?;
    let now = tessera::domain::now();
    Ok(vec![
        seed_step("sessions (10,000 of them revoked)", || {
            Ok(Some(seed_sessions(&mut pg, client_id, now)?))
        })?,
        seed_step("revocation-feed entries", || {
            Ok(Some(seed_revocations(&mut pg)?))
        })?,
        seed_step("refresh tokens", || {
            Ok(Some(seed_refresh_tokens(
                &mut pg,
                1,
                SMALL_REFRESH_ROWS,
                now,
            )?))
        })?,
        seed_step("VACUUM ANALYZE, CHECKPOINT", || {
            settle(&mut pg)?;
            Ok(None)
        })?,
    ])
}

/// Grows `refresh_tokens` to about `LARGE_REFRESH_ROWS` with one bulk statement.
fn seed_large(url: &str) -> anyhow::Result<Vec<SeedStep>> {
    let mut pg = connect(url)?;
    let now = tessera::domain::now();
    Ok(vec![
        seed_step("refresh tokens, bulk (retired)", || {
            Ok(Some(seed_refresh_tokens(
                &mut pg,
                SMALL_REFRESH_ROWS + 1,
                LARGE_REFRESH_ROWS,
                now,
            )?))
        })?,
        seed_step("VACUUM ANALYZE, CHECKPOINT", || {
            settle(&mut pg)?;
            Ok(None)
        })?,
    ])
}

/// The sid of seeded session number `i` (an SQL integer expression), UUID-shaped like the
/// server's sids. A formula rather than a lookup, so a refresh-token row can name its session
/// without a join.
fn seeded_sid(i: &str) -> String {
    format!("md5('session-' || ({i}))::uuid::text")
}

fn seed_sessions(
    pg: &mut PgConnection,
    client_id: &str,
    now: NaiveDateTime,
) -> anyhow::Result<usize> {
    // access_expires_at an hour ahead: housekeeping deletes a session, or a feed entry, only
    // once its last access token has expired, and its first pass runs as the server starts.
    let sql = format!(
        "INSERT INTO sessions (sid, user_id, client_id, kind, scope, created_at, last_used_at,
                               expires_at, access_expires_at, revoked_at, revoked_reason)
         SELECT {sid}, 'seed-user-' || (i % {SEED_USERS}), $1, 'oauth', 'read write',
                $2 - interval '1 day', $2 - interval '10 minutes',
                $2 + interval '29 days', $2 + interval '1 hour',
                CASE WHEN i <= {REVOKED} THEN $2 - interval '1 minute' + i * interval '1 millisecond' END,
                CASE WHEN i <= {REVOKED} THEN 'bench' END
         FROM generate_series(1, {SESSIONS}) AS i",
        sid = seeded_sid("i"),
    );
    Ok(diesel::sql_query(sql)
        .bind::<Text, _>(client_id)
        .bind::<Timestamp, _>(now)
        .execute(pg)?)
}

/// One feed entry per revoked session, in revocation order, as the server's serialised
/// appends would have numbered them.
fn seed_revocations(pg: &mut PgConnection) -> anyhow::Result<usize> {
    Ok(diesel::sql_query(
        "INSERT INTO revocations (sid, revoked_at, expires_at)
         SELECT sid, revoked_at, access_expires_at FROM sessions
         WHERE revoked_at IS NOT NULL ORDER BY revoked_at",
    )
    .execute(pg)?)
}

/// Refresh-token rows numbered `first..=last`, spread over the live seeded sessions. Rows up
/// to `SMALL_REFRESH_ROWS` are live tokens; later ones are retired, the ancestors rotation
/// leaves behind. Expiry is spread over a day so the `expires_at` index is not one key.
fn seed_refresh_tokens(
    pg: &mut PgConnection,
    first: i64,
    last: i64,
    now: NaiveDateTime,
) -> anyhow::Result<usize> {
    let live_sessions = SESSIONS - REVOKED;
    let sql = format!(
        "INSERT INTO refresh_tokens (token_hash, jti, sid, issued_at, expires_at, retired_at)
         SELECT sha256(convert_to('seed-refresh-' || n, 'UTF8')),
                md5('seed-jti-' || n)::uuid::text,
                {sid},
                $1 - interval '1 hour',
                $1 + interval '1 day' - (n % 3600) * interval '1 second',
                CASE WHEN n > {SMALL_REFRESH_ROWS} THEN $1 - interval '30 minutes' END
         FROM generate_series($2, $3) AS n",
        sid = seeded_sid(&format!("{REVOKED} + 1 + n % {live_sessions}")),
    );
    Ok(diesel::sql_query(sql)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(first)
        .bind::<BigInt, _>(last)
        .execute(pg)?)
}

/// Does what a production database would have done in the background by now. Without
/// statistics the planner guesses at the bulk-loaded tables; and the autovacuum and the
/// checkpoint a bulk load triggers would otherwise land inside a timed phase.
fn settle(pg: &mut PgConnection) -> anyhow::Result<()> {
    diesel::sql_query("VACUUM ANALYZE").execute(pg)?;
    // CHECKPOINT needs superuser or pg_checkpoint; without it the figures are noisier, no more.
    if let Err(e) = diesel::sql_query("CHECKPOINT").execute(pg) {
        eprintln!("bench: CHECKPOINT refused ({e}); a checkpoint may land in a timed phase");
    }
    Ok(())
}

#[derive(QueryableByName)]
struct TableSize {
    #[diesel(sql_type = BigInt)]
    rows: i64,
    #[diesel(sql_type = Text)]
    size: String,
}

fn refresh_table_size(url: &str) -> anyhow::Result<TableSize> {
    let mut pg = connect(url)?;
    Ok(diesel::sql_query(
        "SELECT count(*) AS rows,
                pg_size_pretty(pg_total_relation_size('refresh_tokens')) AS size
         FROM refresh_tokens",
    )
    .get_result(&mut pg)?)
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// The endpoints only this bench calls.
impl Target {
    /// Introspects `token`; an inactive answer is an error here, since every token the bench
    /// introspects is live.
    async fn introspect(&self, token: &str) -> Result<Value, String> {
        let request = self.request(Method::POST, "/oauth/introspect");
        let body = self.send(request.form(&[("token", token)])).await?;
        if body["active"] != Value::Bool(true) {
            return Err(format!("inactive: {body}"));
        }
        Ok(body)
    }

    async fn feed(&self, since: Option<i64>) -> Result<FeedPage, String> {
        let mut path = "/oauth/revocations".to_owned();
        if let Some(since) = since {
            path.push_str(&format!("?since={since}"));
        }
        let body = self.send(self.request(Method::GET, &path)).await?;
        FeedPage::parse(&body).ok_or_else(|| format!("not a feed page: {body}"))
    }
}

struct FeedPage {
    entries: usize,
    cursor: i64,
    more: bool,
}

impl FeedPage {
    fn parse(body: &Value) -> Option<Self> {
        Some(Self {
            entries: body["revoked"].as_array()?.len(),
            cursor: body["cursor"].as_str()?.parse().ok()?,
            more: body["more"].as_bool()?,
        })
    }
}

/// A warm-up (untimed, so connection set-up and cold caches are not counted), then the
/// timed phase.
async fn warm_then_run<F, Fut>(
    options: &Options,
    db: &BenchDb,
    make_loop: F,
) -> anyhow::Result<Phase<CpuShares>>
where
    F: Fn(Instant) -> Fut,
    Fut: Future<Output = Tally>,
{
    run_for(WARM_UP, options.concurrency, &make_loop).await;
    measured(
        db,
        run_for(options.seconds, options.concurrency, &make_loop),
    )
    .await
}

/// Runs a timed phase and records who used the CPU meanwhile.
async fn measured(
    db: &BenchDb,
    phase: impl Future<Output = Phase>,
) -> anyhow::Result<Phase<CpuShares>> {
    let probe = blocking({
        let (admin_url, database) = (db.admin_url.clone(), db.name.clone());
        move || CpuProbe::start(&admin_url, &database)
    })
    .await?;
    let phase = phase.await;
    Ok(phase.with_cpu(probe.and_then(|p| p.finish())))
}

// ---------------------------------------------------------------------------------------------
// Introspection

/// Introspection of one valid access token. Returns the phase and the token's sid (a session
/// the EXPLAIN of the session lookup can use).
async fn measure_introspection(
    target: &Target,
    options: &Options,
    db: &BenchDb,
) -> anyhow::Result<(Phase<CpuShares>, String)> {
    let (access, _) = login(target).await?;
    let first = target
        .introspect(&access)
        .await
        .map_err(|e| anyhow::anyhow!("introspecting a fresh access token: {e}"))?;
    let sid = first["sid"]
        .as_str()
        .context("introspection answered without a sid")?
        .to_owned();
    eprintln!(
        "bench: introspection for {:?} × {} loops …",
        options.seconds, options.concurrency
    );
    let phase = warm_then_run(options, db, |deadline| {
        repeat_until(deadline, || target.introspect(&access))
    })
    .await?;
    Ok((phase, sid))
}

// ---------------------------------------------------------------------------------------------
// The revocation feed

/// One full read of the feed from the start, as a new follower does.
struct ColdRead {
    pages: usize,
    entries: usize,
    took: Duration,
    /// Where a caught-up follower polls from.
    cursor: i64,
}

async fn cold_read(target: &Target) -> anyhow::Result<ColdRead> {
    let started = Instant::now();
    let (mut pages, mut entries, mut since) = (0, 0, None);
    loop {
        let page = target
            .feed(since)
            .await
            .map_err(|e| anyhow::anyhow!("feed page {}: {e}", pages + 1))?;
        pages += 1;
        entries += page.entries;
        since = Some(page.cursor);
        if !page.more {
            return Ok(ColdRead {
                pages,
                entries,
                took: started.elapsed(),
                cursor: page.cursor,
            });
        }
    }
}

/// Cold reads one after another (each alone, so each is the cost of one read), then the
/// caught-up polls.
async fn measure_feed(
    target: &Target,
    options: &Options,
    db: &BenchDb,
) -> anyhow::Result<(Vec<ColdRead>, Phase<CpuShares>)> {
    eprintln!("bench: {COLD_READS} cold reads of the revocation feed …");
    let mut reads = Vec::with_capacity(COLD_READS);
    for _ in 0..COLD_READS {
        reads.push(cold_read(target).await?);
    }
    let cursor = reads[0].cursor;
    eprintln!(
        "bench: caught-up feed polls (since={cursor}) for {:?} × {} loops …",
        options.seconds, options.concurrency
    );
    let poll = || async move {
        let page = target.feed(Some(cursor)).await?;
        // A caught-up follower gets nothing new; entries here mean the cursor is wrong.
        if page.entries > 0 || page.more {
            return Err(format!(
                "a caught-up poll returned {} entries",
                page.entries
            ));
        }
        Ok(page)
    };
    let phase = warm_then_run(options, db, |deadline| repeat_until(deadline, poll)).await?;
    Ok((reads, phase))
}

// ---------------------------------------------------------------------------------------------
// Refresh rotation

struct RefreshRun {
    phase: Phase<CpuShares>,
    /// `refresh_tokens` as the timed phase began.
    table: TableSize,
    /// The never-used refresh token each loop ended with.
    tokens: Vec<String>,
}

/// Every loop logs in once (argon2 costs ~60 ms a login and must stay out of the figures),
/// then chains its refresh tokens: each refresh presents the token the previous one returned,
/// so every token is fresh and never reuse.
async fn measure_refresh(
    target: &Target,
    options: &Options,
    db: &BenchDb,
) -> anyhow::Result<RefreshRun> {
    let mut tokens = login_all(target, options.concurrency).await?;
    chained_refreshes(target, &mut tokens, WARM_UP).await;
    let table = blocking({
        let url = db.url.clone();
        move || refresh_table_size(&url)
    })
    .await?;
    let phase = measured(db, chained_refreshes(target, &mut tokens, options.seconds)).await?;
    Ok(RefreshRun {
        phase,
        table,
        tokens,
    })
}

// ---------------------------------------------------------------------------------------------
// CPU accounting (Linux): the server, the client loops and Postgres share the cores with
// whatever else runs on the machine, and a busy neighbour moves every figure. Each timed phase
// records who used the CPU, so a reader can tell a slow phase from a crowded one.

/// Shares of the machine's CPU capacity (all cores) during a phase.
#[derive(Clone, Copy)]
struct CpuShares {
    /// This process: the server's workers and blocking threads, and the client loops.
    own: f64,
    /// The Postgres backends connected to the bench database.
    postgres: f64,
    /// Everything else: other processes, and Postgres's own background workers.
    other: f64,
}

/// Above this share of the machine used by others, a phase's figures are suspect.
const OTHER_CPU_WARNING: f64 = 0.15;

struct CpuProbe {
    machine: (u64, u64),
    own: u64,
    /// Each backend's pid and its ticks at the start.
    backends: Vec<(String, u64)>,
}

impl CpuProbe {
    /// `None` where /proc cannot be read (not Linux): the phase then goes unaccounted.
    fn start(admin_url: &str, database: &str) -> anyhow::Result<Option<Self>> {
        let Some(machine) = machine_ticks() else {
            return Ok(None);
        };
        // The server's pool keeps its connections, so these are the backends for the phase;
        // one that disconnects mid-phase loses its ticks (a small undercount).
        let backends = backend_pids(admin_url, database)?
            .into_iter()
            .filter_map(|pid| {
                let pid = pid.to_string();
                process_ticks(&pid).map(|ticks| (pid, ticks))
            })
            .collect();
        Ok(Some(Self {
            machine,
            own: process_ticks("self").unwrap_or(0),
            backends,
        }))
    }

    fn finish(self) -> Option<CpuShares> {
        let (busy, total) = machine_ticks()?;
        let capacity = total.checked_sub(self.machine.1).filter(|t| *t > 0)? as f64;
        let share = |ticks: u64| ticks as f64 / capacity;
        let own = share(process_ticks("self").unwrap_or(0).saturating_sub(self.own));
        let postgres = share(
            self.backends
                .iter()
                .filter_map(|(pid, then)| process_ticks(pid).map(|now| now.saturating_sub(*then)))
                .sum(),
        );
        let busy = share(busy.saturating_sub(self.machine.0));
        Some(CpuShares {
            own,
            postgres,
            other: (busy - own - postgres).max(0.0),
        })
    }
}

/// (busy, total) clock ticks of all cores since boot, from /proc/stat.
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1) // "cpu"
        .take(8) // user nice system idle iowait irq softirq steal; guest is inside user
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    let total: u64 = ticks.iter().sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((total - idle, total))
}

/// User + system clock ticks of a process (all its threads), from /proc/PID/stat.
fn process_ticks(pid: &str) -> Option<u64> {
    stat_ticks(Path::new(&format!("/proc/{pid}/stat")))
}

// ---------------------------------------------------------------------------------------------
// Query plans

/// Real values for the plans: the planner's choice can depend on them.
struct PlanProbe {
    /// A caught-up follower's cursor.
    cursor: i64,
    /// The hash of a live refresh token.
    token_hash: Vec<u8>,
    /// A live session.
    sid: String,
}

struct Plan {
    title: &'static str,
    sql: String,
    lines: Vec<String>,
}

impl Plan {
    fn seq_scans(&self) -> bool {
        self.lines.iter().any(|l| l.contains("Seq Scan"))
    }
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

/// The queries as diesel writes them for the store functions named.
/// `store::revocations::page`:
const FEED_PAGE_SQL: &str = "SELECT seq, sid, revoked_at, expires_at FROM revocations \
     WHERE seq > $1 AND expires_at > $2 ORDER BY seq ASC LIMIT $3";
/// `store::refresh_tokens::find_with_session` (the refresh grant and introspection):
const REFRESH_LOOKUP_SQL: &str = "SELECT refresh_tokens.*, sessions.* FROM refresh_tokens \
     INNER JOIN sessions ON sessions.sid = refresh_tokens.sid \
     WHERE refresh_tokens.token_hash = $1 LIMIT $2";
/// `store::sessions::find` (every access-token check):
const SESSION_LOOKUP_SQL: &str = "SELECT * FROM sessions WHERE sessions.sid = $1 LIMIT $2";
/// `store::sessions::delete_finished` (housekeeping, every pass): not hot, but it reads the
/// whole table unless an index serves `access_expires_at`.
const FINISHED_SESSIONS_SQL: &str = "SELECT sid FROM sessions \
     WHERE access_expires_at < $1 AND (expires_at < $1 \
     OR (last_used_at < $2 AND kind = 'oauth') OR revoked_at IS NOT NULL) LIMIT $3";

const EXPLAIN: &str = "EXPLAIN (ANALYZE, BUFFERS)";

fn explain_hot_queries(url: &str, probe: &PlanProbe) -> anyhow::Result<Vec<Plan>> {
    let mut pg = connect(url)?;
    let now = tessera::domain::now();
    let limit = PAGE_SIZE + 1;
    let plan = |title, sql: &str, lines| Plan {
        title,
        sql: sql.to_owned(),
        lines,
    };
    let explain = |sql: &str| diesel::sql_query(format!("{EXPLAIN} {sql}"));
    Ok(vec![
        plan(
            "feed page, caught-up poll (since = latest cursor)",
            FEED_PAGE_SQL,
            lines(
                explain(FEED_PAGE_SQL)
                    .bind::<BigInt, _>(probe.cursor)
                    .bind::<Timestamp, _>(now)
                    .bind::<BigInt, _>(limit)
                    .load(&mut pg),
            )?,
        ),
        plan(
            "feed page, cold read (first page, since = 0)",
            FEED_PAGE_SQL,
            lines(
                explain(FEED_PAGE_SQL)
                    .bind::<BigInt, _>(0i64)
                    .bind::<Timestamp, _>(now)
                    .bind::<BigInt, _>(limit)
                    .load(&mut pg),
            )?,
        ),
        plan(
            "feed page, generic plan (caught-up values)",
            FEED_PAGE_SQL,
            generic_feed_plan(&mut pg, probe.cursor, now, limit)?,
        ),
        plan(
            "refresh-token lookup by token_hash, joined to sessions",
            REFRESH_LOOKUP_SQL,
            lines(
                explain(REFRESH_LOOKUP_SQL)
                    .bind::<Binary, _>(&probe.token_hash)
                    .bind::<BigInt, _>(1i64)
                    .load(&mut pg),
            )?,
        ),
        plan(
            "session lookup by sid",
            SESSION_LOOKUP_SQL,
            lines(
                explain(SESSION_LOOKUP_SQL)
                    .bind::<Text, _>(&probe.sid)
                    .bind::<BigInt, _>(1i64)
                    .load(&mut pg),
            )?,
        ),
        plan(
            "housekeeping: finished sessions (background, not hot)",
            FINISHED_SESSIONS_SQL,
            lines(
                explain(FINISHED_SESSIONS_SQL)
                    .bind::<Timestamp, _>(now)
                    .bind::<Timestamp, _>(now - chrono::TimeDelta::days(1))
                    .bind::<BigInt, _>(500i64)
                    .load(&mut pg),
            )?,
        ),
    ])
}

fn lines(result: diesel::QueryResult<Vec<PlanLine>>) -> anyhow::Result<Vec<String>> {
    Ok(result
        .context("EXPLAIN")?
        .into_iter()
        .map(|l| l.line)
        .collect())
}

/// diesel keeps the server's queries as prepared statements, and after five executions
/// Postgres may switch a prepared statement to a generic plan, made without the parameter
/// values. Forcing the generic plan shows what a long-running server may end up with.
fn generic_feed_plan(
    pg: &mut PgConnection,
    after: i64,
    now: NaiveDateTime,
    limit: i64,
) -> anyhow::Result<Vec<String>> {
    diesel::sql_query(format!(
        "PREPARE bench_feed_page(bigint, timestamp, bigint) AS {FEED_PAGE_SQL}"
    ))
    .execute(pg)
    .context("PREPARE")?;
    diesel::sql_query("SET plan_cache_mode = force_generic_plan").execute(pg)?;
    let plan = lines(
        diesel::sql_query(format!(
            "{EXPLAIN} EXECUTE bench_feed_page({after}, '{}', {limit})",
            now.format("%Y-%m-%d %H:%M:%S%.6f")
        ))
        .load(pg),
    );
    diesel::sql_query("RESET plan_cache_mode").execute(pg)?;
    diesel::sql_query("DEALLOCATE bench_feed_page").execute(pg)?;
    plan
}

// ---------------------------------------------------------------------------------------------
// Report

impl Report {
    fn print(&self, options: &Options) {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        println!();
        println!(
            "tessera session-store benchmark — {cores} cores, {} loops, {:?} a phase, \
             server: {} workers, db pool {}",
            options.concurrency, options.seconds, self.workers, self.pool_size
        );
        self.print_seeding();
        self.print_phases();
        self.print_cold_reads();
        self.print_p99_ratio();
        self.print_errors();
        self.print_plans();
    }

    fn print_seeding(&self) {
        println!();
        println!("{:<44} {:>10} {:>9}", "seeded with SQL", "rows", "seconds");
        println!("{}", "-".repeat(65));
        for step in &self.seeding {
            let rows = step.rows.map_or(String::new(), |n| n.to_string());
            println!(
                "{:<44} {:>10} {:>9.1}",
                step.what,
                rows,
                step.took.as_secs_f64()
            );
        }
    }

    fn print_phases(&self) {
        println!();
        println!(
            "{:<44} {}   CPU: bench / postgres / other",
            "measure",
            figures_header()
        );
        println!("{}", "-".repeat(116));
        print_phase("introspection, valid access token", &self.introspection);
        print_phase("feed poll, caught up (since=cursor)", &self.feed_polls);
        for run in [&self.refresh_small, &self.refresh_large] {
            let name = format!("refresh @ {} rows ({})", run.table.rows, run.table.size);
            print_phase(&name, &run.phase);
        }
    }

    fn print_cold_reads(&self) {
        let mut took: Vec<Duration> = self.cold_reads.iter().map(|r| r.took).collect();
        took.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let first = &self.cold_reads[0];
        let median = took[took.len() / 2];
        println!();
        println!(
            "feed cold read (no since): {} entries over {} pages; {} reads: \
             min {:.1} ms, median {:.1} ms, max {:.1} ms ({:.1} ms a page at the median)",
            first.entries,
            first.pages,
            took.len(),
            ms(took[0]),
            ms(median),
            ms(took[took.len() - 1]),
            ms(median) / first.pages as f64,
        );
        if self
            .cold_reads
            .iter()
            .any(|r| r.entries != REVOKED as usize)
        {
            println!("WARNING: a cold read did not return the {REVOKED} seeded entries");
        }
    }

    fn print_p99_ratio(&self) {
        let small = self.refresh_small.phase.percentile(0.99).as_secs_f64();
        let large = self.refresh_large.phase.percentile(0.99).as_secs_f64();
        let ratio = large / small;
        // The verdict words of benches/tokens.rs: BELOW means the target was missed.
        let verdict = if ratio <= P99_GROWTH_TARGET {
            "PASS"
        } else {
            "BELOW"
        };
        println!(
            "{:<44} {ratio:>10.2}   target ≤ {P99_GROWTH_TARGET:.2}   {verdict}",
            "refresh p99 at 1M rows / p99 at 10k rows"
        );
    }

    fn print_errors(&self) {
        let phases = [
            ("introspection", &self.introspection),
            ("feed poll", &self.feed_polls),
            ("refresh (10k)", &self.refresh_small.phase),
            ("refresh (1M)", &self.refresh_large.phase),
        ];
        for (name, phase) in phases {
            if let Some(e) = &phase.tally.first_error {
                println!("first {name} error: {e}");
            }
            if let Some(cpu) = phase.cpu.filter(|c| c.other > OTHER_CPU_WARNING) {
                println!(
                    "WARNING: during {name}, other processes used {:.0}% of the machine: \
                     its figures are suspect; run again on a quiet machine",
                    cpu.other * 100.0
                );
            }
        }
    }

    fn print_plans(&self) {
        for plan in &self.plans {
            println!();
            println!("== {} ==", plan.title);
            println!("{}", plan.sql);
            for line in &plan.lines {
                println!("    {line}");
            }
        }
        println!();
        let seq: Vec<&str> = self
            .plans
            .iter()
            .filter(|p| p.seq_scans())
            .map(|p| p.title)
            .collect();
        if seq.is_empty() {
            println!("plans: no sequential scans");
        } else {
            for title in seq {
                println!("plans: SEQ SCAN in: {title}");
            }
        }
    }
}

fn print_phase(name: &str, phase: &Phase<CpuShares>) {
    let cpu = phase.cpu.map_or("not measured".to_owned(), |c| {
        format!(
            "{:>3.0}% / {:>3.0}% / {:>3.0}%",
            c.own * 100.0,
            c.postgres * 100.0,
            c.other * 100.0
        )
    });
    println!("{name:<44} {}   {cpu}", phase.figures());
}
