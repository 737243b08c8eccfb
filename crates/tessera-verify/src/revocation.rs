//! Follows Tessera's revocation feed (`GET /oauth/revocations`), so tokens of a revoked
//! session are refused within one poll interval rather than at their expiry.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::http::{HttpClient, Request};
use crate::Error;

/// Entries are kept this long past their `expires_at`: verifiers accept a token until `exp`
/// plus their leeway, and a revoked session's last token must stay refused until then.
const RETAIN_PAST_EXPIRY: i64 = 300;

pub struct RevocationFollower {
    url: String,
    client: (String, String),
    http: Arc<dyn HttpClient>,
    /// Revoked sid → when its last access token expires (epoch seconds).
    revoked: RwLock<HashMap<String, i64>>,
    cursor: tokio::sync::Mutex<Option<String>>,
}

#[derive(Deserialize)]
struct Page {
    revoked: Vec<Entry>,
    cursor: String,
    more: bool,
}

#[derive(Deserialize)]
struct Entry {
    sid: String,
    expires_at: String,
}

impl RevocationFollower {
    /// `issuer` is Tessera's issuer URL; the feed needs a registered client's credentials.
    pub fn new(
        issuer: &str,
        client_id: &str,
        client_secret: &str,
        http: Arc<dyn HttpClient>,
    ) -> Self {
        Self {
            url: format!("{}/oauth/revocations", issuer.trim_end_matches('/')),
            client: (client_id.to_owned(), client_secret.to_owned()),
            http,
            revoked: RwLock::new(HashMap::new()),
            cursor: tokio::sync::Mutex::new(None),
        }
    }

    pub fn is_revoked(&self, sid: &str) -> bool {
        self.revoked
            .read()
            .expect("revocation lock poisoned")
            .contains_key(sid)
    }

    /// How many revoked sessions are being remembered.
    pub fn len(&self) -> usize {
        self.revoked.read().expect("revocation lock poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads every page after the cursor; returns how many entries arrived.
    pub async fn poll(&self) -> Result<usize, Error> {
        let mut cursor = self.cursor.lock().await;
        let mut arrived = 0;
        loop {
            let url = match cursor.as_deref() {
                Some(c) => format!(
                    "{}?{}",
                    self.url,
                    form_urlencoded::Serializer::new(String::new())
                        .append_pair("since", c)
                        .finish()
                ),
                None => self.url.clone(),
            };
            let request = Request {
                url,
                basic_auth: Some(self.client.clone()),
                ..Request::default()
            };
            let response = self.http.send(request).await.map_err(Error::Upstream)?;
            if response.status != 200 {
                return Err(Error::Upstream(format!(
                    "the revocation feed answered {}",
                    response.status
                )));
            }
            let page: Page = serde_json::from_slice(&response.body).map_err(|_| {
                Error::Upstream("the revocation feed answered with something else".into())
            })?;
            arrived += page.revoked.len();
            {
                let mut revoked = self.revoked.write().expect("revocation lock poisoned");
                for entry in page.revoked {
                    revoked.insert(
                        entry.sid,
                        parse_rfc3339(&entry.expires_at).unwrap_or(i64::MAX),
                    );
                }
                // Once its last access token has expired (allowing for the verifier's clock
                // leeway) an entry guards nothing.
                let cutoff = now_epoch() - RETAIN_PAST_EXPIRY;
                revoked.retain(|_, expires_at| *expires_at > cutoff);
            }
            *cursor = Some(page.cursor);
            if !page.more {
                return Ok(arrived);
            }
        }
    }

    /// Polls every `interval` in a background task until the follower is dropped.
    pub fn spawn(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            loop {
                ticker.tick().await;
                let Some(follower) = weak.upgrade() else {
                    return;
                };
                if let Err(e) = follower.poll().await {
                    tracing::warn!(error = %e, "polling the revocation feed failed");
                }
            }
        })
    }
}

fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `YYYY-MM-DDTHH:MM:SSZ` (what Tessera sends) to epoch seconds.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !s.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_utc_timestamps() {
        assert_eq!(super::parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            super::parse_rfc3339("2026-12-04T21:00:00Z"),
            Some(1_796_418_000)
        );
        assert_eq!(super::parse_rfc3339("nonsense"), None);
    }
}
