//! Health, readiness, metrics and the bootstrap admin.

use reqwest::StatusCode;

use crate::helpers::TestApp;

backend_tests! {
    async fn health_and_readiness_answer(backend) {
        let app = TestApp::spawn(backend).await;
        for path in ["/healthz", "/readyz"] {
            let resp = app.http.get(app.url(path)).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
        }
    }

    async fn metrics_count_requests_and_tokens_by_grant(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        app.create_user("alice", "correct horse battery").await;
        app.login(&client, "alice", "correct horse battery").await;
        app.post_token(Some(&client), &[("grant_type", "client_credentials")]).await;
        app.post_token(Some(&client), &[("grant_type", "nope")]).await;

        let resp = app.http.get(app.url("/metrics")).send().await.unwrap();

        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = resp.text().await.unwrap();
        assert!(text.contains(r#"tessera_tokens_issued_total{grant="password"} 1"#), "{text}");
        assert!(text.contains(r#"tessera_tokens_issued_total{grant="client_credentials"} 1"#), "{text}");
        assert!(text.contains(r#"tessera_http_request_duration_seconds_count{endpoint="/oauth/token",method="POST",status="200"} 2"#), "{text}");
        assert!(text.contains(r#"tessera_http_request_duration_seconds_count{endpoint="/oauth/token",method="POST",status="400"} 1"#), "{text}");
    }

    async fn bootstrap_admin_is_created_once(backend) {
        let app = TestApp::spawn_with(backend, &[("TESSERA_BOOTSTRAP_ADMIN", "root:bootstrap-password")]).await;

        let user = app
            .with_db(|conn| tessera::store::users::find_by_username(conn, "root").unwrap().unwrap())
            .await;
        assert!(user.is_admin);
        assert!(user.password_hash.starts_with("$argon2id$"));
        let client = app.confidential_client().await;
        app.login(&client, "root", "bootstrap-password").await;

        // A restart with the same setting leaves the user alone.
        app.handle.stop(true).await;
        let TestApp { db, keys_dir, backend, .. } = app;
        let again = TestApp::spawn_on(backend, db, keys_dir, &[("TESSERA_BOOTSTRAP_ADMIN", "root:another-password")]).await;
        let after = again
            .with_db(|conn| tessera::store::users::find_by_username(conn, "root").unwrap().unwrap())
            .await;
        assert_eq!(after.id, user.id);
        assert_eq!(after.password_hash, user.password_hash);
    }
}
