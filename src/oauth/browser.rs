//! The signed-in browser: a session cookie whose SHA-256 is stored, and login throttling.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, TimeDelta};

use super::{secrets, OAuthError, Provider};
use crate::store::browser::{self, BrowserSessionRow};
use crate::store::sessions;

pub const SESSION_COOKIE: &str = "tessera_session";
pub const CSRF_COOKIE: &str = "tessera_csrf";

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user_id: String,
    pub username: String,
    pub auth_time: NaiveDateTime,
    pub id_hash: Vec<u8>,
}

/// Starts a browser session; returns the cookie value (shown to the browser only).
pub async fn sign_in(
    provider: &Provider,
    user: &crate::store::users::UserRow,
) -> Result<(String, SignedIn), OAuthError> {
    let cookie = secrets::random_token(32);
    let now = crate::domain::now();
    let lifetime = TimeDelta::from_std(provider.settings.refresh_token_ttl)
        .expect("bounded by the configuration");
    let row = BrowserSessionRow {
        id_hash: secrets::sha256(cookie.as_bytes()),
        user_id: user.id.clone(),
        auth_time: now,
        expires_at: now + lifetime,
        ended_at: None,
    };
    let signed_in = SignedIn {
        user_id: row.user_id.clone(),
        username: user.username.clone(),
        auth_time: now,
        id_hash: row.id_hash.clone(),
    };
    provider
        .db(move |conn| Ok(browser::insert_browser_session(conn, &row)?))
        .await?;
    Ok((cookie, signed_in))
}

/// The browser session behind a cookie, if live and its user still enabled.
pub async fn current(
    provider: &Provider,
    cookie: Option<&str>,
) -> Result<Option<SignedIn>, OAuthError> {
    let Some(cookie) = cookie.filter(|c| c.len() == 43) else {
        return Ok(None);
    };
    let hash = secrets::sha256(cookie.as_bytes());
    provider
        .db(move |conn| {
            let Some(row) = browser::live_browser_session(conn, &hash, crate::domain::now())?
            else {
                return Ok(None);
            };
            let Some(user) =
                crate::store::users::find_by_id(conn, &row.user_id)?.filter(|u| !u.disabled)
            else {
                return Ok(None);
            };
            Ok(Some(SignedIn {
                user_id: row.user_id,
                username: user.username,
                auth_time: row.auth_time,
                id_hash: row.id_hash,
            }))
        })
        .await
}

/// Ends a browser session and revokes every token session started from it.
pub async fn sign_out(provider: &Provider, cookie: &str) -> Result<usize, OAuthError> {
    let hash = secrets::sha256(cookie.as_bytes());
    provider
        .db(move |conn| {
            crate::store::write_transaction(conn, |conn| {
                let now = crate::domain::now();
                browser::end_browser_session(conn, &hash, now)?;
                let mut revoked = 0;
                for sid in browser::sessions_of_browser(conn, &hash)? {
                    if sessions::revoke(conn, &sid, now, "logout")? {
                        revoked += 1;
                    }
                }
                Ok::<_, OAuthError>(revoked)
            })
        })
        .await
}

/// Failed logins per account and per address in a sliding window. In memory, per instance:
/// it slows guessing down, it is not an account lockout (which would let anyone lock anyone
/// out).
pub struct LoginThrottle {
    window: Duration,
    per_account: usize,
    per_address: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginThrottle {
    pub fn new(window: Duration, per_account: usize, per_address: usize) -> Self {
        Self {
            window,
            per_account,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The map key of an account: usernames are at most 150 characters, and a longer one (which
    /// matches no account anyway) must not let an attacker fill memory with huge keys.
    fn account_key(username: &str) -> String {
        let bounded: String = username.chars().take(150).collect();
        format!("u:{}", bounded.to_lowercase())
    }

    /// Whether another attempt for `username` from `address` may be checked now.
    pub fn allows(&self, username: &str, address: &str) -> bool {
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("throttle lock poisoned");
        let mut count = |key: String| {
            let entries = failures.entry(key).or_default();
            while entries
                .front()
                .is_some_and(|t| now.duration_since(*t) > self.window)
            {
                entries.pop_front();
            }
            entries.len()
        };
        count(Self::account_key(username)) < self.per_account
            && count(format!("a:{address}")) < self.per_address
    }

    pub fn record_failure(&self, username: &str, address: &str) {
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("throttle lock poisoned");
        for key in [Self::account_key(username), format!("a:{address}")] {
            failures.entry(key).or_default().push_back(now);
        }
        // Forget keys whose failures have all aged out, so the map cannot grow without bound.
        if failures.len() > 10_000 {
            failures.retain(|_, v| {
                v.back()
                    .is_some_and(|t| now.duration_since(*t) <= self.window)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_per_account_and_per_address() {
        let t = LoginThrottle::new(Duration::from_secs(60), 3, 5);
        for _ in 0..3 {
            assert!(t.allows("alice", "1.1.1.1"));
            t.record_failure("alice", "1.1.1.1");
        }
        assert!(
            !t.allows("Alice", "2.2.2.2"),
            "per account, whatever the address"
        );
        assert!(t.allows("bob", "1.1.1.1"));
        t.record_failure("bob", "1.1.1.1");
        t.record_failure("carol", "1.1.1.1");
        assert!(
            !t.allows("dave", "1.1.1.1"),
            "per address, whatever the account"
        );
    }
}
