//! JWKS and server metadata.

use reqwest::StatusCode;

use crate::helpers::TestApp;

backend_tests! {
    async fn jwks_publishes_the_signing_key_with_caching_headers(backend) {
        let app = TestApp::spawn(backend).await;

        let resp = app.http.get(app.url("/.well-known/jwks.json")).send().await.unwrap();

        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
        let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
        let jwks: serde_json::Value = resp.json().await.unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1);
        let key = &keys[0];
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], "RS256");
        assert_eq!(key["e"], "AQAB");
        // kid is the RFC 7638 thumbprint.
        let canonical = format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, key["e"].as_str().unwrap(), key["n"].as_str().unwrap());
        let digest = tessera::oauth::secrets::sha256(canonical.as_bytes());
        use base64::Engine;
        assert_eq!(key["kid"], base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest));
        // 2048-bit modulus.
        let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 256);

        // A verifier that revalidates gets 304.
        let again = app.http.get(app.url("/.well-known/jwks.json")).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }

    async fn private_key_file_is_owner_only_and_survives_a_restart(backend) {
        let app = TestApp::spawn(backend).await;
        let before = app.get_jwks().await;
        let files: Vec<_> = std::fs::read_dir(app.keys_dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // A second instance on the same database and keys directory serves the same key.
        app.handle.stop(true).await;
        let TestApp { db, keys_dir, backend, .. } = app;
        let restarted = TestApp::spawn_on(backend, db, keys_dir, &[]).await;
        assert_eq!(restarted.get_jwks().await, before);
    }

    async fn both_metadata_documents_point_at_the_endpoints(backend) {
        let app = TestApp::spawn(backend).await;
        for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
            let meta: serde_json::Value = app.http.get(app.url(path)).send().await.unwrap().json().await.unwrap();
            assert_eq!(meta["issuer"], app.address.as_str());
            assert_eq!(meta["token_endpoint"], app.url("/oauth/token"));
            assert_eq!(meta["jwks_uri"], app.url("/.well-known/jwks.json"));
            assert_eq!(meta["id_token_signing_alg_values_supported"], serde_json::json!(["RS256"]));
            let grants = meta["grant_types_supported"].as_array().unwrap();
            for g in ["password", "refresh_token", "client_credentials"] {
                assert!(grants.contains(&g.into()), "{g}");
            }
            // The discovered URLs work.
            let jwks = app.http.get(meta["jwks_uri"].as_str().unwrap()).send().await.unwrap();
            assert_eq!(jwks.status(), StatusCode::OK);
        }
    }
}
