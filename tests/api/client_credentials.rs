//! The client_credentials grant.

use reqwest::StatusCode;
use tessera::domain::{ClientType, GrantType};
use tessera::oauth::clients::NewClient;

use crate::helpers::{assert_oauth_error, TestApp};

backend_tests! {
    async fn issues_an_access_token_for_the_client_itself(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app.confidential_client().await;

        let resp = app.post_token(Some(&client), &[("grant_type", "client_credentials"), ("scope", "read")]).await;

        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(body.get("refresh_token").is_none(), "client_credentials returns no refresh token");
        assert_eq!(body["scope"], "read");
        let claims = app.verify_access(body["access_token"].as_str().unwrap(), "tessera").await.unwrap();
        assert_eq!(claims["sub"], client.client_id.as_str());
        assert_eq!(claims["client_id"], client.client_id.as_str());
        assert_eq!(claims["token_type"], "access");
        assert!(claims.get("sid").is_none() && claims.get("user_id").is_none(), "{claims}");
    }

    async fn default_scope_is_everything_registered_and_audience_is_the_clients(backend) {
        let app = TestApp::spawn(backend).await;
        let client = app
            .create_client(NewClient {
                name: "reports".into(),
                client_type: ClientType::Confidential,
                grant_types: vec![GrantType::ClientCredentials],
                redirect_uris: vec![],
                scopes: vec!["reports:read".into(), "admin".into()],
                audience: Some("reports-api".into()),
                first_party: false,
            })
            .await;

        let resp = app.post_token(Some(&client), &[("grant_type", "client_credentials")]).await;

        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["scope"], "admin reports:read");
        let claims = app.verify_access(body["access_token"].as_str().unwrap(), "reports-api").await.unwrap();
        assert_eq!(claims["aud"], "reports-api");
        assert_oauth_error(
            app.post_token(Some(&client), &[("grant_type", "client_credentials"), ("scope", "write")]).await,
            400,
            "invalid_scope",
        )
        .await;
    }

    async fn public_clients_cannot_register_for_client_credentials(backend) {
        let app = TestApp::spawn(backend).await;
        let result = app
            .with_db(|conn| {
                tessera::oauth::clients::register(conn, NewClient {
                    name: "spa".into(),
                    client_type: ClientType::Public,
                    grant_types: vec![GrantType::ClientCredentials],
                    redirect_uris: vec![],
                    scopes: vec![],
                    audience: None,
                    first_party: false,
                })
                .map(|_| ())
                .map_err(|e| e.to_string())
            })
            .await;
        assert!(result.unwrap_err().contains("client_credentials"));
    }
}
