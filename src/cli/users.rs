//! `tessera users …`

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context};
use clap::Subcommand;

use crate::config::Settings;
use crate::domain::{Email, Password, Username};
use crate::oauth::passwords;
use crate::oauth::users::{self, NewUser};
use crate::store::StoreError;

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
            let user = match users::create(
                &mut conn,
                NewUser {
                    username,
                    email,
                    admin,
                },
                hash,
            ) {
                Err(StoreError::Conflict(_)) => bail!("a user with that username exists already"),
                other => other?,
            };
            super::print(json, &user, |u| {
                println!(
                    "created user {} (id {}){}",
                    u.username,
                    u.id,
                    if u.admin { ", admin" } else { "" }
                );
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
