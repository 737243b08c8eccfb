//! The Django REST Framework-compatible endpoints: simplejwt's shapes and authtoken's.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_oauth_error, unverified_parts, TestApp};

const PW: &str = "correct horse battery";

async fn post_json(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn token_not_valid(resp: reqwest::Response) {
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "token_not_valid", "{body}");
    assert!(body["detail"].is_string());
}

backend_tests! {
    async fn simplejwt_pair_lifecycle(backend) {
        // 1. Obtain, as JSON and as a form.
        let app = TestApp::spawn(backend).await;
        let user_id = app.create_user("alice", PW).await;
        let resp = post_json(&app, "/api/token/", json!({ "username": "alice", "password": PW })).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let pair: Value = resp.json().await.unwrap();
        let form = app.http.post(app.url("/api/token/")).form(&[("username", "alice"), ("password", PW)]).send().await.unwrap();
        assert_eq!(form.status(), StatusCode::OK);
        let (access, refresh) = (pair["access"].as_str().unwrap(), pair["refresh"].as_str().unwrap());
        assert_eq!(pair.as_object().unwrap().len(), 2, "{pair}");

        // The access token is what a simplejwt service expects: aud = TESSERA_AUDIENCE,
        // user_id, jti, token_type "access"; and it belongs to no client.
        let claims = app.verify_access(access, "tessera").await.unwrap();
        assert_eq!(claims["user_id"], user_id.as_str());
        assert_eq!(claims["token_type"], "access");
        assert!(claims["jti"].is_string());
        assert!(claims.get("client_id").is_none(), "{claims}");

        // 2. Verify: access and refresh tokens are valid; garbage is not.
        assert_eq!(post_json(&app, "/api/token/verify/", json!({ "token": access })).await.json::<Value>().await.unwrap(), json!({}));
        assert_eq!(post_json(&app, "/api/token/verify/", json!({ "token": refresh })).await.status(), StatusCode::OK);
        token_not_valid(post_json(&app, "/api/token/verify/", json!({ "token": "garbage" })).await).await;

        // 3. Refresh rotates; the retired token is reuse and revokes the session.
        let resp = post_json(&app, "/api/token/refresh/", json!({ "refresh": refresh })).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let rotated: Value = resp.json().await.unwrap();
        assert_ne!(rotated["refresh"], pair["refresh"]);
        token_not_valid(post_json(&app, "/api/token/refresh/", json!({ "refresh": refresh })).await).await;
        token_not_valid(post_json(&app, "/api/token/refresh/", json!({ "refresh": rotated["refresh"] })).await).await;
        let (_, c) = unverified_parts(access);
        assert!(app.session_revoked(c["sid"].as_str().unwrap()).await);
    }

    async fn simplejwt_blacklist_ends_the_session(backend) {
        let app = TestApp::spawn(backend).await;
        app.create_user("alice", PW).await;
        let pair: Value = post_json(&app, "/api/token/", json!({ "username": "alice", "password": PW })).await.json().await.unwrap();

        let resp = post_json(&app, "/api/token/blacklist/", json!({ "refresh": pair["refresh"] })).await;

        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.json::<Value>().await.unwrap(), json!({}));
        token_not_valid(post_json(&app, "/api/token/refresh/", json!({ "refresh": pair["refresh"] })).await).await;
        token_not_valid(post_json(&app, "/api/token/verify/", json!({ "token": pair["access"] })).await).await;
        token_not_valid(post_json(&app, "/api/token/blacklist/", json!({ "refresh": pair["access"] })).await).await;
    }

    async fn simplejwt_errors_have_drf_shapes(backend) {
        let app = TestApp::spawn(backend).await;
        app.create_user("alice", PW).await;

        let bad = post_json(&app, "/api/token/", json!({ "username": "alice", "password": "wrong password" })).await;
        assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(bad.json::<Value>().await.unwrap(), json!({ "detail": "No active account found with the given credentials" }));

        let missing = post_json(&app, "/api/token/", json!({ "username": "" })).await;
        assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
        assert_eq!(missing.json::<Value>().await.unwrap(), json!({
            "username": ["This field may not be blank."], "password": ["This field is required."],
        }));
        let not_object = post_json(&app, "/api/token/refresh/", json!(["x"])).await;
        assert_eq!(not_object.status(), StatusCode::BAD_REQUEST);
        let broken = app.http.post(app.url("/api/token/")).header("content-type", "application/json").body("{").send().await.unwrap();
        assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
        let text = app.http.post(app.url("/api/token/")).header("content-type", "text/plain").body("x").send().await.unwrap();
        assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        token_not_valid(post_json(&app, "/api/token/refresh/", json!({ "refresh": "a.b.c" })).await).await;
    }

    async fn authtoken_keys_are_sessions_of_their_own(backend) {
        // 1. Two calls, two different keys (Tessera keeps only hashes).
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        let user_id = app.create_user("alice", PW).await;
        let first = app.http.post(app.url("/api-token-auth/")).json(&json!({ "username": "alice", "password": PW })).send().await.unwrap();
        assert_eq!(first.status(), StatusCode::OK);
        let first: Value = first.json().await.unwrap();
        let second: Value = app.http.post(app.url("/api-token-auth/")).form(&[("username", "alice"), ("password", PW)]).send().await.unwrap().json().await.unwrap();
        let (key, other) = (first["token"].as_str().unwrap(), second["token"].as_str().unwrap());
        assert_eq!(key.len(), 43);
        assert_ne!(key, other);

        // 2. Usable as `Authorization: Token KEY` at /userinfo, and introspectable.
        let me: Value = app.http.get(app.url("/userinfo")).header("authorization", format!("Token {key}")).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["sub"], user_id.as_str());
        let i = app.introspect(&client, key).await;
        assert_eq!(i["active"], true);
        assert_eq!(i["token_use"], "api_token");
        assert_eq!(i["username"], "alice");
        assert!(i.get("exp").is_none() && i.get("client_id").is_none(), "{i}");
        let sid = i["sid"].as_str().unwrap().to_owned();
        assert_ne!(app.introspect(&client, other).await["sid"], sid.as_str(), "each key is its own session");

        // 3. Revocable at /oauth/revoke by any client; the other key lives on.
        assert_eq!(app.post_form("/oauth/revoke", &client, &[("token", key)]).await.status(), StatusCode::OK);
        assert_eq!(app.introspect(&client, key).await, json!({ "active": false }));
        let refused = app.http.get(app.url("/userinfo")).header("authorization", format!("Token {key}")).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.introspect(&client, other).await["active"], true);

        // 4. Revoking all of the user's sessions ends it too.
        let admin = app.admin_token().await;
        let resp = app.http.delete(app.url(&format!("/admin/users/{user_id}/sessions"))).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.introspect(&client, other).await["active"], false);
    }

    async fn authtoken_refuses_bad_credentials_and_disabled_users(backend) {
        let app = TestApp::spawn(backend).await;
        let user_id = app.create_user("alice", PW).await;
        let expected = json!({ "non_field_errors": ["Unable to log in with provided credentials."] });

        let wrong = app.http.post(app.url("/api-token-auth/")).json(&json!({ "username": "alice", "password": "nope nope" })).send().await.unwrap();
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
        assert_eq!(wrong.json::<Value>().await.unwrap(), expected);

        app.with_db(move |conn| {
            use diesel::prelude::*;
            use tessera::store::schema::users;
            diesel::update(users::table.find(user_id)).set(users::disabled.eq(true)).execute(conn).unwrap();
        })
        .await;
        let disabled = app.http.post(app.url("/api-token-auth/")).json(&json!({ "username": "alice", "password": PW })).send().await.unwrap();
        assert_eq!(disabled.status(), StatusCode::BAD_REQUEST);
        assert_eq!(disabled.json::<Value>().await.unwrap(), expected);
        let missing = app.http.post(app.url("/api-token-auth/")).json(&json!({})).send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
        // The OAuth token endpoint is unaffected by all this.
        assert_oauth_error(app.post_token(None, &[("grant_type", "password")]).await, 400, "invalid_request").await;
    }
}
