//! Housekeeping: deletes what can no longer matter, in small batches, so no statement holds a
//! lock for long and the tables do not grow without bound.
//!
//! Kept: refresh-token rows until they expire (reuse detection needs a retired token's row
//! only while its JWT could still pass the `exp` check), sessions until their last access
//! token has expired, revocation-feed entries until then too.

use chrono::{NaiveDateTime, TimeDelta};

use crate::store::{browser, refresh_tokens, revocations, sessions, DbConnection, StoreError};

const BATCH: i64 = 500;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub refresh_tokens: usize,
    pub sessions: usize,
    pub revocations: usize,
    pub authorization_codes: usize,
}

/// Runs one pass as of `now`. `refresh_ttl` bounds how long an idle session can be refreshed.
pub fn run(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    refresh_ttl: std::time::Duration,
) -> Result<Report, StoreError> {
    let idle_before = now - TimeDelta::from_std(refresh_ttl).expect("bounded by the configuration");
    // A used code is kept a day past its expiry, so a late replay still finds (and revokes)
    // the session it started.
    let codes_before = now - TimeDelta::days(1);
    let report = Report {
        refresh_tokens: drain(|| refresh_tokens::delete_expired(conn, now, BATCH))?,
        sessions: drain(|| sessions::delete_finished(conn, now, idle_before, BATCH))?,
        revocations: drain(|| revocations::delete_expired(conn, now, BATCH))?,
        authorization_codes: drain(|| browser::delete_expired_codes(conn, codes_before, BATCH))?,
    };
    Ok(report)
}

/// Repeats a batch delete until a batch comes back short.
fn drain(mut batch: impl FnMut() -> Result<usize, StoreError>) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let n = batch()?;
        total += n;
        if (n as i64) < BATCH {
            return Ok(total);
        }
    }
}
