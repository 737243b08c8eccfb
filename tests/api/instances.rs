//! Two instances sharing one database and one keys directory.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{unverified_parts, TestApp};

const PW: &str = "correct horse battery";

/// A second server on the first one's database and keys directory.
async fn second_instance(first: &TestApp, extra: &[(&str, &str)]) -> TestApp {
    let settings = crate::helpers::test_settings(
        &match &first.settings.database_url {
            tessera::config::DatabaseUrl::Sqlite(path) => format!("sqlite://{path}"),
            tessera::config::DatabaseUrl::Postgres(url) => url.clone(),
        },
        first.keys_dir.path(),
        extra,
    );
    TestApp::spawn_settings(first.backend, settings).await
}

backend_tests! {
    async fn concurrent_refreshes_across_instances_let_exactly_one_win(backend) {
        let a = TestApp::spawn(backend).await;
        let b = second_instance(&a, &[]).await;
        let client = a.confidential_client().await;
        a.create_user("alice", PW).await;
        let token = a.login(&client, "alice", PW).await["refresh_token"].as_str().unwrap().to_owned();

        let attempts = (0..16).map(|i| {
            let app = if i % 2 == 0 { &a } else { &b };
            app.refresh(&client, &token)
        });
        let responses = futures_util::future::join_all(attempts).await;

        let ok = responses.iter().filter(|r| r.status() == StatusCode::OK).count();
        assert_eq!(ok, 1, "{:?}", responses.iter().map(|r| r.status()).collect::<Vec<_>>());
    }

    async fn a_rotation_on_one_instance_reaches_the_other(backend) {
        let reload = [("TESSERA_KEY_RELOAD_INTERVAL", "1")];
        let a = TestApp::spawn_with(backend, &reload).await;
        let b = second_instance(&a, &reload).await;
        let client = a.confidential_client().await;
        a.create_user("alice", PW).await;
        let before = b.get_jwks().await;
        let old = b.login(&client, "alice", PW).await;
        let admin = a.admin_token().await;

        // An immediate rotation on A (the leaked-key case)...
        let resp = a.http.post(a.url("/admin/keys/rotate?immediate=true")).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let rotated: serde_json::Value = resp.json().await.unwrap();

        // ...shows in B's JWKS within the reload interval (the contract allows 60 s).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let after = loop {
            let jwks = b.get_jwks().await;
            if jwks != before {
                break jwks;
            }
            assert!(tokio::time::Instant::now() < deadline, "B never saw the rotation");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let kids: Vec<&str> = after["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert_eq!(kids, vec![rotated["kid"].as_str().unwrap()]);

        // B honours it: the old key's tokens are dead there, and B signs with the new key.
        assert_eq!(b.introspect(&client, old["access_token"].as_str().unwrap()).await["active"], false);
        let fresh = b.login(&client, "alice", PW).await;
        let (header, _) = unverified_parts(fresh["access_token"].as_str().unwrap());
        assert_eq!(header["kid"], rotated["kid"]);
    }
}
