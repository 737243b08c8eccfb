//! Bad input at the token endpoint: every mistake is a 4xx in the contract's shape, and the
//! server keeps working afterwards.

use reqwest::StatusCode;

use crate::helpers::{assert_oauth_error, TestApp};

backend_tests! {
    async fn malformed_requests_get_rfc6749_errors(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        app.create_user("alice", "correct horse battery").await;
        let token_url = app.url("/oauth/token");
        let post = || app.http.post(&token_url).basic_auth(&client.client_id, client.client_secret.as_deref());

        let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
            (post().form(&[("username", "alice")]), 400, "invalid_request"),
            (post().form(&[("grant_type", "implicit")]), 400, "unsupported_grant_type"),
            (post().form(&[("grant_type", "authorization_code"), ("code", "x")]), 400, "unauthorized_client"),
            (post().form(&[("grant_type", "password"), ("username", "alice")]), 400, "invalid_request"),
            (post().form(&[("grant_type", "refresh_token")]), 400, "invalid_request"),
            // RFC 6749 §3.1: no parameter twice.
            (post().body("grant_type=client_credentials&grant_type=password").header("content-type", "application/x-www-form-urlencoded"), 400, "invalid_request"),
            // RFC 6749 §3.2: the body is form-encoded, nothing else.
            (post().json(&serde_json::json!({"grant_type": "client_credentials"})), 400, "invalid_request"),
            (post().body("grant_type=client_credentials"), 400, "invalid_request"),
            (post().header("content-type", "text/plain").body("grant_type=client_credentials"), 400, "invalid_request"),
            (post().header("content-type", "application/x-www-form-urlencoded").body(vec![0xff, 0xfe, 0x00, 0x26]), 400, "invalid_request"),
            (post().header("content-type", "application/x-www-form-urlencoded").body("%%%=&&&==="), 400, "invalid_request"),
        ];
        for (request, status, code) in cases {
            assert_oauth_error(request.send().await.unwrap(), status, code).await;
        }

        // Afterwards the same server logs in normally.
        app.login(&client, "alice", "correct horse battery").await;
    }

    async fn bodies_over_64_kib_get_413_on_every_endpoint(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        let big = format!("grant_type=client_credentials&pad={}", "a".repeat(70 * 1024));

        for path in ["/oauth/token", "/healthz", "/no-such-path"] {
            let resp = app
                .http
                .post(app.url(path))
                .basic_auth(&client.client_id, client.client_secret.as_deref())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(big.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
            let body: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(body["error"], "invalid_request");
        }

        // Chunked, with no Content-Length to check up front.
        let chunks = futures_util::stream::iter((0..70).map(|_| Ok::<_, std::io::Error>(vec![b'a'; 1024])));
        let resp = app
            .http
            .post(app.url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);

        let ok = app.post_token(Some(&client), &[("grant_type", "client_credentials")]).await;
        assert_eq!(ok.status(), StatusCode::OK);
    }

    async fn unknown_paths_and_methods_are_4xx(backend) {
        let app = TestApp::spawn(backend).await;

        let missing = app.http.get(app.url("/nope")).send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let body: serde_json::Value = missing.json().await.unwrap();
        assert_eq!(body["error"], "not_found");

        let wrong_method = app.http.get(app.url("/oauth/token")).send().await.unwrap();
        assert!(wrong_method.status().is_client_error(), "{}", wrong_method.status());
    }
}
