//! Throughput of `Verifier::verify` against the ceiling: raw RSA-2048 PKCS#1 v1.5 SHA-256
//! verification with aws-lc-rs, on one thread and on every available core.
//!
//! ```sh
//! cargo bench -p tessera-verify --bench verify            # 5 s per measurement
//! TESSERA_BENCH_SECONDS=2 cargo bench -p tessera-verify --bench verify
//! ```
//!
//! Everything runs in-process: a fresh RSA-2048 key, a JWKS served by a counting
//! [`HttpClient`] double (no network, no Tessera), and a token signed here exactly as Tessera
//! signs its access tokens. The two contenders are measured in alternating slices, so drift in
//! the machine's speed during the run hits both alike and the ratio stays meaningful.
//!
//! Exits non-zero only if a verification failed or the JWKS was fetched during the timed
//! phase; a ratio below the 0.85 target is reported as `BELOW`, not as a failure.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair as RsaPrivateKey, KeySize};
use aws_lc_rs::signature::{
    KeyPair, RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use tessera_verify::http::{HttpClient, Request, Response, ResponseFuture};
use tessera_verify::{AccessClaims, Verifier};

const ISSUER: &str = "https://id.bench.invalid";
const AUDIENCE: &str = "bench-api";
const JWKS_URL: &str = "http://bench.invalid/jwks";
const KID: &str = "bench-2026-12";
const TARGET: f64 = 0.85;
/// Each measurement is split into this many slices, alternating verifier and raw RSA.
const ROUNDS: u32 = 5;

/// Serves one JWKS and counts the requests it answers.
struct CountingJwks {
    body: Vec<u8>,
    etag: String,
    requests: AtomicU64,
}

impl HttpClient for CountingJwks {
    fn send(&self, request: Request) -> ResponseFuture<'_> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if request.url != JWKS_URL {
                return Ok(Response {
                    status: 404,
                    ..Response::default()
                });
            }
            if request.if_none_match.as_deref() == Some(self.etag.as_str()) {
                return Ok(Response {
                    status: 304,
                    etag: Some(self.etag.clone()),
                    cache_control: Some("public, max-age=300".into()),
                    body: Vec::new(),
                });
            }
            Ok(Response {
                status: 200,
                etag: Some(self.etag.clone()),
                cache_control: Some("public, max-age=300".into()),
                body: self.body.clone(),
            })
        })
    }
}

fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs() as i64
}

/// A token as Tessera issues it (see `src/oauth/jwt.rs` and `src/oauth/sessions.rs`).
fn sign_access_token(key: &RsaKeyPair) -> (String, AccessClaims) {
    let iat = now_epoch();
    let claims = serde_json::json!({
        "iss": ISSUER,
        "sub": "3f1c9a52-7d0e-4b8a-9c61-2e5d8f0a4b17",
        "aud": AUDIENCE,
        "exp": iat + 300,
        "iat": iat,
        "jti": "Q2hX8c1o5mYtZ3Vh9bQ4kA",
        "client_id": "c-4a7e21d0b93f",
        "scope": "read write",
        "sid": "s-9b2f47e1c0d85a36",
        "token_type": "access",
        "user_id": "3f1c9a52-7d0e-4b8a-9c61-2e5d8f0a4b17",
    });
    let header = serde_json::json!({ "alg": "RS256", "typ": "at+jwt", "kid": KID });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .expect("RSA signing works");
    let token = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
    let expected = serde_json::from_value(claims).expect("the claims fit AccessClaims");
    (token, expected)
}

fn jwks_for(key: &RsaKeyPair) -> Vec<u8> {
    let public = key.public_key();
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    serde_json::to_vec(&serde_json::json!({ "keys": [{
        "kty": "RSA",
        "kid": KID,
        "use": "sig",
        "alg": "RS256",
        "n": b64(public.modulus().big_endian_without_leading_zero()),
        "e": b64(public.exponent().big_endian_without_leading_zero()),
    }]}))
    .expect("JSON serialises")
}

/// Operations done and seconds spent, summed over the slices of one measurement.
#[derive(Default, Clone, Copy)]
struct Tally {
    ops: u64,
    secs: f64,
}

impl Tally {
    fn rate(self) -> f64 {
        self.ops as f64 / self.secs
    }
}

/// Runs `work` on `threads` threads for `slice`; each worker loops until `stop` is set and
/// returns how many operations it completed.
fn run_slice<W>(threads: usize, slice: Duration, work: &W) -> Tally
where
    W: Fn(&AtomicBool) -> u64 + Sync,
{
    let stop = AtomicBool::new(false);
    let start = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    work(&stop)
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        std::thread::sleep(slice);
        stop.store(true, Ordering::Relaxed);
        let ops = workers
            .into_iter()
            .map(|w| w.join().expect("a worker panicked"))
            .sum();
        Tally {
            ops,
            secs: began.elapsed().as_secs_f64(),
        }
    })
}

/// Measures both contenders for `total` on `threads` threads, in alternating slices.
fn measure<V, R>(threads: usize, total: Duration, verifier: &V, raw: &R) -> (Tally, Tally)
where
    V: Fn(&AtomicBool) -> u64 + Sync,
    R: Fn(&AtomicBool) -> u64 + Sync,
{
    let slice = total / ROUNDS;
    let (mut v, mut r) = (Tally::default(), Tally::default());
    for round in 0..ROUNDS {
        // Alternate which goes first, so neither always gets the warmer (or cooler) slot.
        let (a, b) = if round % 2 == 0 {
            (
                run_slice(threads, slice, verifier),
                run_slice(threads, slice, raw),
            )
        } else {
            let b = run_slice(threads, slice, raw);
            (run_slice(threads, slice, verifier), b)
        };
        v.ops += a.ops;
        v.secs += a.secs;
        r.ops += b.ops;
        r.secs += b.secs;
    }
    (v, r)
}

/// CPU time counters (Linux `/proc`, in clock ticks): the whole machine's busy and total time,
/// and this process's own. Other work on the machine skews the rates, so the bench reports it.
#[derive(Clone, Copy)]
struct CpuSample {
    busy: u64,
    total: u64,
    own: u64,
}

fn cpu_sample() -> Option<CpuSample> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    let [user, nice, system, idle, iowait, irq, softirq, steal] = ticks[..] else {
        return None;
    };
    let own = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let mut fields = own.rsplit_once(')')?.1.split_whitespace().skip(11);
    let (utime, stime): (u64, u64) = (fields.next()?.parse().ok()?, fields.next()?.parse().ok()?);
    let busy = user + nice + system + irq + softirq + steal;
    Some(CpuSample {
        busy,
        total: busy + idle + iowait,
        own: utime + stime,
    })
}

/// The share of the machine's CPU time that other processes took between two samples.
fn others_share(before: Option<CpuSample>, after: Option<CpuSample>) -> Option<f64> {
    let (b, a) = (before?, after?);
    let total = a.total.checked_sub(b.total).filter(|t| *t > 0)?;
    let others = (a.busy - b.busy).saturating_sub(a.own - b.own);
    Some(others as f64 / total as f64)
}

fn main() {
    let seconds: f64 = match std::env::var("TESSERA_BENCH_SECONDS") {
        Ok(raw) => match raw.parse() {
            Ok(s) if s > 0.0 && s <= 60.0 => s,
            _ => {
                eprintln!("TESSERA_BENCH_SECONDS must be a number of seconds in (0, 60]: the bench token lives 300 s and the run takes 4× the setting");
                std::process::exit(2);
            }
        },
        Err(_) => 5.0,
    };
    let duration = Duration::from_secs_f64(seconds);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());

    // The key, its JWKS and a token, as Tessera would make them.
    let generated = RsaPrivateKey::generate(KeySize::Rsa2048).expect("RSA key generation");
    let pkcs8 = generated.as_der().expect("PKCS#8 encoding");
    let key = RsaKeyPair::from_pkcs8(pkcs8.as_ref()).expect("the PKCS#8 key parses");
    let public_der = key.public_key().as_ref().to_vec();
    let (token, expected) = sign_access_token(&key);
    let (signing_input, signature_b64) = token.rsplit_once('.').expect("a compact JWS");
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .expect("base64url signature");

    let http = Arc::new(CountingJwks {
        body: jwks_for(&key),
        etag: "\"bench-jwks-1\"".into(),
        requests: AtomicU64::new(0),
    });
    let verifier = Verifier::builder(ISSUER, AUDIENCE)
        .http_client(http.clone())
        .jwks_url(JWKS_URL)
        .build()
        .expect("valid verifier settings");

    // Warm-up: the one JWKS fetch, and a check that the token passes with the right claims.
    let warm = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime")
        .block_on(verifier.verify::<AccessClaims>(&token));
    match warm {
        Ok(claims) if claims == expected => {}
        Ok(claims) => {
            eprintln!("FAIL: warm-up verification returned other claims: {claims:?}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("FAIL: warm-up verification failed: {e}");
            std::process::exit(1);
        }
    }
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public_der)
        .verify(signing_input.as_bytes(), &signature)
        .expect("the raw signature verifies");
    let fetches_warm = http.requests.load(Ordering::SeqCst);
    let counted_warm = verifier.jwks_fetch_count();

    let failures = AtomicU64::new(0);
    let first_failure = Mutex::new(None::<String>);
    let fail = |what: String| {
        if failures.fetch_add(1, Ordering::Relaxed) == 0 {
            *first_failure.lock().expect("not poisoned") = Some(what);
        }
    };

    // One current-thread runtime per thread: `verify` does no I/O once the keys are cached.
    let verify_worker = |stop: &AtomicBool| -> u64 {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(async {
            let mut ops = 0;
            while !stop.load(Ordering::Relaxed) {
                match verifier.verify::<AccessClaims>(&token).await {
                    Ok(claims) if claims.jti == expected.jti => ops += 1,
                    Ok(_) => fail("verify returned other claims".into()),
                    Err(e) => fail(format!("verify failed: {e}")),
                }
            }
            ops
        })
    };
    let raw_worker = |stop: &AtomicBool| -> u64 {
        let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public_der);
        let mut ops = 0;
        while !stop.load(Ordering::Relaxed) {
            match public.verify(signing_input.as_bytes(), &signature) {
                Ok(()) => ops += 1,
                Err(_) => fail("raw RSA verification failed".into()),
            }
        }
        ops
    };

    println!(
        "tessera-verify: RS256 access token (RSA-2048), {seconds} s per measurement in {ROUNDS} alternating slices, {threads} threads available"
    );
    let cpu_start = cpu_sample();
    let (v1, r1) = measure(1, duration, &verify_worker, &raw_worker);
    let cpu_mid = cpu_sample();
    let (vn, rn) = if threads > 1 {
        measure(threads, duration, &verify_worker, &raw_worker)
    } else {
        (v1, r1)
    };
    let cpu_end = if threads > 1 { cpu_sample() } else { cpu_mid };
    let fetches_timed = http.requests.load(Ordering::SeqCst) - fetches_warm;
    let counted_timed = verifier.jwks_fetch_count() - counted_warm;

    let verdict = |ratio: f64| if ratio >= TARGET { "PASS" } else { "BELOW" };
    let row = |name: &str, a: String, b: String| println!("| {name:<34} | {a:>14} | {b:>14} |");
    println!();
    row("", "1 thread".into(), format!("{threads} threads"));
    println!("| {:-<34} | {:->14} | {:->14} |", "", "", "");
    row(
        "Verifier::verify::<AccessClaims>",
        format!("{:.0}/s", v1.rate()),
        format!("{:.0}/s", vn.rate()),
    );
    row(
        "raw aws-lc-rs RSA verify (ceiling)",
        format!("{:.0}/s", r1.rate()),
        format!("{:.0}/s", rn.rate()),
    );
    let (ratio1, ratio_n) = (v1.rate() / r1.rate(), vn.rate() / rn.rate());
    row(
        &format!("ratio (target >= {TARGET})"),
        format!("{ratio1:.2} {}", verdict(ratio1)),
        format!("{ratio_n:.2} {}", verdict(ratio_n)),
    );
    let per_op = |t: Tally, n: usize| 1e6 * n as f64 / t.rate();
    row(
        "µs per op per thread: verifier/raw",
        format!("{:.1} / {:.1}", per_op(v1, 1), per_op(r1, 1)),
        format!("{:.1} / {:.1}", per_op(vn, threads), per_op(rn, threads)),
    );
    let share = |s: Option<f64>| s.map_or("unknown".to_owned(), |s| format!("{:.0}%", s * 100.0));
    let (others_1, others_n) = (
        others_share(cpu_start, cpu_mid),
        others_share(cpu_mid, cpu_end),
    );
    row(
        "CPU taken by other processes",
        share(others_1),
        share(others_n),
    );
    println!();
    if [others_1, others_n].into_iter().flatten().any(|s| s > 0.1) {
        println!(
            "Other processes competed for the CPUs: the rates are low, the ratios less affected."
        );
    }
    println!(
        "JWKS fetches: {fetches_warm} during warm-up, {fetches_timed} during the timed phase (Verifier::jwks_fetch_count: {counted_warm} / {counted_timed})"
    );

    let failures = failures.into_inner();
    let mut ok = true;
    if failures > 0 {
        let first = first_failure.into_inner().expect("not poisoned");
        eprintln!(
            "FAIL: {failures} verifications failed; the first: {}",
            first.unwrap_or_default()
        );
        ok = false;
    }
    if fetches_timed != 0 || counted_timed != 0 {
        eprintln!("FAIL: the JWKS was fetched during the timed phase; the cache should have held");
        ok = false;
    }
    if !ok {
        std::process::exit(1);
    }
}
