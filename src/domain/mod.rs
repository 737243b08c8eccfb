//! Plain types and rules of the identity provider: no HTTP, no SQL.

pub mod client;
pub mod scope;
pub mod user;

pub use client::{ClientType, GrantType};
pub use scope::Scope;
pub use user::{Email, Password, Username};

/// Now, truncated to microseconds: Postgres keeps microseconds and SQLite nanoseconds, so a
/// value read back compares equal on both backends.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    chrono::Utc::now()
        .naive_utc()
        .duration_trunc(TimeDelta::microseconds(1))
        .expect("microsecond truncation of the current time cannot overflow")
}
