//! The password grant and the client authentication methods.

use reqwest::StatusCode;
use tessera::domain::{ClientType, GrantType};
use tessera::oauth::clients::NewClient;

use crate::helpers::{assert_oauth_error, unverified_parts, TestApp};

backend_tests! {
    async fn login_issues_tokens_with_every_contract_claim(backend) {
        // Arrange
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        let user_id = app.create_user("alice", "correct horse battery").await;

        // Act
        let resp = app
            .post_token(Some(&client), &[("grant_type", "password"), ("username", "alice"), ("password", "correct horse battery")])
            .await;

        // Assert: RFC 6749 §5.1 response
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 300);
        assert_eq!(body["scope"], "read write");
        assert!(body.get("id_token").is_none());

        // The access token verifies against the JWKS (RS256, iss, aud) and carries every claim.
        let access = body["access_token"].as_str().unwrap();
        let claims = app.verify_access(access, "tessera").await.expect("access token verifies");
        let (header, _) = unverified_parts(access);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["typ"], "at+jwt");
        assert!(header["kid"].is_string());
        assert_eq!(claims["iss"], app.address.as_str());
        assert_eq!(claims["sub"], user_id.as_str());
        assert_eq!(claims["user_id"], user_id.as_str());
        assert_eq!(claims["aud"], "tessera");
        assert_eq!(claims["client_id"], client.client_id.as_str());
        assert_eq!(claims["scope"], "read write");
        assert_eq!(claims["token_type"], "access");
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);
        assert!(claims["jti"].as_str().unwrap().len() >= 16);
        let sid = claims["sid"].as_str().unwrap();

        // The refresh token: same session, aud = the issuer, so it is no access token.
        let refresh = body["refresh_token"].as_str().unwrap();
        let (rheader, rclaims) = unverified_parts(refresh);
        assert_eq!(rheader["alg"], "RS256");
        assert_eq!(rclaims["token_type"], "refresh");
        assert_eq!(rclaims["aud"], app.address.as_str());
        assert_eq!(rclaims["sid"], sid);
        assert_eq!(rclaims["user_id"], user_id.as_str());
        assert!(rclaims["jti"].is_string());
        assert!(app.verify_access(refresh, "tessera").await.is_err(), "a refresh token is not an access token");
    }

    async fn client_secret_post_authenticates(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        app.create_user("alice", "correct horse battery").await;

        let resp = app
            .post_token(None, &[
                ("grant_type", "password"), ("username", "alice"), ("password", "correct horse battery"),
                ("client_id", &client.client_id), ("client_secret", client.client_secret.as_deref().unwrap()),
            ])
            .await;

        assert_eq!(resp.status(), StatusCode::OK);
    }

    async fn public_client_authenticates_with_its_id_alone(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app
            .create_client(NewClient {
                name: "spa".into(),
                client_type: ClientType::Public,
                grant_types: vec![GrantType::Password, GrantType::RefreshToken],
                redirect_uris: vec![],
                scopes: vec!["read".into()],
                audience: None,
                first_party: false,
            })
            .await;
        assert!(client.client_secret.is_none());
        app.create_user("alice", "correct horse battery").await;

        let ok = app
            .post_token(None, &[("grant_type", "password"), ("username", "alice"), ("password", "correct horse battery"), ("client_id", &client.client_id)])
            .await;
        assert_eq!(ok.status(), StatusCode::OK);

        // A public client has no secret: presenting one is a failed authentication.
        let with_secret = app
            .post_token(None, &[("grant_type", "password"), ("username", "alice"), ("password", "correct horse battery"), ("client_id", &client.client_id), ("client_secret", "guess")])
            .await;
        assert_oauth_error(with_secret, 401, "invalid_client").await;
    }

    async fn wrong_password_and_unknown_user_look_the_same(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        app.create_user("alice", "correct horse battery").await;

        let wrong = app.post_token(Some(&client), &[("grant_type", "password"), ("username", "alice"), ("password", "wrong horse battery")]).await;
        let wrong = assert_oauth_error(wrong, 400, "invalid_grant").await;
        let unknown = app.post_token(Some(&client), &[("grant_type", "password"), ("username", "mallory"), ("password", "wrong horse battery")]).await;
        let unknown = assert_oauth_error(unknown, 400, "invalid_grant").await;

        assert_eq!(wrong, unknown);
        let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("tessera_failed_logins_total 2"), "{metrics}");
    }

    async fn disabled_user_cannot_log_in(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        let user_id = app.create_user("alice", "correct horse battery").await;
        app.with_db(move |conn| {
            use diesel::prelude::*;
            use tessera::store::schema::users;
            diesel::update(users::table.find(user_id)).set(users::disabled.eq(true)).execute(conn).unwrap();
        })
        .await;

        let resp = app.post_token(Some(&client), &[("grant_type", "password"), ("username", "alice"), ("password", "correct horse battery")]).await;

        assert_oauth_error(resp, 400, "invalid_grant").await;
    }

    async fn requested_scope_is_bounded_by_the_client(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        app.create_user("alice", "correct horse battery").await;
        let login = |scope: &'static str| {
            let client = client.clone();
            let app = &app;
            async move {
                app.post_token(Some(&client), &[("grant_type", "password"), ("username", "alice"), ("password", "correct horse battery"), ("scope", scope)]).await
            }
        };

        let narrowed: serde_json::Value = login("read").await.json().await.unwrap();
        assert_eq!(narrowed["scope"], "read");
        assert_oauth_error(login("read admin").await, 400, "invalid_scope").await;
        assert_oauth_error(login("bad\"scope").await, 400, "invalid_scope").await;
    }

    async fn client_audience_and_refresh_grant_shape_the_tokens(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app
            .create_client(NewClient {
                name: "billing".into(),
                client_type: ClientType::Confidential,
                grant_types: vec![GrantType::Password],
                redirect_uris: vec![],
                scopes: vec![],
                audience: Some("billing-api".into()),
                first_party: false,
            })
            .await;
        app.create_user("alice", "correct horse battery").await;

        let body = app.login(&client, "alice", "correct horse battery").await;

        // No refresh_token grant: no refresh token.
        assert!(body.get("refresh_token").is_none(), "{body}");
        let claims = app.verify_access(body["access_token"].as_str().unwrap(), "billing-api").await.unwrap();
        assert_eq!(claims["aud"], "billing-api");
        assert_eq!(body["scope"], "");
    }

    async fn a_grant_the_client_lacks_is_unauthorized_client(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app
            .create_client(NewClient {
                name: "machine".into(),
                client_type: ClientType::Confidential,
                grant_types: vec![GrantType::ClientCredentials],
                redirect_uris: vec![],
                scopes: vec![],
                audience: None,
                first_party: false,
            })
            .await;
        app.create_user("alice", "correct horse battery").await;

        let resp = app.post_token(Some(&client), &[("grant_type", "password"), ("username", "alice"), ("password", "correct horse battery")]).await;

        assert_oauth_error(resp, 400, "unauthorized_client").await;
    }

    async fn client_authentication_failures_are_401_with_basic_challenge(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;
        let form = [("grant_type", "client_credentials")];

        let cases = [
            // wrong secret
            app.http.post(app.url("/oauth/token")).basic_auth(&client.client_id, Some("wrong")).form(&form),
            // unknown client
            app.http.post(app.url("/oauth/token")).basic_auth("no-such-client", Some("x")).form(&form),
            // no authentication at all
            app.http.post(app.url("/oauth/token")).form(&form),
            // a confidential client that sends only its id
            app.http.post(app.url("/oauth/token")).form(&[("grant_type", "client_credentials"), ("client_id", client.client_id.as_str())]),
            // garbage in the Authorization header
            app.http.post(app.url("/oauth/token")).header("authorization", "Basic %%%").form(&form),
        ];
        for request in cases {
            let resp = request.send().await.unwrap();
            assert_eq!(resp.headers()["www-authenticate"], r#"Basic realm="tessera""#);
            assert_oauth_error(resp, 401, "invalid_client").await;
        }
    }

    async fn two_authentication_methods_at_once_are_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;

        let resp = app
            .post_token(Some(&client), &[("grant_type", "client_credentials"), ("client_secret", client.client_secret.as_deref().unwrap())])
            .await;

        assert_oauth_error(resp, 400, "invalid_request").await;
    }
}
