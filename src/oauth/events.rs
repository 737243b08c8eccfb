//! Security events: written to the `events` table and to the log, listed by the admin API.

use serde_json::Value;

use crate::store::{events, DbConnection, StoreError};

/// Who did something: `user:<id>`, `client:<id>`, `cli`, or `system`.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

impl Actor {
    pub fn system() -> Self {
        Self("system".into())
    }
    pub fn cli() -> Self {
        Self("cli".into())
    }
}

/// Records an event. `detail` must hold no secret: it is stored and shown to admins.
pub fn record(
    conn: &mut DbConnection,
    kind: &str,
    actor: Option<&Actor>,
    subject: Option<&str>,
    detail: Value,
) -> Result<(), StoreError> {
    let actor = actor.map(|a| a.0.as_str());
    tracing::info!(event = kind, actor, subject, %detail, "security event");
    events::insert(
        conn,
        crate::domain::now(),
        kind,
        actor,
        subject,
        &detail.to_string(),
    )
}
