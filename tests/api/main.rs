//! The integration suite: each test spawns the real server on a random port with its own
//! database and signing key, and talks HTTP to it. Every test runs twice, on SQLite and on
//! Postgres (see `helpers::backend_tests!`).

#[macro_use]
mod helpers;

mod admin;
mod authorize;
mod browser;
mod cli;
mod client_credentials;
mod discovery;
mod django;
mod drf;
mod errors;
mod housekeeping;
mod instances;
mod operations;
mod password;
mod processes;
mod refresh;
mod revocation;
mod verify;
