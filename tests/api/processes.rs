//! Two `tessera serve` processes on one Postgres database and one keys directory, as a
//! horizontally scaled deployment runs them.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{cli_json, postgres_available, run_cli, Backend, ServerProcess, TestDb};

const PW: &str = "correct horse battery";

fn cli(db: &TestDb, keys: &str, args: &[&str], stdin: Option<&str>) -> Value {
    cli_json(&run_cli(db, std::path::Path::new(keys), args, stdin))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_rotation_guards_and_keys() {
    if !postgres_available() {
        return;
    }
    // 1. One database, one keys directory, a client, an admin and a user.
    let db = TestDb::create(Backend::Postgres);
    let keys = tempfile::tempdir().unwrap();
    let keys_dir = keys.path().display().to_string();
    let client = cli(
        &db,
        &keys_dir,
        &[
            "clients",
            "create",
            "--name",
            "c",
            "--grant",
            "password",
            "--grant",
            "refresh_token",
            "--json",
        ],
        None,
    );
    cli(
        &db,
        &keys_dir,
        &[
            "users",
            "create",
            "--username",
            "alice",
            "--password-stdin",
            "--json",
        ],
        Some(PW),
    );
    cli(
        &db,
        &keys_dir,
        &[
            "users",
            "create",
            "--username",
            "root",
            "--admin",
            "--password-stdin",
            "--json",
        ],
        Some(PW),
    );
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );

    // 2. Two server processes.
    let env = [
        ("TESSERA_DATABASE_URL", db.url.as_str()),
        ("TESSERA_KEYS_DIR", keys_dir.as_str()),
        ("TESSERA_KEY_RELOAD_INTERVAL", "1"),
        ("TESSERA_LOG", "warn,tessera::startup=info"),
    ];
    let (a, b) = (ServerProcess::start(&env), ServerProcess::start(&env));
    let http = reqwest::Client::new();
    let token = |base: &str, form: Vec<(&'static str, String)>| {
        http.post(format!("{base}/oauth/token"))
            .basic_auth(id, Some(secret))
            .form(&form)
            .send()
    };
    let login = |base: String, user: &'static str| {
        let request = token(
            &base,
            vec![
                ("grant_type", "password".into()),
                ("username", user.into()),
                ("password", PW.into()),
            ],
        );
        async move { request.await.unwrap().json::<Value>().await.unwrap() }
    };

    // 3. Sixteen concurrent refreshes of one token, alternating between the processes.
    let refresh = login(a.address.clone(), "alice").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let attempts = (0..16).map(|i| {
        let base = if i % 2 == 0 { &a.address } else { &b.address };
        token(
            base,
            vec![
                ("grant_type", "refresh_token".into()),
                ("refresh_token", refresh.clone()),
            ],
        )
    });
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );

    // 4. An immediate rotation on A reaches B's JWKS well within the contract's 60 seconds.
    let jwks = |base: String| async move {
        reqwest::get(format!("{base}/.well-known/jwks.json"))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let before = jwks(b.address.clone()).await;
    let admin = login(a.address.clone(), "root").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let rotated: Value = http
        .post(format!("{}/admin/keys/rotate?immediate=true", a.address))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let after = loop {
        let now = jwks(b.address.clone()).await;
        if now != before {
            break now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "B never served the new key set"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(after["keys"][0]["kid"], rotated["kid"]);
    assert_eq!(
        after["keys"].as_array().unwrap().len(),
        1,
        "the leaked key left at once"
    );
    // B honours it: the admin token signed before the rotation is now refused there.
    let refused = http
        .get(format!("{}/admin/users", b.address))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    eprintln!(
        "B served the rotated JWKS {} ms after the rotation",
        started.elapsed().as_millis()
    );
}
