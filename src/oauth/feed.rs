//! The revocation feed: what offline verifiers poll to reject a revoked session's access
//! tokens before they expire. Cursors are opaque to clients; here they are the last sequence
//! number seen.

use serde::Serialize;

use super::users::rfc3339;
use super::{OAuthError, Provider};
use crate::store::revocations;

pub const PAGE_SIZE: i64 = 1000;

#[derive(Debug, Serialize)]
pub struct FeedEntry {
    pub sid: String,
    pub revoked_at: String,
    pub expires_at: String,
}

#[derive(Debug, Serialize)]
pub struct FeedPage {
    pub revoked: Vec<FeedEntry>,
    pub cursor: String,
    pub more: bool,
}

pub async fn page(provider: &Provider, since: Option<&str>) -> Result<FeedPage, OAuthError> {
    let after = match since {
        None => 0,
        Some(raw) => raw.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            OAuthError::invalid_request("since is not a cursor this server issued")
        })?,
    };
    provider
        .db(move |conn| {
            // Read the high-water mark first: every sequence number up to it is committed
            // (appends are serialised), so when this page is the last one the cursor may
            // skip past entries that expired unseen.
            let high_water = revocations::last_seq(conn)?;
            let now = crate::domain::now();
            let mut rows = revocations::page(conn, after, now, PAGE_SIZE + 1)?;
            let more = rows.len() > PAGE_SIZE as usize;
            rows.truncate(PAGE_SIZE as usize);
            let last = rows.last().map_or(after, |r| r.seq);
            let cursor = if more {
                last
            } else {
                last.max(high_water).max(after)
            };
            Ok(FeedPage {
                revoked: rows
                    .into_iter()
                    .map(|r| FeedEntry {
                        sid: r.sid,
                        revoked_at: rfc3339(r.revoked_at),
                        expires_at: rfc3339(r.expires_at),
                    })
                    .collect(),
                cursor: cursor.to_string(),
                more,
            })
        })
        .await
}
