//! `tessera clients …`

use clap::Subcommand;

use crate::config::Settings;
use crate::domain::{ClientType, GrantType};
use crate::oauth::admin::clients as admin_clients;
use crate::oauth::clients::NewClient;
use crate::oauth::events::Actor;

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Register a client. A confidential client's secret is printed once, now.
    Create {
        #[arg(long)]
        name: String,
        /// A public client (browser or mobile app): no secret.
        #[arg(long)]
        public: bool,
        /// An allowed grant type (repeatable): password, refresh_token, client_credentials,
        /// authorization_code. Default: client_credentials for confidential clients,
        /// authorization_code and refresh_token for public ones.
        #[arg(long = "grant", value_name = "GRANT")]
        grants: Vec<GrantType>,
        /// A registered redirect URI (repeatable).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// A scope the client may request (repeatable).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// The `aud` of this client's access tokens (default: TESSERA_AUDIENCE).
        #[arg(long)]
        audience: Option<String>,
        /// The operator's own client: its users are not asked for consent.
        #[arg(long)]
        first_party: bool,
        /// Print the client as JSON, as the admin API shows it.
        #[arg(long)]
        json: bool,
    },
    /// List clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a client and revoke the sessions it holds.
    Delete {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: ClientsCommand, settings: &Settings) -> anyhow::Result<()> {
    match cmd {
        ClientsCommand::Create {
            name,
            public,
            grants,
            redirect_uris,
            scopes,
            audience,
            first_party,
            json,
        } => {
            let new = NewClient {
                name,
                client_type: if public {
                    ClientType::Public
                } else {
                    ClientType::Confidential
                },
                grant_types: grants,
                redirect_uris,
                scopes,
                audience,
                first_party,
            };
            let mut conn = super::connection(settings)?;
            let client = admin_clients::create(&mut conn, &Actor::cli(), new)?;
            super::print(json, &client, |c| {
                println!("client_id: {}", c.client_id);
                if let Some(secret) = &c.client_secret {
                    println!("client_secret: {secret}");
                    println!("(the secret is shown only now: store it safely)");
                }
            })
        }
        ClientsCommand::List { json } => {
            let mut conn = super::connection(settings)?;
            let clients = super::all_pages(|paging| Ok(admin_clients::list(&mut conn, paging)?))?;
            super::print(json, &clients, |clients| {
                for c in clients {
                    println!(
                        "{}\t{}\t{}\t{}",
                        c.client_id,
                        c.client_type,
                        c.name,
                        c.grant_types.join(",")
                    );
                }
            })
        }
        ClientsCommand::Delete { client_id, json } => {
            let mut conn = super::connection(settings)?;
            admin_clients::delete(&mut conn, &Actor::cli(), &client_id)?;
            let done = serde_json::json!({ "deleted": client_id });
            super::print(json, &done, |_| {
                println!("deleted client {client_id}; its sessions are revoked")
            })
        }
    }
}
