//! `tessera keys …`

use clap::Subcommand;

use crate::config::Settings;
use crate::oauth::events::{self, Actor};
use crate::oauth::keys::KeyStore;
use crate::oauth::users::rfc3339;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key. It is published at once and signs after
    /// TESSERA_KEY_ACTIVATION_DELAY; with --immediate it signs now and every other key is
    /// retired (for a leaked key: everything the old keys signed stops verifying).
    Rotate {
        #[arg(long)]
        immediate: bool,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: KeysCommand, settings: &Settings) -> anyhow::Result<()> {
    let KeysCommand::Rotate { immediate, json } = cmd;
    let mut conn = super::connection(settings)?;
    let retain_for = settings.access_token_ttl.max(settings.refresh_token_ttl);
    let store = KeyStore::open(
        &mut conn,
        &settings.keys_dir,
        settings.key_activation_delay,
        retain_for,
    )?;
    let key = store.rotate(&mut conn, settings.key_activation_delay, immediate)?;
    let view = serde_json::json!({ "kid": key.kid, "signs_from": rfc3339(key.signs_from) });
    events::record(
        &mut conn,
        "key_rotated",
        Some(&Actor::cli()),
        Some(&key.kid),
        serde_json::json!({
            "immediate": immediate, "signs_from": view["signs_from"],
        }),
    )?;
    super::print(json, &view, |v| {
        println!("kid: {}", v["kid"].as_str().unwrap_or_default());
        println!(
            "signs from: {}",
            v["signs_from"].as_str().unwrap_or_default()
        );
    })
}
