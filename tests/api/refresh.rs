//! Refresh-token rotation, reuse detection and the concurrency guard.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_oauth_error, unverified_parts, TestApp};

const PW: &str = "correct horse battery";

backend_tests! {
    async fn refresh_rotates_and_reuse_revokes_the_session(backend) {
        // 1. Log in.
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        app.create_user("alice", PW).await;
        let first = app.login(&client, "alice", PW).await;
        let first_refresh = first["refresh_token"].as_str().unwrap();

        // 2. Refresh: a new pair in the same session.
        let resp = app.refresh(&client, first_refresh).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let second: Value = resp.json().await.unwrap();
        let second_refresh = second["refresh_token"].as_str().unwrap();
        assert_ne!(second_refresh, first_refresh);
        let claims = app.verify_access(second["access_token"].as_str().unwrap(), "tessera").await.unwrap();
        let (_, first_claims) = unverified_parts(first_refresh);
        assert_eq!(claims["sid"], first_claims["sid"]);
        assert_eq!(second["scope"], "read write");

        // 3. The retired token again: reuse. invalid_grant, and the session is revoked...
        let reuse = app.refresh(&client, first_refresh).await;
        assert_oauth_error(reuse, 400, "invalid_grant").await;
        assert!(app.session_revoked(first_claims["sid"].as_str().unwrap()).await);

        // 4. ...so its newest refresh token fails too.
        assert_oauth_error(app.refresh(&client, second_refresh).await, 400, "invalid_grant").await;
        let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("tessera_refresh_reuse_detected_total 1"), "{metrics}");
    }

    async fn of_sixteen_concurrent_refreshes_exactly_one_wins(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;
        let token = login["refresh_token"].as_str().unwrap().to_owned();

        let attempts = (0..16).map(|_| app.refresh(&client, &token));
        let responses = futures_util::future::join_all(attempts).await;

        let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 15, "{statuses:?}");
        for resp in responses.into_iter().filter(|r| r.status() == StatusCode::BAD_REQUEST) {
            assert_oauth_error(resp, 400, "invalid_grant").await;
        }
        // The losers were reuse: the session is revoked.
        let (_, claims) = unverified_parts(&token);
        assert!(app.session_revoked(claims["sid"].as_str().unwrap()).await);
    }

    async fn reuse_within_the_grace_period_keeps_the_session(backend) {
        let app = TestApp::spawn_with(backend, &[("TESSERA_REFRESH_REUSE_GRACE", "60")]).await;
        let client = app.confidential_client().await;
        app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;
        let old = login["refresh_token"].as_str().unwrap();
        let rotated: Value = app.refresh(&client, old).await.json().await.unwrap();

        // The retired token is still refused, but the session lives on.
        assert_oauth_error(app.refresh(&client, old).await, 400, "invalid_grant").await;
        let (_, claims) = unverified_parts(old);
        assert!(!app.session_revoked(claims["sid"].as_str().unwrap()).await);
        let resp = app.refresh(&client, rotated["refresh_token"].as_str().unwrap()).await;
        assert_eq!(resp.status(), StatusCode::OK);
    }

    async fn another_client_cannot_use_the_refresh_token(backend) {
        let app = TestApp::spawn(backend).await;
        let owner = app.confidential_client().await;
        let thief = app.confidential_client().await;
        app.create_user("alice", PW).await;
        let login = app.login(&owner, "alice", PW).await;
        let token = login["refresh_token"].as_str().unwrap();

        assert_oauth_error(app.refresh(&thief, token).await, 400, "invalid_grant").await;

        // The token was not consumed: its owner can still use it.
        assert_eq!(app.refresh(&owner, token).await.status(), StatusCode::OK);
    }

    async fn scope_may_narrow_but_not_widen(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        app.create_user("alice", PW).await;
        let login = app.post_token(Some(&client), &[("grant_type", "password"), ("username", "alice"), ("password", PW), ("scope", "read write")]).await;
        let login: Value = login.json().await.unwrap();

        let narrowed = app
            .post_token(Some(&client), &[("grant_type", "refresh_token"), ("refresh_token", login["refresh_token"].as_str().unwrap()), ("scope", "read")])
            .await;
        let narrowed: Value = narrowed.json().await.unwrap();
        assert_eq!(narrowed["scope"], "read");

        let widened = app
            .post_token(Some(&client), &[("grant_type", "refresh_token"), ("refresh_token", narrowed["refresh_token"].as_str().unwrap()), ("scope", "read write admin")])
            .await;
        assert_oauth_error(widened, 400, "invalid_scope").await;

        // Omitting scope returns to the originally granted scope (RFC 6749 §6).
        let back: Value = app.refresh(&client, narrowed["refresh_token"].as_str().unwrap()).await.json().await.unwrap();
        assert_eq!(back["scope"], "read write");
    }

    async fn expired_tokens_are_refused(backend) {
        let app = TestApp::spawn_with(backend, &[("TESSERA_REFRESH_TOKEN_TTL", "1"), ("TESSERA_ACCESS_TOKEN_TTL", "1")]).await;
        let client = app.confidential_client().await;
        app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;

        // Expiry is a matter of time passing: wait past the one-second lifetimes.
        tokio::time::sleep(Duration::from_millis(2100)).await;

        assert_oauth_error(app.refresh(&client, login["refresh_token"].as_str().unwrap()).await, 400, "invalid_grant").await;
        let err = app.verify_access(login["access_token"].as_str().unwrap(), "tessera").await.unwrap_err();
        assert_eq!(err.kind(), &jsonwebtoken::errors::ErrorKind::ExpiredSignature);
    }

    async fn disabled_user_cannot_refresh(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        let user_id = app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;
        app.with_db(move |conn| {
            use diesel::prelude::*;
            use tessera::store::schema::users;
            diesel::update(users::table.find(user_id)).set(users::disabled.eq(true)).execute(conn).unwrap();
        })
        .await;

        assert_oauth_error(app.refresh(&client, login["refresh_token"].as_str().unwrap()).await, 400, "invalid_grant").await;
    }

    async fn forged_and_malformed_refresh_tokens_are_invalid_grant(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;
        let genuine = login["refresh_token"].as_str().unwrap();
        let access = login["access_token"].as_str().unwrap();
        let (_, claims) = unverified_parts(genuine);

        let mut bad = vec![
            "garbage".to_owned(),
            "a.b.c".to_owned(),
            genuine[..genuine.len() / 2].to_owned(),
            genuine.rsplit_once('.').unwrap().0.to_owned(),
            format!("{genuine}x"),
            tamper_claims(genuine),
            forge_none(&claims),
            forge_hs256_with_public_key(&app, &claims),
            // An access token is not a refresh token (wrong typ, aud and token_type).
            access.to_owned(),
            "é".repeat(300),
        ];
        bad.push(bad[0].repeat(1000));
        for token in &bad {
            let resp = app.refresh(&client, token).await;
            assert_oauth_error(resp, 400, "invalid_grant").await;
        }

        // Afterwards the server still works normally.
        assert_eq!(app.refresh(&client, genuine).await.status(), StatusCode::OK);
        app.login(&client, "alice", PW).await;
    }
}

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// The genuine signature over altered claims.
fn tamper_claims(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let (_, mut claims) = unverified_parts(token);
    claims["sub"] = "someone-else".into();
    format!(
        "{}.{}.{}",
        parts[0],
        b64(claims.to_string().as_bytes()),
        parts[2]
    )
}

/// `alg: none`, no signature (RFC 8725 §2.1).
fn forge_none(claims: &Value) -> String {
    let header = serde_json::json!({ "alg": "none", "typ": "JWT" });
    format!(
        "{}.{}.",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// HS256 with the server's public key as the HMAC secret: the classic algorithm confusion.
fn forge_hs256_with_public_key(app: &TestApp, claims: &Value) -> String {
    use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
    let pem_path = std::fs::read_dir(app.keys_dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "pem"))
        .unwrap();
    let private =
        rsa::PrivateKey::from_pkcs8_pem(&std::fs::read_to_string(pem_path).unwrap()).unwrap();
    let public_pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let header = serde_json::json!({ "alg": "HS256", "typ": "JWT" });
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, public_pem.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, signing_input.as_bytes());
    format!("{signing_input}.{}", b64(tag.as_ref()))
}
