//! The command line, run as the real binary against a test database.

use std::process::{Command, Output};

use serde_json::Value;

use crate::helpers::{cli_json, run_cli, Backend, ServerProcess, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}

backend_tests! {
    async fn users_create_prints_the_user_and_refuses_duplicates(backend) {
        let (db, keys) = (TestDb::create(backend), tempfile::tempdir().unwrap());

        let out = run_cli(&db, keys.path(), &["users", "create", "--username", "alice", "--email", "a@example.com", "--admin", "--password-stdin", "--json"], Some("correct horse battery\n"));

        let user = cli_json(&out);
        assert_eq!(user["username"], "alice");
        assert_eq!(user["email"], "a@example.com");
        assert_eq!(user["admin"], true);
        assert_eq!(user["disabled"], false);
        assert!(user["id"].is_string() && user["created_at"].as_str().unwrap().ends_with('Z'));

        let dup = run_cli(&db, keys.path(), &["users", "create", "--username", "alice", "--password-stdin"], Some("another password\n"));
        assert!(one_line_error(&dup).contains("exists"));

        let short = run_cli(&db, keys.path(), &["users", "create", "--username", "bob", "--password-stdin"], Some("short\n"));
        assert!(one_line_error(&short).contains("password"));

        // Without --password-stdin and without a terminal, it says how to pass the password.
        let no_tty = run_cli(&db, keys.path(), &["users", "create", "--username", "carol"], None);
        assert!(one_line_error(&no_tty).contains("--password-stdin"));
    }

    async fn clients_create_shows_the_secret_once(backend) {
        let (db, keys) = (TestDb::create(backend), tempfile::tempdir().unwrap());

        let out = run_cli(&db, keys.path(), &["clients", "create", "--name", "billing", "--grant", "client_credentials", "--scope", "invoices:read", "--audience", "billing-api", "--json"], None);

        let client = cli_json(&out);
        assert_eq!(client["name"], "billing");
        assert_eq!(client["client_type"], "confidential");
        assert_eq!(client["grant_types"], serde_json::json!(["client_credentials"]));
        assert_eq!(client["scopes"], serde_json::json!(["invoices:read"]));
        assert_eq!(client["audience"], "billing-api");
        assert_eq!(client["client_secret"].as_str().unwrap().len(), 43, "256 bits, base64url");

        let public = cli_json(&run_cli(&db, keys.path(), &["clients", "create", "--name", "spa", "--public", "--redirect-uri", "https://app.example/cb", "--json"], None));
        assert_eq!(public["client_type"], "public");
        assert!(public.get("client_secret").is_none());
        assert_eq!(public["grant_types"], serde_json::json!(["authorization_code", "refresh_token"]));

        let bad = run_cli(&db, keys.path(), &["clients", "create", "--name", "x", "--grant", "telepathy"], None);
        assert!(!bad.status.success());
        let no_redirect = run_cli(&db, keys.path(), &["clients", "create", "--name", "x", "--public"], None);
        assert!(one_line_error(&no_redirect).contains("redirect"));
    }

    async fn migrate_applies_once(backend) {
        let (db, keys) = (TestDb::create(backend), tempfile::tempdir().unwrap());

        let first = run_cli(&db, keys.path(), &["migrate"], None);
        let second = run_cli(&db, keys.path(), &["migrate"], None);

        assert!(first.status.success() && second.status.success());
        assert!(String::from_utf8_lossy(&first.stdout).contains("applied"));
        assert!(String::from_utf8_lossy(&second.stdout).contains("no pending migrations"));
    }
}

backend_tests! {
    async fn admin_commands_work_without_a_server(backend) {
        let (db, keys) = (TestDb::create(backend), tempfile::tempdir().unwrap());
        let alice = cli_json(&run_cli(&db, keys.path(), &["users", "create", "--username", "alice", "--password-stdin", "--json"], Some("correct horse battery\n")));
        cli_json(&run_cli(&db, keys.path(), &["users", "create", "--username", "bob", "--password-stdin", "--json"], Some("correct horse battery\n")));
        let client = cli_json(&run_cli(&db, keys.path(), &["clients", "create", "--name", "c", "--grant", "password", "--json"], None));

        // users list
        let users = cli_json(&run_cli(&db, keys.path(), &["users", "list", "--json"], None));
        let mut names: Vec<&str> = users.as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["alice", "bob"]);

        // users disable, by username
        let disabled = cli_json(&run_cli(&db, keys.path(), &["users", "disable", "alice", "--json"], None));
        assert_eq!(disabled["id"], alice["id"]);
        assert_eq!(disabled["disabled"], true);
        assert!(!run_cli(&db, keys.path(), &["users", "disable", "nobody"], None).status.success());

        // sessions revoke: one of --user / --session is required; unknown ones fail.
        assert!(!run_cli(&db, keys.path(), &["sessions", "revoke"], None).status.success());
        let revoked = cli_json(&run_cli(&db, keys.path(), &["sessions", "revoke", "--user", "bob", "--json"], None));
        assert_eq!(revoked["sessions_revoked"], 0);
        let unknown = run_cli(&db, keys.path(), &["sessions", "revoke", "--session", "no-such-sid"], None);
        assert!(one_line_error(&unknown).contains("no such session"));

        // keys rotate: the first rotation waits for the activation delay; --immediate does not.
        let key = cli_json(&run_cli(&db, keys.path(), &["keys", "rotate", "--json"], None));
        let signs_from = chrono::DateTime::parse_from_rfc3339(key["signs_from"].as_str().unwrap()).unwrap();
        assert!(signs_from > chrono::Utc::now() + chrono::TimeDelta::seconds(500));
        let urgent = cli_json(&run_cli(&db, keys.path(), &["keys", "rotate", "--immediate", "--json"], None));
        let signs_from = chrono::DateTime::parse_from_rfc3339(urgent["signs_from"].as_str().unwrap()).unwrap();
        assert!(signs_from <= chrono::Utc::now());
        assert!(keys.path().join(format!("{}.pem", urgent["kid"].as_str().unwrap())).exists());

        // clients list and delete
        let clients = cli_json(&run_cli(&db, keys.path(), &["clients", "list", "--json"], None));
        assert_eq!(clients.as_array().unwrap().len(), 1);
        assert!(clients[0].get("client_secret").is_none());
        let id = client["client_id"].as_str().unwrap();
        cli_json(&run_cli(&db, keys.path(), &["clients", "delete", id, "--json"], None));
        assert_eq!(cli_json(&run_cli(&db, keys.path(), &["clients", "list", "--json"], None)), serde_json::json!([]));
        assert!(one_line_error(&run_cli(&db, keys.path(), &["clients", "delete", id], None)).contains("no such client"));
    }
}

#[test]
fn a_bad_setting_stops_start_up_naming_the_variable() {
    for (var, value) in [
        ("TESSERA_ACCESS_TOKEN_TTL", "soon"),
        ("TESSERA_BIND", "not-an-address"),
        ("TESSERA_DATABASE_URL", "mysql://db"),
        ("TESSERA_LOG", "[[["),
    ] {
        let out = Command::new(BIN)
            .arg("serve")
            .env_clear()
            .env(var, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{var}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(var), "{var}: {err}");
    }
}

/// Runs the real server at debug level through a login, a refresh, a reuse and a failed
/// login, then checks that no password, secret or token reached the log.
#[test]
fn no_secret_reaches_the_log() {
    let db = TestDb::create(Backend::Sqlite);
    let keys = tempfile::tempdir().unwrap();
    let password = "log-canary-password";
    cli_json(&run_cli(
        &db,
        keys.path(),
        &[
            "users",
            "create",
            "--username",
            "alice",
            "--password-stdin",
            "--json",
        ],
        Some(password),
    ));
    let client = cli_json(&run_cli(
        &db,
        keys.path(),
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
    ));
    let secret = client["client_secret"].as_str().unwrap().to_owned();

    let keys_dir = keys.path().display().to_string();
    let server = ServerProcess::start(&[
        ("TESSERA_DATABASE_URL", db.url.as_str()),
        ("TESSERA_KEYS_DIR", keys_dir.as_str()),
        ("TESSERA_LOG", "trace"),
    ]);
    let address = server.address.clone();

    let tokens = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let http = reqwest::Client::new();
        let url = format!("{address}/oauth/token");
        let id = client["client_id"].as_str().unwrap();
        let login: Value = http
            .post(&url)
            .basic_auth(id, Some(&secret))
            .form(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let refresh = login["refresh_token"].as_str().unwrap().to_owned();
        let rotated: Value = http
            .post(&url)
            .basic_auth(id, Some(&secret))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // Reuse and a failed login make the server log warnings.
        http.post(&url)
            .basic_auth(id, Some(&secret))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ])
            .send()
            .await
            .unwrap();
        http.post(&url)
            .basic_auth(id, Some(&secret))
            .form(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "log-canary-wrong"),
            ])
            .send()
            .await
            .unwrap();
        vec![
            refresh,
            login["access_token"].as_str().unwrap().to_owned(),
            rotated["refresh_token"].as_str().unwrap().to_owned(),
        ]
    });
    let log = server.stop();

    assert!(
        log.contains("refresh_token_reuse"),
        "the log records events"
    );
    for secret_text in [password, "log-canary-wrong", secret.as_str()]
        .into_iter()
        .chain(tokens.iter().map(String::as_str))
    {
        assert!(!log.contains(secret_text), "a secret reached the log");
    }
    // No token fragment either (a signature or claims segment).
    for token in &tokens {
        for part in token.split('.').skip(1) {
            assert!(!log.contains(part), "a token segment reached the log");
        }
    }
}
