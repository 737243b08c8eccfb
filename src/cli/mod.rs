//! The command line: `tessera [--config FILE] [serve | migrate | users … | clients …]`.
//! Every command acts on the configured database directly, with or without a running server.

mod clients;
mod keys;
mod sessions;
mod users;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::store::{self, Pool};

#[derive(Debug, Parser)]
#[command(name = "tessera", version, about = "Tessera identity provider")]
pub struct Cli {
    /// A TOML file of settings; TESSERA_* environment variables win over it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Manage OAuth clients.
    #[command(subcommand)]
    Clients(clients::ClientsCommand),
    /// Revoke sessions.
    #[command(subcommand)]
    Sessions(sessions::SessionsCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Migrate => {
            crate::telemetry::init(&settings.log)?;
            let pool = open(&settings)?;
            let applied = store::run_migrations(&mut *pool.get()?)?;
            if applied.is_empty() {
                println!("no pending migrations");
            }
            for name in applied {
                println!("applied {name}");
            }
            Ok(())
        }
        Command::Users(cmd) => users::run(cmd, &settings),
        Command::Clients(cmd) => clients::run(cmd, &settings),
        Command::Sessions(cmd) => sessions::run(cmd, &settings),
        Command::Keys(cmd) => keys::run(cmd, &settings),
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    crate::telemetry::init(&settings.log)?;
    actix_web::rt::System::new().block_on(async move {
        let app = crate::startup::Application::build(settings).await?;
        app.run_until_stopped().await.context("server failed")
    })
}

/// A small pool with migrations applied, for one command.
fn open(settings: &Settings) -> anyhow::Result<Pool> {
    store::connect(&settings.database_url, 1).context("cannot open the database")
}

fn connection(settings: &Settings) -> anyhow::Result<store::PooledConnection> {
    let pool = open(settings)?;
    let mut conn = pool.get()?;
    store::run_migrations(&mut conn)?;
    Ok(conn)
}

/// Prints `value` as JSON (for `--json`) or runs `human` to print it for people.
fn print<T: serde::Serialize>(json: bool, value: &T, human: impl FnOnce(&T)) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        human(value);
    }
    Ok(())
}

/// Collects every page of an admin list.
fn all_pages<T>(
    mut page: impl FnMut(&crate::oauth::admin::Paging) -> anyhow::Result<crate::oauth::admin::Page<T>>,
) -> anyhow::Result<Vec<T>> {
    let mut paging = crate::oauth::admin::Paging {
        limit: 1000,
        cursor: None,
    };
    let mut all = Vec::new();
    loop {
        let p = page(&paging)?;
        all.extend(p.items);
        match p.next {
            Some(next) => paging.cursor = Some(next),
            None => return Ok(all),
        }
    }
}
