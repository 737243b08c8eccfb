//! A real Django service (djangorestframework-simplejwt, JWK_URL verification) against a
//! spawned Tessera, and users imported from hashes Django itself made.
//!
//! The Python side lives in tests/django/ and runs in the virtualenv that .ci/run creates
//! (`target/django-venv`, or `TESSERA_TEST_PYTHON`). Without it the tests report themselves
//! skipped, except under `CI=true`, where they fail.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::helpers::{TestApp, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

fn python() -> Option<PathBuf> {
    let python = std::env::var_os("TESSERA_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/django-venv/bin/python")
        });
    let ready = Command::new(&python)
        .args(["-c", "import django, rest_framework_simplejwt, jwt, argon2"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ready {
        return Some(python);
    }
    let why = format!(
        "no Python with Django and simplejwt at {} (see tests/django/requirements.txt)",
        python.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and {why}");
    }
    eprintln!("SKIPPED (django): {why}");
    None
}

fn run_python(python: &PathBuf, script: &str, env: &[(&str, &str)], stdin: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/django")
        .join(script);
    let mut child = Command::new(python)
        .arg(path)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

backend_tests! {
    async fn a_simplejwt_service_accepts_access_tokens_and_nothing_else(backend) {
        let Some(python) = python() else { return };
        // Arrange: a user, and every kind of token a service might be shown.
        let app = TestApp::spawn(backend).await;
        let user_id = app.create_user("alice", "correct horse battery").await;
        let pair: Value = app.http.post(app.url("/api/token/")).json(&json!({ "username": "alice", "password": "correct horse battery" }))
            .send().await.unwrap().json().await.unwrap();
        let client = app.confidential_client().await;
        let oauth = app.login(&client, "alice", "correct horse battery").await;
        let access = pair["access"].as_str().unwrap();
        let (_, claims) = crate::helpers::unverified_parts(access);
        let mut expired = claims.clone();
        let now = chrono::Utc::now().timestamp();
        expired["iat"] = (now - 600).into();
        expired["exp"] = (now - 300).into();
        let mut tampered_claims = claims.clone();
        tampered_claims["user_id"] = "1".into();
        let parts: Vec<&str> = access.split('.').collect();
        let tampered = {
            use base64::Engine;
            let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tampered_claims.to_string());
            format!("{}.{body}.{}", parts[0], parts[2])
        };
        let tokens = json!({
            "access": access,
            "oauth_access": oauth["access_token"],
            "refresh": pair["refresh"],
            "expired": app.sign_as_server("at+jwt", &expired),
            "tampered": tampered,
            "garbage": "not.a.jwt",
        });

        // Act: the Django service checks each one against Tessera's JWKS.
        let jwks_uri = app.url("/.well-known/jwks.json");
        let env = [("TESSERA_JWKS_URI", jwks_uri.as_str()), ("TESSERA_ISSUER", app.address.as_str()), ("TESSERA_AUDIENCE", "tessera")];
        // The server runs on its own threads: blocking this one on Python is fine.
        let out = run_python(&python, "drf_service.py", &env, &tokens.to_string());
        let results: Value = serde_json::from_str(&out).unwrap();

        // Assert
        assert_eq!(results["access"]["status"], 200, "{results}");
        assert_eq!(results["access"]["body"]["user_id"], user_id.as_str());
        assert_eq!(results["oauth_access"]["status"], 200, "{results}");
        for refused in ["refresh", "expired", "tampered", "garbage"] {
            assert_eq!(results[refused]["status"], 401, "{refused}: {results}");
        }
    }

    async fn users_imported_from_django_log_in_and_move_to_argon2id(backend) {
        let Some(python) = python() else { return };
        // 1. Django makes the hashes.
        let users = json!([
            { "pk": 7, "username": "alice", "password": "alice-secret-1", "hasher": "pbkdf2_sha256", "email": "alice@example.com" },
            { "pk": 8, "username": "bob", "password": "bob-secret-12", "hasher": "argon2", "is_superuser": true },
            { "pk": 9, "username": "carol", "password": "carol-secret-1", "hasher": "pbkdf2_sha256", "is_active": false },
            { "pk": 10, "username": "dave", "password": "unused", "hasher": "unusable", "is_staff": true },
        ]);
        let dump = run_python(&python, "make_users.py", &[], &users.to_string());
        let db = TestDb::create(backend);
        let keys = tempfile::tempdir().unwrap();
        let file = keys.path().join("users.json");
        std::fs::write(&file, &dump).unwrap();

        // 2. Import them.
        let out = Command::new(BIN).args(["users", "import", file.to_str().unwrap(), "--json"])
            .env_clear().env("TESSERA_DATABASE_URL", &db.url).env("TESSERA_KEYS_DIR", keys.path()).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report, json!({ "imported": 4, "invalid": [] }));

        // 3. Their Django passwords work; Django's pk is their id; flags carry over.
        let app = TestApp::spawn_on(backend, db, tempfile::tempdir().unwrap(), &[]).await;
        for (name, password) in [("alice", "alice-secret-1"), ("bob", "bob-secret-12")] {
            let resp = app.http.post(app.url("/api/token/")).json(&json!({ "username": name, "password": password })).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{name}");
        }
        let wrong = app.http.post(app.url("/api/token/")).json(&json!({ "username": "alice", "password": "alice-secret-2" })).send().await.unwrap();
        assert_eq!(wrong.status(), 401);
        for (name, password) in [("carol", "carol-secret-1"), ("dave", "unused")] {
            let resp = app.http.post(app.url("/api/token/")).json(&json!({ "username": name, "password": password })).send().await.unwrap();
            assert_eq!(resp.status(), 401, "{name}");
        }
        let rows = app.with_db(|conn| {
            ["alice", "bob", "carol", "dave"].map(|u| tessera::store::users::find_by_username(conn, u).unwrap().unwrap())
        }).await;
        let [alice, bob, carol, dave] = rows;
        assert_eq!((alice.id.as_str(), bob.id.as_str()), ("7", "8"));
        assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
        assert!(!alice.is_admin && bob.is_admin && dave.is_admin);
        assert!(carol.disabled && !alice.disabled);

        // 4. A successful login replaced the Django hash with Tessera's argon2id.
        for upgraded in [&alice, &bob] {
            assert!(upgraded.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", upgraded.username);
        }
        assert!(carol.password_hash.starts_with("pbkdf2_sha256$"), "no login, no upgrade");
        // And the new hash still lets the user in.
        let again = app.http.post(app.url("/api/token/")).json(&json!({ "username": "bob", "password": "bob-secret-12" })).send().await.unwrap();
        assert_eq!(again.status(), 200);
    }
}

/// Malformed import files: each bad record named by line, and nothing written.
#[test]
fn bad_import_files_write_nothing() {
    let db = TestDb::create(crate::helpers::Backend::Sqlite);
    let keys = tempfile::tempdir().unwrap();
    let file = keys.path().join("users.json");
    let import = |extra: &[&str]| {
        Command::new(BIN)
            .args(["users", "import", file.to_str().unwrap()])
            .args(extra)
            .env_clear()
            .env("TESSERA_DATABASE_URL", &db.url)
            .env("TESSERA_KEYS_DIR", keys.path())
            .output()
            .unwrap()
    };
    let good = r#"{"model": "auth.user", "pk": 1, "fields": {"username": "ok", "password": "pbkdf2_sha256$1000$salt$aGFzaA==", "email": ""}}"#;
    std::fs::write(&file, format!(
        "[\n  {good},\n  {{\"model\": \"auth.user\", \"pk\": 2, \"fields\": {{\"password\": \"pbkdf2_sha256$1$s$h\"}}}},\n  {{\"model\": \"auth.group\", \"pk\": 3, \"fields\": {{}}}},\n  {{\"model\": \"auth.user\", \"pk\": 4, \"fields\": {{\"username\": \"md5user\", \"password\": \"md5$abc$def\"}}}},\n  {{\"model\": \"auth.user\", \"pk\": 5, \"fields\": {{\"username\": \"bad email\", \"password\": \"!x\"}}}}\n]\n"
    )).unwrap();

    // 1. Without --skip-invalid: every bad record by line, nothing imported.
    let out = import(&[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for line in ["line 3:", "line 4:", "line 5:", "line 6:"] {
        assert!(err.contains(line), "{line} in {err}");
    }
    assert!(!err.contains("line 2:"), "{err}");
    assert!(err.contains("md5"), "{err}");
    let list = Command::new(BIN)
        .args(["users", "list", "--json"])
        .env_clear()
        .env("TESSERA_DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&list.stdout).unwrap(),
        json!([])
    );

    // 2. With --skip-invalid: the good record goes in.
    let out = import(&["--skip-invalid"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = Command::new(BIN)
        .args(["users", "list", "--json"])
        .env_clear()
        .env("TESSERA_DATABASE_URL", &db.url)
        .output()
        .unwrap();
    let users: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(users[0]["username"], "ok");

    // 3. Not JSON at all: one clear error with a line number.
    std::fs::write(&file, "[\n{\"model\": \n").unwrap();
    let out = import(&[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line"));
}
