//! `tessera sessions …`

use clap::{ArgGroup, Subcommand};

use crate::config::Settings;
use crate::oauth::admin::{sessions, users};
use crate::oauth::events::Actor;

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Revoke one session, or every session of a user.
    #[command(group(ArgGroup::new("target").required(true).args(["user", "session"])))]
    Revoke {
        /// The user's id or username: revokes all of the user's sessions.
        #[arg(long)]
        user: Option<String>,
        /// One session id.
        #[arg(long)]
        session: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: SessionsCommand, settings: &Settings) -> anyhow::Result<()> {
    let SessionsCommand::Revoke {
        user,
        session,
        json,
    } = cmd;
    let mut conn = super::connection(settings)?;
    let actor = Actor::cli();
    let result = match (user, session) {
        (Some(user), _) => {
            let user = users::find(&mut conn, &user)?;
            let revoked = sessions::revoke_user(&mut conn, &actor, &user.id)?;
            serde_json::json!({ "user_id": user.id, "sessions_revoked": revoked })
        }
        (None, Some(sid)) => {
            sessions::revoke(&mut conn, &actor, &sid)?;
            serde_json::json!({ "sid": sid, "revoked": true })
        }
        (None, None) => unreachable!("clap requires --user or --session"),
    };
    super::print(json, &result, |r| println!("{r}"))
}
