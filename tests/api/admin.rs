//! The admin API (CONTRACT §6): who may call it, and users, clients, sessions, keys and events.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera::domain::{ClientType, GrantType};
use tessera::oauth::clients::NewClient;

use crate::helpers::{assert_oauth_error, unverified_parts, TestApp};

const PW: &str = "correct horse battery";

/// Every admin route; `admin_request` fills in `{user}`, `{client}` and `{sid}`.
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/admin/users"),
    ("GET", "/admin/users"),
    ("GET", "/admin/users/{user}"),
    ("PATCH", "/admin/users/{user}"),
    ("DELETE", "/admin/users/{user}"),
    ("DELETE", "/admin/users/{user}/sessions"),
    ("POST", "/admin/clients"),
    ("GET", "/admin/clients"),
    ("GET", "/admin/clients/{client}"),
    ("DELETE", "/admin/clients/{client}"),
    ("GET", "/admin/sessions"),
    ("DELETE", "/admin/sessions/{sid}"),
    ("POST", "/admin/keys/rotate"),
    ("GET", "/admin/events"),
];

const USER_FIELDS: &[&str] = &["admin", "created_at", "disabled", "email", "id", "username"];
const SESSION_FIELDS: &[&str] = &[
    "client_id",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
    "sid",
    "user_id",
];
const EVENT_FIELDS: &[&str] = &["actor", "at", "detail", "kind", "seq", "subject"];

backend_tests! {
    // ---------------------------------------------------------------- authorisation

    async fn every_route_answers_401_to_a_missing_garbage_expired_or_refresh_token(backend) {
        // Arrange: real targets, so a request that got through would change something.
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let client = app.confidential_client().await;
        let alice = app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;
        let sid = sid_of(login["access_token"].as_str().unwrap());
        let ids = Ids { user: &alice, client: &client.client_id, sid: &sid };

        // A copy of the admin's real token, expired five minutes ago, signed with the server's key.
        let (_, claims) = unverified_parts(&admin);
        let now = chrono::Utc::now().timestamp();
        let expired = app.sign_as_server("at+jwt", &with_times(&claims, now - 600, now - 300));
        // Control: the same forgery with a live `exp` is accepted, so only expiry refuses the first.
        let live = app.sign_as_server("at+jwt", &with_times(&claims, now - 10, now + 300));
        assert_eq!(get(&app, "/admin/users", &live).await.status(), StatusCode::OK);

        let refresh = login["refresh_token"].as_str();
        for route in ROUTES {
            for (what, token) in [("no token", None), ("a garbage token", Some("not-a-jwt")), ("an expired token", Some(expired.as_str())), ("a refresh token", refresh)] {
                // Act
                let resp = admin_request(&app, *route, &ids, token).send().await.unwrap();

                // Assert
                let body = assert_admin_error(resp, 401, "invalid_token", &format!("{route:?} with {what}")).await;
                assert!(!body["error_description"].as_str().unwrap().is_empty());
            }
        }

        // Nothing was done: alice, her session, the client and the single key are all intact.
        let user = ok_json(get(&app, &format!("/admin/users/{alice}"), &admin).await, 200).await;
        assert_eq!(user["disabled"], false);
        assert_eq!(app.refresh(&client, login["refresh_token"].as_str().unwrap()).await.status(), StatusCode::OK);
        assert_eq!(get(&app, &format!("/admin/clients/{}", client.client_id), &admin).await.status(), StatusCode::OK);
        assert_eq!(app.get_jwks().await["keys"].as_array().unwrap().len(), 1);
        let users = list_all(&app, "/admin/users", &admin, 100).await;
        assert!(users.iter().all(|u| u["username"] != "mallory"), "no user was created");
    }

    async fn every_route_refuses_a_token_without_the_admin_role_or_scope_with_403(backend) {
        // Arrange: a plain user's token, and a client_credentials token with scopes `read write`.
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        let alice = app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;
        let user_token = login["access_token"].as_str().unwrap().to_owned();
        let sid = sid_of(&user_token);
        let cc = app.post_token(Some(&client), &[("grant_type", "client_credentials")]).await;
        let cc: Value = ok_json(cc, 200).await;
        assert_eq!(cc["scope"], "read write");
        let client_token = cc["access_token"].as_str().unwrap().to_owned();
        let ids = Ids { user: &alice, client: &client.client_id, sid: &sid };

        for route in ROUTES {
            for (what, token) in [("a user's token", &user_token), ("a client token without scope admin", &client_token)] {
                // Act
                let resp = admin_request(&app, *route, &ids, Some(token)).send().await.unwrap();

                // Assert
                assert_admin_error(resp, 403, "insufficient_scope", &format!("{route:?} with {what}")).await;
            }
        }

        // Alice did not disable or delete herself, and her session lives.
        assert_eq!(app.refresh(&client, login["refresh_token"].as_str().unwrap()).await.status(), StatusCode::OK);
    }

    async fn a_client_token_with_scope_admin_is_authorised(backend) {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let ops = app
            .create_client(NewClient {
                name: "ops".into(),
                client_type: ClientType::Confidential,
                grant_types: vec![GrantType::ClientCredentials],
                redirect_uris: vec![],
                scopes: vec!["admin".into()],
                audience: None,
                first_party: false,
            })
            .await;
        let token = ok_json(app.post_token(Some(&ops), &[("grant_type", "client_credentials"), ("scope", "admin")]).await, 200).await;
        let token = token["access_token"].as_str().unwrap();

        // Act
        let resp = get(&app, "/admin/users", token).await;

        // Assert
        let page = ok_json(resp, 200).await;
        assert!(page["items"].is_array());
        // It may act, too, and is recorded as the client.
        let created = ok_json(create_user(&app, token, &json!({ "username": "bob", "password": PW })).await, 201).await;
        let events = list_all(&app, "/admin/events", token, 100).await;
        let event = events.iter().find(|e| e["kind"] == "user_created").unwrap();
        assert_eq!(event["subject"], created["id"]);
        assert_eq!(event["actor"], format!("client:{}", ops.client_id).as_str());
    }

    async fn a_demoted_admin_loses_access_at_once(backend) {
        // Arrange: a second admin whose token works.
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let client = app.confidential_client().await;
        let ops = app.create_user_with("ops", PW, true).await;
        let ops_token = app.login(&client, "ops", PW).await["access_token"].as_str().unwrap().to_owned();
        assert_eq!(get(&app, "/admin/users", &ops_token).await.status(), StatusCode::OK);

        // Act
        ok_json(patch_json(&app, &format!("/admin/users/{ops}"), &admin, &json!({ "admin": false })).await, 200).await;

        // Assert: the role is read at each request, not from the token.
        assert_admin_error(get(&app, "/admin/users", &ops_token).await, 403, "insufficient_scope", "demoted admin").await;
    }

    // ---------------------------------------------------------------- users

    async fn creating_a_user_answers_201_with_the_user_and_no_password(backend) {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let before = chrono::Utc::now().timestamp();

        // Act
        let resp = create_user(&app, &admin, &json!({ "username": "bob", "password": PW, "email": "bob@example.com", "admin": true })).await;

        // Assert
        let user = ok_json(resp, 201).await;
        assert_eq!(keys_of(&user), set(USER_FIELDS), "{user}");
        assert!(!user.to_string().contains(PW));
        assert!(user["id"].as_str().is_some_and(|id| !id.is_empty()));
        assert_eq!(user["username"], "bob");
        assert_eq!(user["email"], "bob@example.com");
        assert_eq!(user["admin"], true);
        assert_eq!(user["disabled"], false);
        let created_at = assert_utc_timestamp(&user["created_at"]);
        assert!((before - 1..=chrono::Utc::now().timestamp() + 1).contains(&created_at));
        // The user can log in with that password; email and admin default to null and false.
        let client = app.confidential_client().await;
        app.login(&client, "bob", PW).await;
        let carol = ok_json(create_user(&app, &admin, &json!({ "username": "carol", "password": PW })).await, 201).await;
        assert_eq!(carol["email"], Value::Null);
        assert_eq!(carol["admin"], false);
    }

    async fn a_duplicate_username_is_409_conflict(backend) {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        app.create_user("alice", PW).await;

        // Act
        let resp = create_user(&app, &admin, &json!({ "username": "alice", "password": "another password" })).await;

        // Assert
        assert_admin_error(resp, 409, "conflict", "duplicate username").await;
        // The original keeps its password.
        app.login(&app.confidential_client().await, "alice", PW).await;
    }

    async fn malformed_user_bodies_are_400_invalid_request(backend) {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let url = app.url("/admin/users");
        let valid = json!({ "username": "bob", "password": PW }).to_string();
        let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
            ("wrong content type", app.http.post(&url).header("content-type", "text/plain").body(valid.clone())),
            ("form content type", app.http.post(&url).form(&[("username", "bob"), ("password", PW)])),
            ("no body", app.http.post(&url)),
            ("invalid JSON", app.http.post(&url).header("content-type", "application/json").body("{\"username\": ")),
            ("unknown field", app.http.post(&url).json(&json!({ "username": "bob", "password": PW, "is_superuser": true }))),
            ("missing password", app.http.post(&url).json(&json!({ "username": "bob" }))),
            ("short password", app.http.post(&url).json(&json!({ "username": "bob", "password": "short" }))),
            ("bad username", app.http.post(&url).json(&json!({ "username": "bob smith", "password": PW }))),
            ("empty username", app.http.post(&url).json(&json!({ "username": "", "password": PW }))),
            ("bad email", app.http.post(&url).json(&json!({ "username": "bob", "password": PW, "email": "nobody" }))),
            ("admin not a bool", app.http.post(&url).json(&json!({ "username": "bob", "password": PW, "admin": "yes" }))),
        ];

        for (what, request) in cases {
            // Act
            let resp = request.bearer_auth(&admin).send().await.unwrap();

            // Assert
            assert_admin_error(resp, 400, "invalid_request", what).await;
        }
        let users = list_all(&app, "/admin/users", &admin, 100).await;
        assert_eq!(users.len(), 1, "only root exists: {users:?}");
    }

    async fn bodies_that_are_not_json_objects_are_400(backend) {
        // Arrange: each body is the positional form of a valid object body.
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let alice = app.create_user("alice", PW).await;
        let cases = [
            ("POST", "/admin/users".to_owned(), json!(["bob", PW])),
            ("PATCH", format!("/admin/users/{alice}"), json!([null, null, true])),
            ("POST", "/admin/clients".to_owned(), json!(["array-client"])),
        ];

        let mut accepted = Vec::new();
        for (method, path, body) in cases {
            // Act
            let request = match method {
                "POST" => app.http.post(app.url(&path)),
                _ => app.http.patch(app.url(&path)),
            };
            let resp = request.bearer_auth(&admin).json(&body).send().await.unwrap();

            // Assert
            let what = format!("{method} {path} with {body}");
            if resp.status() == StatusCode::BAD_REQUEST {
                assert_admin_error(resp, 400, "invalid_request", &what).await;
            } else {
                accepted.push(format!("{what} -> {} {}", resp.status(), resp.text().await.unwrap()));
            }
        }
        // serde's derived struct impls would also take a JSON array, field by position
        // (`["bob", PW]` would create bob): the admin API must take objects only.
        assert!(accepted.is_empty(), "non-object bodies were accepted:\n{}", accepted.join("\n"));
    }

    async fn oversized_bodies_are_413_invalid_request(backend) {
        // Arrange: a valid user body padded past 64 KiB by its email.
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let padded = json!({ "username": "bob", "password": PW, "email": format!("{}@example.com", "b".repeat(70 * 1024)) }).to_string();
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = padded.as_bytes().chunks(1024).map(|c| Ok(c.to_vec())).collect();

        // Act: once with a declared length, once chunked (no Content-Length).
        let declared = app.http.post(app.url("/admin/users")).bearer_auth(&admin).header("content-type", "application/json").body(padded.clone()).send().await.unwrap();
        let chunked = app.http.post(app.url("/admin/users")).bearer_auth(&admin).header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))).send().await.unwrap();

        // Assert
        assert_admin_error(declared, 413, "invalid_request", "declared oversized body").await;
        // The middleware catches a declared length; a streamed body is cut off while read.
        assert_admin_error(chunked, 413, "invalid_request", "chunked oversized body").await;
        assert_eq!(list_all(&app, "/admin/users", &admin, 100).await.len(), 1, "bob was not created");
    }

    async fn a_user_is_found_by_id_and_an_unknown_id_is_404(backend) {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let created = ok_json(create_user(&app, &admin, &json!({ "username": "bob", "password": PW, "email": "bob@example.com" })).await, 201).await;
        let id = created["id"].as_str().unwrap();

        // Act
        let found = get(&app, &format!("/admin/users/{id}"), &admin).await;
        let unknown = get(&app, &format!("/admin/users/{}", uuid::Uuid::new_v4()), &admin).await;
        let not_a_uuid = get(&app, "/admin/users/bob", &admin).await;

        // Assert
        assert_eq!(ok_json(found, 200).await, created);
        assert_admin_error(unknown, 404, "not_found", "unknown user id").await;
        assert_admin_error(not_a_uuid, 404, "not_found", "a username is not an id").await;
    }

    async fn the_user_list_pages_through_every_user_exactly_once(backend) {
        // Arrange: root and five more.
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let mut expected: BTreeSet<String> = BTreeSet::from(["root".to_owned()]);
        for name in ["u1", "u2", "u3", "u4", "u5"] {
            app.create_user(name, PW).await;
            expected.insert(name.to_owned());
        }

        // Act
        let one_by_one = list_all(&app, "/admin/users", &admin, 1).await;
        let two_by_two = list_all(&app, "/admin/users", &admin, 2).await;
        let default = ok_json(get(&app, "/admin/users", &admin).await, 200).await;

        // Assert
        let names = |items: &[Value]| items.iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        let seen = names(&one_by_one);
        assert_eq!(seen.len(), 6, "{seen:?}");
        assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), expected, "each user once");
        assert_eq!(names(&two_by_two), seen, "the order does not depend on the page size");
        assert_eq!(names(default["items"].as_array().unwrap()), seen);
        assert_eq!(default["next"], Value::Null);
        for user in &one_by_one {
            assert_eq!(keys_of(user), set(USER_FIELDS));
        }
    }

    async fn list_limits_outside_1_to_1000_are_400(backend) {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;

        for path in ["/admin/users", "/admin/clients", "/admin/sessions", "/admin/events"] {
            for limit in ["0", "1001", "-1", "ten", ""] {
                // Act
                let resp = get(&app, &format!("{path}?limit={limit}"), &admin).await;

                // Assert
                assert_admin_error(resp, 400, "invalid_request", &format!("{path}?limit={limit}")).await;
            }
            for limit in ["1", "1000"] {
                assert_eq!(get(&app, &format!("{path}?limit={limit}"), &admin).await.status(), StatusCode::OK, "{path}?limit={limit}");
            }
        }
        // The events cursor is a sequence number; anything else is refused.
        let garbage_cursor = get(&app, "/admin/events?cursor=not-a-cursor", &admin).await;
        assert_admin_error(garbage_cursor, 400, "invalid_request", "events cursor").await;
    }

    async fn patch_changes_email_and_admin(backend) {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let id = app.create_user_with("alice", PW, false).await;
        let path = format!("/admin/users/{id}");
        let before = ok_json(get(&app, &path, &admin).await, 200).await;

        // Act
        let resp = patch_json(&app, &path, &admin, &json!({ "email": "alice@new.example", "admin": true })).await;

        // Assert
        let patched = ok_json(resp, 200).await;
        assert_eq!(keys_of(&patched), set(USER_FIELDS));
        assert_eq!(patched["email"], "alice@new.example");
        assert_eq!(patched["admin"], true);
        assert_eq!(patched["username"], "alice");
        assert_eq!(patched["disabled"], false);
        assert_eq!(patched["created_at"], before["created_at"]);
        assert_eq!(ok_json(get(&app, &path, &admin).await, 200).await, patched);
        // `"email": null` clears; an empty PATCH changes nothing.
        let cleared = ok_json(patch_json(&app, &path, &admin, &json!({ "email": null })).await, 200).await;
        assert_eq!(cleared["email"], Value::Null);
        assert_eq!(cleared["admin"], true);
        assert_eq!(ok_json(patch_json(&app, &path, &admin, &json!({})).await, 200).await, cleared);
    }

    async fn bad_patches_are_400_and_unknown_users_404(backend) {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let id = app.create_user("alice", PW).await;
        let path = format!("/admin/users/{id}");

        for (what, body) in [
            ("short password", json!({ "password": "short" })),
            ("bad email", json!({ "email": "nobody" })),
            ("unknown field", json!({ "username": "mallory" })),
            ("disabled not a bool", json!({ "disabled": "yes" })),
        ] {
            // Act / Assert
            assert_admin_error(patch_json(&app, &path, &admin, &body).await, 400, "invalid_request", what).await;
        }
        let unknown = patch_json(&app, &format!("/admin/users/{}", uuid::Uuid::new_v4()), &admin, &json!({ "admin": true })).await;
        assert_admin_error(unknown, 404, "not_found", "unknown user").await;
        let wrong_type = app.http.patch(app.url(&path)).bearer_auth(&admin).header("content-type", "text/plain").body(r#"{"admin":true}"#).send().await.unwrap();
        assert_admin_error(wrong_type, 400, "invalid_request", "wrong content type").await;
        // Alice is unchanged and still logs in with her password.
        let alice = ok_json(get(&app, &path, &admin).await, 200).await;
        assert_eq!((alice["username"].as_str(), alice["admin"].as_bool()), (Some("alice"), Some(false)));
        app.login(&app.confidential_client().await, "alice", PW).await;
    }

    async fn patching_the_password_changes_the_login(backend) {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let client = app.confidential_client().await;
        let id = app.create_user("alice", PW).await;
        let new_password = "a brand new passphrase";

        // Act
        let resp = patch_json(&app, &format!("/admin/users/{id}"), &admin, &json!({ "password": new_password })).await;

        // Assert
        let user = ok_json(resp, 200).await;
        assert!(!user.to_string().contains(new_password));
        assert_eq!(keys_of(&user), set(USER_FIELDS));
        app.login(&client, "alice", new_password).await;
        let old = app.post_token(Some(&client), &[("grant_type", "password"), ("username", "alice"), ("password", PW)]).await;
        assert_oauth_error(old, 400, "invalid_grant").await;
    }

    async fn disabling_a_user_ends_sessions_and_logins(backend) {
        // 1. Alice logs in; her tokens work.
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let client = app.confidential_client().await;
        let id = app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;
        let (access, refresh) = (login["access_token"].as_str().unwrap(), login["refresh_token"].as_str().unwrap());
        assert_eq!(app.introspect(&client, access).await["active"], true);

        // 2. An admin disables her.
        let user = ok_json(patch_json(&app, &format!("/admin/users/{id}"), &admin, &json!({ "disabled": true })).await, 200).await;
        assert_eq!(user["disabled"], true);

        // 3. Her refresh token fails, her access token is inactive, and she cannot log in.
        assert_oauth_error(app.refresh(&client, refresh).await, 400, "invalid_grant").await;
        assert_eq!(app.introspect(&client, access).await, json!({ "active": false }));
        let relogin = app.post_token(Some(&client), &[("grant_type", "password"), ("username", "alice"), ("password", PW)]).await;
        assert_oauth_error(relogin, 400, "invalid_grant").await;
        // Her session is listed as revoked.
        let sessions = list_all(&app, &format!("/admin/sessions?user_id={id}"), &admin, 100).await;
        assert_eq!(sessions.len(), 1);
        assert!(sessions[0]["revoked_at"].is_string(), "{sessions:?}");

        // 4. Re-enabled, she logs in again; the old session stays dead.
        let user = ok_json(patch_json(&app, &format!("/admin/users/{id}"), &admin, &json!({ "disabled": false })).await, 200).await;
        assert_eq!(user["disabled"], false);
        app.login(&client, "alice", PW).await;
        assert_oauth_error(app.refresh(&client, refresh).await, 400, "invalid_grant").await;
    }

    async fn deleting_a_user_revokes_its_sessions_and_404s_afterwards(backend) {
        // 1. Alice logs in.
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let client = app.confidential_client().await;
        let id = app.create_user("alice", PW).await;
        let login = app.login(&client, "alice", PW).await;
        let (access, refresh) = (login["access_token"].as_str().unwrap(), login["refresh_token"].as_str().unwrap());
        let path = format!("/admin/users/{id}");

        // 2. Delete: 204 with no body.
        let resp = delete(&app, &path, &admin).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        assert!(resp.bytes().await.unwrap().is_empty());

        // 3. She is gone, and so are her sessions.
        assert_admin_error(get(&app, &path, &admin).await, 404, "not_found", "deleted user").await;
        assert_oauth_error(app.refresh(&client, refresh).await, 400, "invalid_grant").await;
        assert_eq!(app.introspect(&client, access).await, json!({ "active": false }));
        let relogin = app.post_token(Some(&client), &[("grant_type", "password"), ("username", "alice"), ("password", PW)]).await;
        assert_oauth_error(relogin, 400, "invalid_grant").await;
        assert!(app.session_revoked(&sid_of(access)).await);

        // 4. Deleting again is 404; the username is free again.
        assert_admin_error(delete(&app, &path, &admin).await, 404, "not_found", "deleted twice").await;
        let again = create_user(&app, &admin, &json!({ "username": "alice", "password": PW })).await;
        assert_ne!(ok_json(again, 201).await["id"], id.as_str());
    }

    // ---------------------------------------------------------------- clients

    async fn a_registered_client_gets_its_secret_once_and_it_works(backend) {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let body = json!({
            "name": "billing",
            "client_type": "confidential",
            "grant_types": ["client_credentials", "password", "refresh_token"],
            "scopes": ["read", "billing"],
            "audience": "billing-api",
        });

        // Act
        let resp = post_json(&app, "/admin/clients", &admin, &body).await;

        // Assert: 201, never cached, the client plus its secret.
        assert_eq!(resp.status(), StatusCode::CREATED);
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let created: Value = resp.json().await.unwrap();
        let expected_fields = set(&["audience", "client_id", "client_secret", "client_type", "created_at", "first_party", "grant_types", "name", "redirect_uris", "scopes"]);
        assert_eq!(keys_of(&created), expected_fields, "{created}");
        assert_eq!(created["name"], "billing");
        assert_eq!(created["client_type"], "confidential");
        assert_eq!(strings(&created["grant_types"]), set(&["client_credentials", "password", "refresh_token"]));
        assert_eq!(strings(&created["scopes"]), set(&["billing", "read"]));
        assert_eq!(created["redirect_uris"], json!([]));
        assert_eq!(created["audience"], "billing-api");
        assert_utc_timestamp(&created["created_at"]);
        let (id, secret) = (created["client_id"].as_str().unwrap(), created["client_secret"].as_str().unwrap());
        assert!(secret.len() >= 32);

        // The secret works at the token endpoint, for the registered audience and scopes.
        let token = app.http.post(app.url("/oauth/token")).basic_auth(id, Some(secret)).form(&[("grant_type", "client_credentials")]).send().await.unwrap();
        let token = ok_json(token, 200).await;
        let claims = app.verify_access(token["access_token"].as_str().unwrap(), "billing-api").await.expect("verifies for billing-api");
        assert_eq!(claims["sub"], id);
        assert_eq!(token["scope"], "billing read");

        // GET and the list show it without the secret.
        let fetched = ok_json(get(&app, &format!("/admin/clients/{id}"), &admin).await, 200).await;
        let mut without_secret = created.clone();
        without_secret.as_object_mut().unwrap().remove("client_secret");
        assert_eq!(fetched, without_secret);
        let listed = list_all(&app, "/admin/clients", &admin, 100).await;
        assert_eq!(listed.iter().filter(|c| c["client_id"] == id).collect::<Vec<_>>(), vec![&without_secret]);
        assert!(listed.iter().all(|c| c.get("client_secret").is_none()), "{listed:?}");
        assert!(!Value::Array(listed).to_string().contains(secret));
    }

    async fn a_public_client_has_no_secret_and_unknown_clients_are_404(backend) {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let body = json!({ "name": "spa", "client_type": "public", "grant_types": ["authorization_code", "refresh_token"], "redirect_uris": ["https://app.example/cb"] });

        // Act
        let created = ok_json(post_json(&app, "/admin/clients", &admin, &body).await, 201).await;

        // Assert
        assert!(created.get("client_secret").is_none(), "{created}");
        assert!(created.get("audience").is_none(), "{created}");
        assert_eq!(created["client_type"], "public");
        assert_eq!(created["redirect_uris"], json!(["https://app.example/cb"]));
        let unknown = get(&app, &format!("/admin/clients/{}", uuid::Uuid::new_v4()), &admin).await;
        assert_admin_error(unknown, 404, "not_found", "unknown client").await;
        let unknown = delete(&app, &format!("/admin/clients/{}", uuid::Uuid::new_v4()), &admin).await;
        assert_admin_error(unknown, 404, "not_found", "delete unknown client").await;
    }

    async fn invalid_client_registrations_are_400(backend) {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;

        for (what, body) in [
            ("public client with client_credentials", json!({ "name": "x", "client_type": "public", "grant_types": ["client_credentials"] })),
            ("unknown grant type", json!({ "name": "x", "grant_types": ["implicit"] })),
            ("unknown client type", json!({ "name": "x", "client_type": "secret-agent" })),
            ("unknown field", json!({ "name": "x", "client_secret": "chosen" })),
            ("missing name", json!({ "grant_types": ["client_credentials"] })),
            ("empty name", json!({ "name": "  " })),
            ("authorization_code without redirect URI", json!({ "name": "x", "grant_types": ["authorization_code"] })),
            ("grant_types not a list", json!({ "name": "x", "grant_types": "password" })),
            ("scope with a space", json!({ "name": "x", "scopes": ["read write"] })),
            ("empty audience", json!({ "name": "x", "audience": "" })),
        ] {
            // Act
            let resp = post_json(&app, "/admin/clients", &admin, &body).await;

            // Assert
            assert_admin_error(resp, 400, "invalid_request", what).await;
        }
        let wrong_type = app.http.post(app.url("/admin/clients")).bearer_auth(&admin).header("content-type", "text/plain").body(r#"{"name":"x"}"#).send().await.unwrap();
        assert_admin_error(wrong_type, 400, "invalid_request", "wrong content type").await;
        // Only the helper's client (the one admin_token logs in with) exists.
        assert_eq!(list_all(&app, "/admin/clients", &admin, 100).await.len(), 1);
    }

    async fn a_deleted_client_can_no_longer_authenticate(backend) {
        // 1. Register a client through the API; its secret works.
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let body = json!({ "name": "batch", "grant_types": ["client_credentials"], "scopes": ["read"] });
        let created = ok_json(post_json(&app, "/admin/clients", &admin, &body).await, 201).await;
        let (id, secret) = (created["client_id"].as_str().unwrap(), created["client_secret"].as_str().unwrap());
        let cc = |app: &TestApp| app.http.post(app.url("/oauth/token")).basic_auth(id, Some(secret)).form(&[("grant_type", "client_credentials")]).send();
        let token = ok_json(cc(&app).await.unwrap(), 200).await;
        let token = token["access_token"].as_str().unwrap();
        let observer = app.confidential_client().await;
        assert_eq!(app.introspect(&observer, token).await["active"], true);

        // 2. Delete it: 204, no body.
        let resp = delete(&app, &format!("/admin/clients/{id}"), &admin).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        assert!(resp.bytes().await.unwrap().is_empty());

        // 3. Its Basic auth is refused, its token is inactive, and GET is 404.
        assert_oauth_error(cc(&app).await.unwrap(), 401, "invalid_client").await;
        assert_eq!(app.introspect(&observer, token).await, json!({ "active": false }));
        assert_admin_error(get(&app, &format!("/admin/clients/{id}"), &admin).await, 404, "not_found", "deleted client").await;
        assert!(list_all(&app, "/admin/clients", &admin, 100).await.iter().all(|c| c["client_id"] != id));
    }

    // ---------------------------------------------------------------- sessions

    async fn sessions_are_listed_per_user_with_every_field(backend) {
        // Arrange: alice logs in twice, bob once.
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let client = app.confidential_client().await;
        let alice = app.create_user("alice", PW).await;
        let bob = app.create_user("bob", PW).await;
        let first = app.login(&client, "alice", PW).await;
        let second = app.login(&client, "alice", PW).await;
        app.login(&client, "bob", PW).await;
        let expected_sids: BTreeSet<String> = [&first, &second].iter().map(|l| sid_of(l["access_token"].as_str().unwrap())).collect();

        // Act
        let resp = get(&app, &format!("/admin/sessions?user_id={alice}"), &admin).await;

        // Assert
        let page = ok_json(resp, 200).await;
        assert_eq!(keys_of(&page), set(&["items", "next"]));
        assert_eq!(page["next"], Value::Null);
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.iter().map(|s| s["sid"].as_str().unwrap().to_owned()).collect::<BTreeSet<_>>(), expected_sids);
        for session in items {
            assert_eq!(keys_of(session), set(SESSION_FIELDS), "{session}");
            assert_eq!(session["user_id"], alice.as_str());
            assert_eq!(session["client_id"], client.client_id.as_str());
            assert_eq!(session["revoked_at"], Value::Null);
            let created = assert_utc_timestamp(&session["created_at"]);
            let last_used = assert_utc_timestamp(&session["last_used_at"]);
            let expires = assert_utc_timestamp(&session["expires_at"]);
            assert!(created <= last_used && last_used < expires, "{session}");
        }
        // Bob's is his alone; without user_id every session is listed (root's, alice's, bob's).
        let bobs = list_all(&app, &format!("/admin/sessions?user_id={bob}"), &admin, 100).await;
        assert_eq!(bobs.len(), 1);
        assert_eq!(bobs[0]["user_id"], bob.as_str());
        assert_eq!(list_all(&app, "/admin/sessions", &admin, 1).await.len(), 4);
        assert!(list_all(&app, &format!("/admin/sessions?user_id={}", uuid::Uuid::new_v4()), &admin, 100).await.is_empty());
    }

    async fn revoking_one_session_ends_only_that_session(backend) {
        // 1. Alice has two sessions.
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let client = app.confidential_client().await;
        let alice = app.create_user("alice", PW).await;
        let doomed = app.login(&client, "alice", PW).await;
        let kept = app.login(&client, "alice", PW).await;
        let sid = sid_of(doomed["access_token"].as_str().unwrap());

        // 2. Revoke one: 204, no body.
        let resp = delete(&app, &format!("/admin/sessions/{sid}"), &admin).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        assert!(resp.bytes().await.unwrap().is_empty());

        // 3. Its tokens are dead; the other session lives.
        assert_oauth_error(app.refresh(&client, doomed["refresh_token"].as_str().unwrap()).await, 400, "invalid_grant").await;
        assert_eq!(app.introspect(&client, doomed["access_token"].as_str().unwrap()).await, json!({ "active": false }));
        assert_eq!(app.refresh(&client, kept["refresh_token"].as_str().unwrap()).await.status(), StatusCode::OK);

        // 4. The listing shows `revoked_at` on the revoked session only.
        let sessions = list_all(&app, &format!("/admin/sessions?user_id={alice}"), &admin, 100).await;
        for session in &sessions {
            if session["sid"] == sid.as_str() {
                assert_utc_timestamp(&session["revoked_at"]);
            } else {
                assert_eq!(session["revoked_at"], Value::Null, "{session}");
            }
        }

        // 5. Revoking it again changes nothing; an unknown sid is 404.
        assert_eq!(delete(&app, &format!("/admin/sessions/{sid}"), &admin).await.status(), StatusCode::NO_CONTENT);
        let unknown = delete(&app, &format!("/admin/sessions/{}", uuid::Uuid::new_v4()), &admin).await;
        assert_admin_error(unknown, 404, "not_found", "unknown sid").await;
    }

    async fn revoking_every_session_of_a_user(backend) {
        // Arrange: two logins of alice, one of bob.
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let client = app.confidential_client().await;
        let alice = app.create_user("alice", PW).await;
        app.create_user("bob", PW).await;
        let first = app.login(&client, "alice", PW).await;
        let second = app.login(&client, "alice", PW).await;
        let bob = app.login(&client, "bob", PW).await;

        // Act
        let resp = delete(&app, &format!("/admin/users/{alice}/sessions"), &admin).await;

        // Assert
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        for login in [&first, &second] {
            assert_oauth_error(app.refresh(&client, login["refresh_token"].as_str().unwrap()).await, 400, "invalid_grant").await;
        }
        let sessions = list_all(&app, &format!("/admin/sessions?user_id={alice}"), &admin, 100).await;
        assert_eq!(sessions.len(), 2);
        assert!(sessions.iter().all(|s| s["revoked_at"].is_string()), "{sessions:?}");
        // Bob is untouched, and alice herself is not disabled: she can log in again.
        assert_eq!(app.refresh(&client, bob["refresh_token"].as_str().unwrap()).await.status(), StatusCode::OK);
        app.login(&client, "alice", PW).await;
        let unknown = delete(&app, &format!("/admin/users/{}/sessions", uuid::Uuid::new_v4()), &admin).await;
        assert_admin_error(unknown, 404, "not_found", "unknown user").await;
    }

    // ---------------------------------------------------------------- keys

    async fn key_rotation_publishes_first_and_immediate_rotation_cuts_over(backend) {
        // 1. One key; an admin and alice are logged in.
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let client = app.confidential_client().await;
        app.create_user("alice", PW).await;
        app.create_user_with("ops", PW, true).await;
        let old_kid = only_kid(&app.get_jwks().await);
        let before_rotation = app.login(&client, "alice", PW).await["access_token"].as_str().unwrap().to_owned();

        // 2. A normal rotation: the new key is announced, signing from the activation delay on.
        let resp = post_empty(&app, "/admin/keys/rotate", &admin).await;
        let rotated = ok_json(resp, 200).await;
        assert_eq!(keys_of(&rotated), set(&["kid", "signs_from"]));
        let next_kid = rotated["kid"].as_str().unwrap().to_owned();
        assert_ne!(next_kid, old_kid);
        let delay = assert_utc_timestamp(&rotated["signs_from"]) - chrono::Utc::now().timestamp();
        assert!((590..=600).contains(&delay), "signs in {delay}s, not the default 600");

        // 3. The JWKS publishes both at once; new tokens are still signed by the old key.
        assert_eq!(kids(&app.get_jwks().await), set(&[old_kid.as_str(), next_kid.as_str()]));
        let during = app.login(&client, "alice", PW).await["access_token"].as_str().unwrap().to_owned();
        assert_eq!(unverified_parts(&during).0["kid"], old_kid.as_str());
        app.verify_access(&during, "tessera").await.expect("old-key tokens verify");

        // 4. An immediate rotation (a leaked key): the newest key signs now and is the only one.
        let resp = post_empty(&app, "/admin/keys/rotate?immediate=true", &admin).await;
        let immediate = ok_json(resp, 200).await;
        let new_kid = immediate["kid"].as_str().unwrap().to_owned();
        assert!(assert_utc_timestamp(&immediate["signs_from"]) <= chrono::Utc::now().timestamp());
        assert_eq!(kids(&app.get_jwks().await), set(&[new_kid.as_str()]));

        // 5. Everything signed before stops verifying, the admin's own token included.
        for token in [&before_rotation, &during, &admin] {
            assert!(app.verify_access(token, "tessera").await.is_err());
        }
        assert_admin_error(get(&app, "/admin/users", &admin).await, 401, "invalid_token", "token of a retired key").await;

        // 6. New logins carry the new kid and verify; a fresh admin token works.
        let after = app.login(&client, "alice", PW).await["access_token"].as_str().unwrap().to_owned();
        assert_eq!(unverified_parts(&after).0["kid"], new_kid.as_str());
        app.verify_access(&after, "tessera").await.expect("new-key tokens verify");
        let ops = app.login(&client, "ops", PW).await["access_token"].as_str().unwrap().to_owned();
        assert_eq!(get(&app, "/admin/users", &ops).await.status(), StatusCode::OK);
    }

    async fn immediate_must_be_true_or_false(backend) {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;

        // Act
        let resp = post_empty(&app, "/admin/keys/rotate?immediate=maybe", &admin).await;

        // Assert: refused, and nothing rotated.
        assert_admin_error(resp, 400, "invalid_request", "immediate=maybe").await;
        assert_eq!(app.get_jwks().await["keys"].as_array().unwrap().len(), 1);
        let explicit_false = ok_json(post_empty(&app, "/admin/keys/rotate?immediate=false", &admin).await, 200).await;
        assert!(assert_utc_timestamp(&explicit_false["signs_from"]) > chrono::Utc::now().timestamp() + 500);
        assert_eq!(app.get_jwks().await["keys"].as_array().unwrap().len(), 2);
    }

    // ---------------------------------------------------------------- events

    async fn security_events_are_listed_and_paged_without_secrets(backend) {
        // 1. A failed login.
        let app = TestApp::spawn(backend).await;
        let admin = app.admin_token().await;
        let admin_id = unverified_parts(&admin).1["sub"].as_str().unwrap().to_owned();
        let client = app.confidential_client().await;
        let alice = app.create_user("alice", PW).await;
        let wrong = "wrong-password-1";
        let failed = app.post_token(Some(&client), &[("grant_type", "password"), ("username", "alice"), ("password", wrong)]).await;
        assert_oauth_error(failed, 400, "invalid_grant").await;

        // 2. A refresh-token reuse.
        let reused = app.login(&client, "alice", PW).await;
        let reused_refresh = reused["refresh_token"].as_str().unwrap();
        let rotated = ok_json(app.refresh(&client, reused_refresh).await, 200).await;
        assert_oauth_error(app.refresh(&client, reused_refresh).await, 400, "invalid_grant").await;
        let reused_sid = sid_of(reused["access_token"].as_str().unwrap());

        // 3. A user created through the admin API.
        let bob_password = "bobs secret passphrase";
        let bob = ok_json(create_user(&app, &admin, &json!({ "username": "bob", "password": bob_password })).await, 201).await;

        // 4. A session revoked through the admin API.
        let revoked = app.login(&client, "alice", PW).await;
        let revoked_sid = sid_of(revoked["access_token"].as_str().unwrap());
        assert_eq!(delete(&app, &format!("/admin/sessions/{revoked_sid}"), &admin).await.status(), StatusCode::NO_CONTENT);

        // 5. The events list them all, in order, with every field.
        let page = ok_json(get(&app, "/admin/events", &admin).await, 200).await;
        assert_eq!(page["next"], Value::Null);
        let events = page["items"].as_array().unwrap().clone();
        let mut last_seq = i64::MIN;
        for event in &events {
            assert_eq!(keys_of(event), set(EVENT_FIELDS), "{event}");
            let seq = event["seq"].as_i64().unwrap();
            assert!(seq > last_seq, "seq increases");
            last_seq = seq;
            assert_utc_timestamp(&event["at"]);
            assert!(event["kind"].is_string() && event["detail"].is_object(), "{event}");
        }
        let find = |kind: &str| events.iter().find(|e| e["kind"] == kind).unwrap_or_else(|| panic!("no {kind} in {events:?}"));
        let login_failed = find("login_failed");
        assert_eq!(login_failed["subject"], alice.as_str());
        assert_eq!(login_failed["detail"]["username"], "alice");
        let reuse = find("refresh_token_reuse");
        assert_eq!(reuse["subject"], reused_sid.as_str());
        let created = find("user_created");
        assert_eq!(created["subject"], bob["id"]);
        assert_eq!(created["actor"], format!("user:{admin_id}").as_str());
        let session_revoked = find("session_revoked");
        assert_eq!(session_revoked["subject"], revoked_sid.as_str());
        assert_eq!(session_revoked["actor"], format!("user:{admin_id}").as_str());
        let order: Vec<i64> = [login_failed, reuse, created, session_revoked].iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "in the order they happened: {order:?}");

        // 6. Paged with `limit`, the same events, each once.
        let first = ok_json(get(&app, "/admin/events?limit=1", &admin).await, 200).await;
        assert_eq!(first["items"].as_array().unwrap().len(), 1);
        assert!(first["next"].is_string());
        let paged = list_all(&app, "/admin/events", &admin, 1).await;
        assert_eq!(paged, events);
        assert_eq!(list_all(&app, "/admin/events", &admin, 3).await, events);

        // 7. No secret anywhere: passwords, tokens, client secrets.
        let text = Value::Array(events.clone()).to_string();
        let secrets = [
            PW, wrong, bob_password, &admin, reused_refresh,
            reused["access_token"].as_str().unwrap(), rotated["refresh_token"].as_str().unwrap(),
            revoked["refresh_token"].as_str().unwrap(), client.client_secret.as_deref().unwrap(),
        ];
        for secret in secrets {
            assert!(!text.contains(secret), "an event shows a secret ({:.12}…): {text}", secret);
        }
        for event in &events {
            assert_no_secret_fields(&event["detail"]);
        }
    }
}

// -------------------------------------------------------------------- helpers

/// The ids substituted into `ROUTES`.
struct Ids<'a> {
    user: &'a str,
    client: &'a str,
    sid: &'a str,
}

/// A request to one of `ROUTES`; POST and PATCH carry a valid JSON body, so that only the
/// token can make it fail.
fn admin_request(
    app: &TestApp,
    (method, path): (&str, &str),
    ids: &Ids<'_>,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    let path = path
        .replace("{user}", ids.user)
        .replace("{client}", ids.client)
        .replace("{sid}", ids.sid);
    let url = app.url(&path);
    let mut request = match method {
        "GET" => app.http.get(url),
        "POST" => app.http.post(url),
        "PATCH" => app.http.patch(url),
        "DELETE" => app.http.delete(url),
        other => panic!("no such method {other}"),
    };
    request = match (method, path.as_str()) {
        ("POST", "/admin/users") => request.json(&json!({ "username": "mallory", "password": PW })),
        ("POST", "/admin/clients") => request.json(&json!({ "name": "mallory" })),
        ("PATCH", _) => request.json(&json!({ "disabled": true, "admin": true })),
        _ => request,
    };
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

async fn get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    let request = app.http.get(app.url(path)).bearer_auth(token);
    request.send().await.unwrap()
}

async fn delete(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    let request = app.http.delete(app.url(path)).bearer_auth(token);
    request.send().await.unwrap()
}

async fn post_empty(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    let request = app.http.post(app.url(path)).bearer_auth(token);
    request.send().await.unwrap()
}

async fn post_json(app: &TestApp, path: &str, token: &str, body: &Value) -> reqwest::Response {
    let request = app.http.post(app.url(path)).bearer_auth(token).json(body);
    request.send().await.unwrap()
}

async fn patch_json(app: &TestApp, path: &str, token: &str, body: &Value) -> reqwest::Response {
    let request = app.http.patch(app.url(path)).bearer_auth(token).json(body);
    request.send().await.unwrap()
}

async fn create_user(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    post_json(app, "/admin/users", token, body).await
}

/// Asserts the status and returns the JSON body.
async fn ok_json(resp: reqwest::Response, status: u16) -> Value {
    let actual = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts an admin error (CONTRACT §6): the status, a JSON body of exactly `error` and
/// `error_description`, and on a 401 a `WWW-Authenticate: Bearer` challenge.
async fn assert_admin_error(resp: reqwest::Response, status: u16, code: &str, what: &str) -> Value {
    let actual = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    assert_eq!(actual, status, "{what}: {text}");
    let content_type = headers.get("content-type").map(|v| v.to_str().unwrap());
    assert!(
        content_type.is_some_and(|t| t.starts_with("application/json")),
        "{what}: content type {content_type:?}"
    );
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
    assert_eq!(
        keys_of(&body),
        set(&["error", "error_description"]),
        "{what}: {body}"
    );
    assert_eq!(body["error"], code, "{what}: {body}");
    assert!(body["error_description"].is_string(), "{what}: {body}");
    if status == 401 {
        let challenge = headers
            .get("www-authenticate")
            .unwrap_or_else(|| panic!("{what}: no WWW-Authenticate"))
            .to_str()
            .unwrap();
        assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
    }
    body
}

/// Follows `next` from the first page to the last, asserting each page's size; returns every
/// item in order. `path` may already carry a query.
async fn list_all(app: &TestApp, path: &str, token: &str, limit: usize) -> Vec<Value> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10_000 {
        let mut url = format!("{path}{separator}limit={limit}");
        if let Some(c) = &cursor {
            let encoded: String = form_urlencoded::byte_serialize(c.as_bytes()).collect();
            url.push_str(&format!("&cursor={encoded}"));
        }
        let page = ok_json(get(app, &url, token).await, 200).await;
        let page_items = page["items"].as_array().unwrap();
        assert!(page_items.len() <= limit, "{url}: {page}");
        items.extend(page_items.iter().cloned());
        match &page["next"] {
            Value::Null => return items,
            Value::String(next) => {
                assert_eq!(
                    page_items.len(),
                    limit,
                    "only the last page is short: {page}"
                );
                cursor = Some(next.clone());
            }
            other => panic!("next is {other}"),
        }
    }
    panic!("{path}: the pages never end");
}

/// The `sid` claim of a token.
fn sid_of(token: &str) -> String {
    unverified_parts(token).1["sid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `claims` with other `iat` and `exp`.
fn with_times(claims: &Value, iat: i64, exp: i64) -> Value {
    let mut claims = claims.clone();
    claims["iat"] = json!(iat);
    claims["exp"] = json!(exp);
    claims
}

fn keys_of(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn kids(jwks: &Value) -> BTreeSet<String> {
    strings(&Value::Array(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].clone())
            .collect(),
    ))
}

fn only_kid(jwks: &Value) -> String {
    let kids = kids(jwks);
    assert_eq!(kids.len(), 1, "{jwks}");
    kids.into_iter().next().unwrap()
}

/// Asserts an RFC 3339 timestamp in UTC (`…Z`) and returns it as epoch seconds.
fn assert_utc_timestamp(value: &Value) -> i64 {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a timestamp: {value}"));
    assert!(text.ends_with('Z'), "not UTC: {text}");
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("not RFC 3339 ({e}): {text}"))
        .timestamp()
}

/// No key in an event's detail names a credential.
fn assert_no_secret_fields(detail: &Value) {
    const FORBIDDEN: &[&str] = &[
        "password",
        "password_hash",
        "token",
        "access_token",
        "refresh_token",
        "client_secret",
        "secret",
    ];
    match detail {
        Value::Object(map) => {
            for (key, value) in map {
                assert!(
                    !FORBIDDEN.contains(&key.as_str()),
                    "event detail field {key}"
                );
                assert_no_secret_fields(value);
            }
        }
        Value::Array(items) => items.iter().for_each(assert_no_secret_fields),
        _ => {}
    }
}
