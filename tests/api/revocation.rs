//! Revocation (RFC 7009), introspection (RFC 7662), userinfo and the revocation feed.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_oauth_error, unverified_parts, TestApp};

const PW: &str = "correct horse battery";

backend_tests! {
    async fn a_revoked_session_is_dead_everywhere(backend) {
        // 1. Log in.
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;
        let (access, refresh) = (login["access_token"].as_str().unwrap(), login["refresh_token"].as_str().unwrap());
        let (_, claims) = unverified_parts(access);
        let sid = claims["sid"].as_str().unwrap();
        assert_eq!(app.introspect(&client, access).await["active"], true);

        // 2. Revoke the refresh token: 200, empty body.
        let resp = app.post_form("/oauth/revoke", &client, &[("token", refresh), ("token_type_hint", "refresh_token")]).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["cache-control"], "no-store");

        // 3. Its refresh token fails, its access token is inactive and refused at userinfo.
        assert_oauth_error(app.refresh(&client, refresh).await, 400, "invalid_grant").await;
        assert_eq!(app.introspect(&client, access).await, serde_json::json!({ "active": false }));
        let userinfo = app.http.get(app.url("/userinfo")).bearer_auth(access).send().await.unwrap();
        assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);
        assert!(userinfo.headers()["www-authenticate"].to_str().unwrap().contains(r#"error="invalid_token""#));

        // 4. The feed lists the sid once.
        let feed = feed(&app, &client, None).await;
        let sids: Vec<&str> = feed["revoked"].as_array().unwrap().iter().map(|e| e["sid"].as_str().unwrap()).collect();
        assert_eq!(sids, vec![sid]);
        let entry = &feed["revoked"][0];
        assert!(entry["revoked_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(
            chrono::DateTime::parse_from_rfc3339(entry["expires_at"].as_str().unwrap()).unwrap().timestamp(),
            claims["exp"].as_i64().unwrap(),
            "the entry lives as long as the session's last access token"
        );
        // Revoking again changes nothing and adds no second entry.
        app.post_form("/oauth/revoke", &client, &[("token", access)]).await;
        assert_eq!(feed_sids(&app, &client, None).await, vec![sid.to_owned()]);
    }

    async fn revoking_an_access_token_revokes_its_session(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;

        let resp = app.post_form("/oauth/revoke", &client, &[("token", login["access_token"].as_str().unwrap())]).await;

        assert_eq!(resp.status(), StatusCode::OK);
        assert_oauth_error(app.refresh(&client, login["refresh_token"].as_str().unwrap()).await, 400, "invalid_grant").await;
    }

    async fn revocation_accepts_unknown_tokens_and_refuses_other_clients_tokens(backend) {
        let app = TestApp::spawn(backend).await;
        let owner = app.confidential_client().await;
        let other = app.confidential_client().await;
        app.create_user("alice", PW).await;
        let login = app.login(&owner, "alice", PW).await;
        let refresh = login["refresh_token"].as_str().unwrap();

        for unknown in ["garbage", "a.b.c", "", "x".repeat(5000).as_str()] {
            let resp = app.post_form("/oauth/revoke", &owner, &[("token", unknown)]).await;
            if unknown.is_empty() {
                assert_oauth_error(resp, 400, "invalid_request").await;
            } else {
                assert_eq!(resp.status(), StatusCode::OK, "{unknown:.10}");
            }
        }
        assert_oauth_error(app.post_form("/oauth/revoke", &other, &[("token", refresh)]).await, 400, "unauthorized_client").await;
        let anonymous = app.http.post(app.url("/oauth/revoke")).form(&[("token", refresh)]).send().await.unwrap();
        assert_oauth_error(anonymous, 401, "invalid_client").await;

        // Still alive: the refused requests revoked nothing.
        assert_eq!(app.refresh(&owner, refresh).await.status(), StatusCode::OK);
    }

    async fn introspection_describes_each_kind_of_token(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        let user_id = app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;
        let (access, refresh) = (login["access_token"].as_str().unwrap(), login["refresh_token"].as_str().unwrap());

        // An access token: every contract field.
        let a = app.introspect(&client, access).await;
        let (_, claims) = unverified_parts(access);
        assert_eq!(a["active"], true);
        assert_eq!(a["token_use"], "access_token");
        assert_eq!(a["token_type"], "Bearer");
        assert_eq!(a["username"], "alice");
        assert_eq!(a["sub"], user_id.as_str());
        assert_eq!(a["client_id"], client.client_id.as_str());
        assert_eq!(a["scope"], "read write");
        assert_eq!(a["aud"], "tessera");
        assert_eq!(a["iss"], app.address.as_str());
        for field in ["exp", "iat", "jti", "sid"] {
            assert_eq!(a[field], claims[field], "{field}");
        }

        // A refresh token, then the same token once rotated.
        let r = app.introspect(&client, refresh).await;
        assert_eq!(r["active"], true);
        assert_eq!(r["token_use"], "refresh_token");
        assert_eq!(r["sid"], claims["sid"]);
        assert_eq!(r["username"], "alice");
        app.refresh(&client, refresh).await;
        assert_eq!(app.introspect(&client, refresh).await, serde_json::json!({ "active": false }));

        // A client's own token: no username, no sid.
        let cc: Value = app.post_token(Some(&client), &[("grant_type", "client_credentials")]).await.json().await.unwrap();
        let c = app.introspect(&client, cc["access_token"].as_str().unwrap()).await;
        assert_eq!(c["active"], true);
        assert_eq!(c["sub"], client.client_id.as_str());
        assert!(c.get("username").is_none() && c.get("sid").is_none(), "{c}");

        // Garbage, and a forged token.
        assert_eq!(app.introspect(&client, "garbage").await, serde_json::json!({ "active": false }));
        let mut forged = claims.clone();
        forged["sub"] = "someone".into();
        let parts: Vec<&str> = access.split('.').collect();
        let forged = {
            use base64::Engine;
            let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string());
            format!("{}.{body}.{}", parts[0], parts[2])
        };
        assert_eq!(app.introspect(&client, &forged).await["active"], false);

        // Client authentication is required.
        let anonymous = app.http.post(app.url("/oauth/introspect")).form(&[("token", access)]).send().await.unwrap();
        assert_oauth_error(anonymous, 401, "invalid_client").await;
    }

    async fn introspection_of_an_expired_access_token_is_inactive(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;
        let (_, mut claims) = unverified_parts(login["access_token"].as_str().unwrap());
        let now = chrono::Utc::now().timestamp();
        claims["iat"] = (now - 600).into();
        claims["exp"] = (now - 300).into();

        let expired = app.sign_as_server("at+jwt", &claims);

        assert_eq!(app.introspect(&client, &expired).await, serde_json::json!({ "active": false }));
        let userinfo = app.http.get(app.url("/userinfo")).bearer_auth(&expired).send().await.unwrap();
        assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);
    }

    async fn userinfo_answers_for_users_only(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        let user_id = app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;
        let access = login["access_token"].as_str().unwrap();

        for request in [app.http.get(app.url("/userinfo")), app.http.post(app.url("/userinfo"))] {
            let resp = request.bearer_auth(access).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["sub"], user_id.as_str());
            assert_eq!(body["preferred_username"], "alice");
            assert_eq!(body["email"], "alice@example.com");
        }

        let none = app.http.get(app.url("/userinfo")).send().await.unwrap();
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
        assert!(none.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        let refresh_as_bearer = app.http.get(app.url("/userinfo")).bearer_auth(login["refresh_token"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(refresh_as_bearer.status(), StatusCode::UNAUTHORIZED);
        let cc: Value = app.post_token(Some(&client), &[("grant_type", "client_credentials")]).await.json().await.unwrap();
        let machine = app.http.get(app.url("/userinfo")).bearer_auth(cc["access_token"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(machine.status(), StatusCode::UNAUTHORIZED);
    }

    async fn the_feed_pages_by_cursor_and_drops_expired_entries(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        // 1. 1,005 revoked sessions whose access tokens are alive, and one whose have expired.
        app.with_db(|conn| {
            use tessera::store::sessions;
            let now = tessera::domain::now();
            diesel::Connection::transaction::<_, tessera::store::StoreError, _>(conn, |conn| {
                for i in 0..1006 {
                    let sid = format!("s{i:05}");
                    let access_expires_at = if i == 1005 { now - chrono::TimeDelta::seconds(1) } else { now + chrono::TimeDelta::seconds(300) };
                    sessions::insert(conn, &sessions::SessionRow {
                        sid: sid.clone(), user_id: "u".into(), client_id: None, kind: "oauth".into(), scope: String::new(),
                        created_at: now, last_used_at: now, expires_at: now + chrono::TimeDelta::days(1),
                        access_expires_at, revoked_at: None, revoked_reason: None,
                        browser_session: None,
                    })?;
                    sessions::revoke(conn, &sid, now, "test")?;
                }
                Ok(())
            })
            .unwrap();
        })
        .await;

        // 2. The first page holds 1000 and says there is more; the second the other 5.
        let first = feed(&app, &client, None).await;
        assert_eq!(first["revoked"].as_array().unwrap().len(), 1000);
        assert_eq!(first["more"], true);
        let second = feed(&app, &client, first["cursor"].as_str()).await;
        assert_eq!(second["more"], false);
        let mut seen: Vec<String> = [&first, &second]
            .iter()
            .flat_map(|p| p["revoked"].as_array().unwrap().iter().map(|e| e["sid"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(seen.len(), 1005);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 1005, "no entry twice");
        assert!(!seen.contains(&"s01005".to_owned()), "an entry whose access tokens have expired is dropped");

        // 3. Polling from the last cursor: nothing new, then exactly the new revocation.
        let cursor = second["cursor"].as_str().unwrap().to_owned();
        assert!(feed(&app, &client, Some(&cursor)).await["revoked"].as_array().unwrap().is_empty());
        app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;
        app.post_form("/oauth/revoke", &client, &[("token", login["refresh_token"].as_str().unwrap())]).await;
        let (_, claims) = unverified_parts(login["access_token"].as_str().unwrap());
        assert_eq!(feed_sids(&app, &client, Some(&cursor)).await, vec![claims["sid"].as_str().unwrap().to_owned()]);
    }

    async fn the_feed_requires_a_client_and_a_valid_cursor(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;

        let anonymous = app.http.get(app.url("/oauth/revocations")).send().await.unwrap();
        assert_oauth_error(anonymous, 401, "invalid_client").await;
        for bad in ["abc", "-1", "99999999999999999999999"] {
            let resp = app.http.get(app.url("/oauth/revocations")).query(&[("since", bad)]).basic_auth(&client.client_id, client.client_secret.as_deref()).send().await.unwrap();
            assert_oauth_error(resp, 400, "invalid_request").await;
        }
        let empty = feed(&app, &client, None).await;
        assert_eq!(empty, serde_json::json!({ "revoked": [], "cursor": "0", "more": false }));
    }
}

async fn feed(
    app: &TestApp,
    client: &tessera::oauth::clients::ClientView,
    since: Option<&str>,
) -> Value {
    let mut request = app
        .http
        .get(app.url("/oauth/revocations"))
        .basic_auth(&client.client_id, client.client_secret.as_deref());
    if let Some(since) = since {
        request = request.query(&[("since", since)]);
    }
    let resp = request.send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

async fn feed_sids(
    app: &TestApp,
    client: &tessera::oauth::clients::ClientView,
    since: Option<&str>,
) -> Vec<String> {
    feed(app, client, since).await["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sid"].as_str().unwrap().to_owned())
        .collect()
}
