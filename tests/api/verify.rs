//! tessera-verify against a real spawned Tessera.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tessera_verify::http::ReqwestClient;
use tessera_verify::{AccessClaims, Error, RevocationFollower, Verifier};

use crate::helpers::{unverified_parts, TestApp};

const PW: &str = "correct horse battery";

fn verifier(app: &TestApp) -> tessera_verify::VerifierBuilder {
    Verifier::builder(&app.address, "tessera")
        .jwks_url(app.url("/.well-known/jwks.json"))
        .leeway(Duration::ZERO)
}

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// A token with the given header and claims, signed by a key Tessera never published.
fn signed_by_stranger(kid: &str, claims: &Value) -> String {
    use aws_lc_rs::encoding::AsDer;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = pair.as_der().unwrap();
    let pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(der.as_ref()).unwrap();
    let header = json!({ "alg": "RS256", "typ": "at+jwt", "kid": kid });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut sig = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", b64(&sig))
}

backend_tests! {
    async fn valid_tokens_pass_and_every_bad_one_fails_for_its_reason(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        let user_id = app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;
        let access = login["access_token"].as_str().unwrap();
        let v = verifier(&app).build().unwrap();

        // Valid: typed claims.
        let claims: AccessClaims = v.verify(access).await.unwrap();
        assert_eq!(claims.sub, user_id);
        assert_eq!(claims.client_id.as_deref(), Some(client.client_id.as_str()));
        assert!(claims.is_user() && claims.has_scope("read") && !claims.has_scope("admin"));
        assert_eq!(claims.require_scope("admin"), Err(Error::InsufficientScope("admin".into())));
        let machine: Value = app.post_token(Some(&client), &[("grant_type", "client_credentials")]).await.json().await.unwrap();
        let machine: AccessClaims = v.verify(machine["access_token"].as_str().unwrap()).await.unwrap();
        assert!(!machine.is_user());

        // Everything else, each for its own reason.
        let (header, base) = unverified_parts(access);
        let kid = header["kid"].as_str().unwrap();
        let now = chrono::Utc::now().timestamp();
        let with = |changes: Value| {
            let mut c = base.clone();
            for (k, val) in changes.as_object().unwrap() {
                c[k] = val.clone();
            }
            c
        };
        let parts: Vec<&str> = access.split('.').collect();
        let tampered = format!("{}.{}.{}", parts[0], b64(with(json!({ "sub": "x" })).to_string().as_bytes()), parts[2]);
        let none = format!("{}.{}.", b64(br#"{"alg":"none","typ":"at+jwt"}"#), parts[1]);
        let hs256 = {
            let jwks = app.get_jwks().await;
            let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, jwks.to_string().as_bytes());
            let input = format!("{}.{}", b64(format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#).as_bytes()), parts[1]);
            format!("{input}.{}", b64(aws_lc_rs::hmac::sign(&key, input.as_bytes()).as_ref()))
        };
        let other_issuer = Verifier::builder("https://elsewhere.example", "tessera").jwks_url(app.url("/.well-known/jwks.json")).build().unwrap();
        let other_audience = Verifier::builder(&app.address, "billing").jwks_url(app.url("/.well-known/jwks.json")).leeway(Duration::ZERO).build().unwrap();

        let cases: Vec<(&str, String, Error)> = vec![
            ("refresh token", login["refresh_token"].as_str().unwrap().to_owned(), Error::NotAnAccessToken),
            ("expired", app.sign_as_server("at+jwt", &with(json!({ "iat": now - 600, "exp": now - 300 }))), Error::Expired),
            ("not yet valid", app.sign_as_server("at+jwt", &with(json!({ "nbf": now + 600 }))), Error::NotYetValid),
            ("issued in the future", app.sign_as_server("at+jwt", &with(json!({ "iat": now + 600, "exp": now + 900 }))), Error::NotYetValid),
            ("refresh token_type", app.sign_as_server("at+jwt", &with(json!({ "token_type": "refresh" }))), Error::NotAnAccessToken),
            ("tampered", tampered, Error::Signature),
            ("alg none", none, Error::Algorithm),
            ("HS256 with the public key", hs256, Error::Algorithm),
            ("unknown kid", signed_by_stranger("nobody-knows-me", &base), Error::UnknownKey),
            ("stranger's key under our kid", signed_by_stranger(kid, &base), Error::Signature),
            ("garbage", "garbage".into(), Error::Malformed),
            ("truncated", access[..access.len() / 2].to_owned(), Error::Malformed),
        ];
        for (name, token, expected) in cases {
            assert_eq!(v.verify::<AccessClaims>(&token).await.unwrap_err(), expected, "{name}");
        }
        assert_eq!(other_issuer.verify::<AccessClaims>(access).await.unwrap_err(), Error::Issuer);
        assert_eq!(other_audience.verify::<AccessClaims>(access).await.unwrap_err(), Error::Audience);
    }

    async fn a_new_kid_after_rotation_costs_exactly_one_refetch(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        app.create_user("alice", PW).await;
        let v = Arc::new(verifier(&app).refetch_cooldown(Duration::ZERO).build().unwrap());
        let before = app.login(&client, "alice", PW).await;
        v.verify::<AccessClaims>(before["access_token"].as_str().unwrap()).await.unwrap();
        assert_eq!(v.jwks_fetch_count(), 1);

        // Rotate (immediately, so the next token carries the new kid).
        let admin = app.admin_token().await;
        let resp = app.http.post(app.url("/admin/keys/rotate?immediate=true")).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let after = app.login(&client, "alice", PW).await;
        let token = after["access_token"].as_str().unwrap().to_owned();

        // Eight requests at once with the new kid share one refetch; later ones need none.
        let checks = (0..8).map(|_| {
            let (v, token) = (v.clone(), token.clone());
            tokio::spawn(async move { v.verify::<AccessClaims>(&token).await })
        });
        for result in futures_util::future::join_all(checks).await {
            result.unwrap().unwrap();
        }
        for _ in 0..5 {
            v.verify::<AccessClaims>(&token).await.unwrap();
        }
        assert_eq!(v.jwks_fetch_count(), 2);
    }

    async fn unknown_kids_refetch_at_most_once_per_cooldown(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        let cc: Value = app.post_token(Some(&client), &[("grant_type", "client_credentials")]).await.json().await.unwrap();
        let (_, claims) = unverified_parts(cc["access_token"].as_str().unwrap());
        let v = verifier(&app).refetch_cooldown(Duration::from_secs(3600)).build().unwrap();
        v.verify::<AccessClaims>(cc["access_token"].as_str().unwrap()).await.unwrap();

        for i in 0..5 {
            let forged = signed_by_stranger(&format!("kid-{i}"), &claims);
            assert_eq!(v.verify::<AccessClaims>(&forged).await.unwrap_err(), Error::UnknownKey);
        }

        assert_eq!(v.jwks_fetch_count(), 1, "a flood of unknown kids must not hammer the issuer");
    }

    async fn cached_keys_verify_while_tessera_is_down(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        let cc: Value = app.post_token(Some(&client), &[("grant_type", "client_credentials")]).await.json().await.unwrap();
        let token = cc["access_token"].as_str().unwrap();
        // A one-second cache, so the keys are stale when Tessera is gone; an hour's grace.
        let v = verifier(&app)
            .cache_ttl(Duration::from_secs(1), Duration::from_secs(1))
            .refetch_cooldown(Duration::ZERO)
            .max_stale(Duration::from_secs(3600))
            .build()
            .unwrap();
        v.verify::<AccessClaims>(token).await.unwrap();

        app.handle.stop(true).await;
        tokio::time::sleep(Duration::from_millis(1100)).await; // let the cached set go stale

        v.verify::<AccessClaims>(token).await.expect("stale keys still verify while the issuer is down");
        assert_eq!(v.jwks_fetch_count(), 2, "it did try to refresh");
        // With no grace at all, a stale set is refused once the issuer cannot be reached.
        let strict = verifier(&app).max_stale(Duration::ZERO).build().unwrap();
        assert!(matches!(strict.verify::<AccessClaims>(token).await, Err(Error::KeysUnavailable(_))));
    }

    async fn a_revoked_session_is_refused_after_one_poll(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;
        let access = login["access_token"].as_str().unwrap();
        let http = Arc::new(ReqwestClient::default());
        let follower = Arc::new(RevocationFollower::new(&app.address, &client.client_id, client.client_secret.as_deref().unwrap(), http));
        follower.poll().await.unwrap();
        let v = verifier(&app).revocations(follower.clone()).build().unwrap();
        v.verify::<AccessClaims>(access).await.unwrap();

        app.post_form("/oauth/revoke", &client, &[("token", login["refresh_token"].as_str().unwrap())]).await;
        assert_eq!(follower.poll().await.unwrap(), 1);

        assert_eq!(v.verify::<AccessClaims>(access).await.unwrap_err(), Error::Revoked);

        // The same through the background task, polling every 200 ms.
        let second = app.login(&client, "alice", PW).await;
        follower.spawn(Duration::from_millis(200));
        v.verify::<AccessClaims>(second["access_token"].as_str().unwrap()).await.unwrap();
        app.post_form("/oauth/revoke", &client, &[("token", second["access_token"].as_str().unwrap())]).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while v.verify::<AccessClaims>(second["access_token"].as_str().unwrap()).await.is_ok() {
            assert!(tokio::time::Instant::now() < deadline, "never refused");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn a_cold_cache_fetches_once_for_many_concurrent_requests(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        let cc: Value = app.post_token(Some(&client), &[("grant_type", "client_credentials")]).await.json().await.unwrap();
        let token = cc["access_token"].as_str().unwrap().to_owned();
        // Through discovery, as a service configured with the issuer alone would.
        let v = Arc::new(Verifier::builder(&app.address, "tessera").build().unwrap());

        let checks = (0..50).map(|_| {
            let (v, token) = (v.clone(), token.clone());
            tokio::spawn(async move { v.verify::<AccessClaims>(&token).await })
        });
        for result in futures_util::future::join_all(checks).await {
            result.unwrap().unwrap();
        }

        assert_eq!(v.jwks_fetch_count(), 1);
    }

    async fn the_actix_extractor_answers_per_rfc6750(backend) {
        use actix_web::{web, App, HttpResponse, HttpServer};
        use tessera_verify::actix::{Authenticated, Rejection};

        async fn reports(Authenticated(claims): Authenticated<AccessClaims>) -> Result<HttpResponse, Rejection> {
            claims.require_scope("write")?;
            Ok(HttpResponse::Ok().json(json!({ "sub": claims.sub })))
        }

        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        let data = web::Data::new(verifier(&app).build().unwrap());
        let server = HttpServer::new(move || App::new().app_data(data.clone()).route("/reports", web::get().to(reports)))
            .workers(1)
            .bind("127.0.0.1:0")
            .unwrap();
        let url = format!("http://{}/reports", server.addrs()[0]);
        tokio::spawn(server.run());
        let token = |scope: &'static str| {
            let (app, client) = (&app, client.clone());
            async move {
                let body: Value = app.post_token(Some(&client), &[("grant_type", "client_credentials"), ("scope", scope)]).await.json().await.unwrap();
                body["access_token"].as_str().unwrap().to_owned()
            }
        };

        let ok = app.http.get(&url).bearer_auth(token("write").await).send().await.unwrap();
        assert_eq!(ok.status(), 200);
        let none = app.http.get(&url).send().await.unwrap();
        assert_eq!(none.status(), 401);
        assert_eq!(none.headers()["www-authenticate"], "Bearer");
        let bad = app.http.get(&url).bearer_auth("garbage").send().await.unwrap();
        assert_eq!(bad.status(), 401);
        assert!(bad.headers()["www-authenticate"].to_str().unwrap().contains(r#"error="invalid_token""#));
        let narrow = app.http.get(&url).bearer_auth(token("read").await).send().await.unwrap();
        assert_eq!(narrow.status(), 403);
        assert!(narrow.headers()["www-authenticate"].to_str().unwrap().contains(r#"error="insufficient_scope""#));
        let body: Value = narrow.json().await.unwrap();
        assert_eq!(body["error"], "insufficient_scope");
    }
}
