//! `tessera users …`

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context};
use clap::Subcommand;

use crate::config::Settings;
use crate::domain::{Email, Password, Username};
use crate::oauth::admin::users::{self as admin_users, PatchUser};
use crate::oauth::admin::AdminError;
use crate::oauth::django_import;
use crate::oauth::events::Actor;
use crate::oauth::passwords;
use crate::oauth::users::NewUser;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user. The password is read from stdin (prompted for when stdin is a terminal).
    Create {
        #[arg(long)]
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        email: Option<String>,
        /// Give the user the admin role.
        #[arg(long)]
        admin: bool,
        /// Print the user as JSON, as the admin API shows it.
        #[arg(long)]
        json: bool,
    },
    /// Import users from `manage.py dumpdata auth.user` JSON. Django password hashes
    /// (pbkdf2_sha256, argon2) are kept and replaced by argon2id at each user's first login.
    /// Nothing is written if a record is invalid, unless --skip-invalid is given.
    Import {
        file: std::path::PathBuf,
        #[arg(long)]
        skip_invalid: bool,
        #[arg(long)]
        json: bool,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a user (by id or username) and revoke all of the user's sessions.
    Disable {
        /// The user's id or username.
        user: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: UsersCommand, settings: &Settings) -> anyhow::Result<()> {
    match cmd {
        UsersCommand::Create {
            username,
            password_stdin,
            email,
            admin,
            json,
        } => {
            let username = Username::parse(&username).context("--username")?;
            let email = email
                .as_deref()
                .map(Email::parse)
                .transpose()
                .context("--email")?;
            let password = Password::parse(read_password(password_stdin)?)?;
            let hash = passwords::hash_blocking(password.expose())?;
            let mut conn = super::connection(settings)?;
            let new = NewUser {
                username,
                email,
                admin,
            };
            let user = match admin_users::create(&mut conn, &Actor::cli(), new, hash) {
                Err(AdminError::Conflict(_)) => bail!("a user with that username exists already"),
                other => other?,
            };
            super::print(json, &user, |u| {
                let role = if u.admin { ", admin" } else { "" };
                println!("created user {} (id {}){role}", u.username, u.id);
            })
        }
        UsersCommand::Import {
            file,
            skip_invalid,
            json,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let mut conn = super::connection(settings)?;
            let report = match django_import::import(&mut conn, &text, skip_invalid) {
                Err(django_import::ImportError::Invalid(invalid)) => {
                    for record in &invalid {
                        eprintln!("{}: line {}: {}", file.display(), record.line, record.error);
                    }
                    bail!("{} invalid record(s); nothing was imported (use --skip-invalid to import the rest)", invalid.len());
                }
                other => other?,
            };
            for record in &report.invalid {
                eprintln!(
                    "{}: line {}: skipped: {}",
                    file.display(),
                    record.line,
                    record.error
                );
            }
            super::print(json, &report, |r| {
                println!(
                    "imported {} user(s), skipped {}",
                    r.imported,
                    r.invalid.len()
                )
            })
        }
        UsersCommand::List { json } => {
            let mut conn = super::connection(settings)?;
            let users = super::all_pages(|paging| Ok(admin_users::list(&mut conn, paging)?))?;
            super::print(json, &users, |users| {
                for u in users {
                    let mut flags = Vec::new();
                    if u.admin {
                        flags.push("admin");
                    }
                    if u.disabled {
                        flags.push("disabled");
                    }
                    println!("{}\t{}\t{}", u.id, u.username, flags.join(","));
                }
            })
        }
        UsersCommand::Disable { user, json } => {
            let mut conn = super::connection(settings)?;
            let found = admin_users::find(&mut conn, &user)?;
            let patch = PatchUser {
                disabled: Some(true),
                ..PatchUser::default()
            };
            let updated = admin_users::update(&mut conn, &Actor::cli(), &found.id, &patch, None)?;
            super::print(json, &updated, |u| {
                println!(
                    "disabled user {} (id {}); sessions revoked",
                    u.username, u.id
                )
            })
        }
    }
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if from_stdin || !stdin.is_terminal() {
        if !from_stdin {
            bail!("standard input is not a terminal: pass --password-stdin to read the password from it");
        }
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password")?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            bail!("no password on standard input");
        }
        return Ok(password);
    }
    let first = rpassword::prompt_password("Password: ")?;
    let again = rpassword::prompt_password("Password (again): ")?;
    if first != again {
        bail!("the passwords do not match");
    }
    Ok(first)
}
