//! The authorization code flow with PKCE, over HTTP as a browser would drive it.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::Value;
use tessera::domain::{ClientType, GrantType};
use tessera::oauth::clients::{ClientView, NewClient};

use crate::helpers::{assert_oauth_error, TestApp};

const PW: &str = "correct horse battery";
const CALLBACK: &str = "https://app.example/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ0kbSh1oVGNcTvt48DXP_2cTdOCmDmsIbEuHKqn3wz-ap"; // 60 chars

/// A browser: follows no redirects (the tests read them), keeps cookies.
struct Browser<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            app,
            http,
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, resp: &reqwest::Response) {
        for value in resp.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.to_ascii_lowercase().contains("max-age=0") {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.to_owned());
            }
        }
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let resp = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&resp);
        resp
    }

    async fn post(&mut self, path: &str, form: &[(String, String)]) -> reqwest::Response {
        let resp = self
            .http
            .post(self.app.url(path))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep_cookies(&resp);
        resp
    }

    /// Submits the page's form with its hidden fields plus `fields`.
    async fn submit(
        &mut self,
        page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = hidden_fields(page);
        form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.post(path, &form).await
    }
}

/// The `<input type="hidden">` fields of a page, unescaped.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(unescape(&tag[start..end]))
    };
    html.split("<input")
        .skip(1)
        .filter(|tag| tag.contains("type=\"hidden\""))
        .filter_map(|tag| Some((attr(tag, "name")?, attr(tag, "value")?)))
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn challenge(verifier: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(tessera::oauth::secrets::sha256(verifier.as_bytes()))
}

fn authorize_url(app: &TestApp, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("scope", "openid profile email"),
        ("state", "st-123"),
        ("nonce", "n-456"),
    ];
    pairs.extend_from_slice(extra);
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    app.url(&format!("/oauth/authorize?{query}"))
}

fn location(resp: &reqwest::Response) -> reqwest::Url {
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "expected a redirect");
    reqwest::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap()
}

fn query(url: &reqwest::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

async fn spa(app: &TestApp, first_party: bool) -> ClientView {
    app.create_client(NewClient {
        name: "Example SPA".into(),
        client_type: ClientType::Public,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        redirect_uris: vec![CALLBACK.into()],
        scopes: vec!["openid".into(), "profile".into(), "email".into()],
        audience: None,
        first_party,
    })
    .await
}

async fn exchange(
    app: &TestApp,
    client: &ClientView,
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    app.post_token(
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("client_id", &client.client_id),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// Signs in through the login (and consent) pages; returns the code.
async fn sign_in(browser: &mut Browser<'_>, client: &ClientView, username: &str) -> String {
    let url = authorize_url(
        browser.app,
        &client.client_id,
        &[
            ("code_challenge", &challenge(VERIFIER)),
            ("code_challenge_method", "S256"),
        ],
    );
    let resp = browser.get(&url).await;
    if resp.status() == StatusCode::SEE_OTHER {
        // Signed in already: straight back with a code.
        return query(&location(&resp))["code"].clone();
    }
    let page = resp.text().await.unwrap();
    let mut resp = browser
        .submit(
            &page,
            "/oauth/authorize/login",
            &[("username", username), ("password", PW)],
        )
        .await;
    if resp.status() == StatusCode::OK {
        let consent = resp.text().await.unwrap();
        assert!(consent.contains("Allow access?"), "{consent}");
        resp = browser
            .submit(
                &consent,
                "/oauth/authorize/consent",
                &[("decision", "allow")],
            )
            .await;
    }
    let url = location(&resp);
    query(&url)["code"].clone()
}

backend_tests! {
    async fn the_whole_flow_with_pkce_consent_and_an_id_token(backend) {
        // 1. The authorize URL shows an accessible login form.
        let app = TestApp::spawn(backend).await;
        let client = spa(&app, false).await;
        let user_id = app.create_user("alice", PW).await;
        let mut browser = Browser::new(&app);
        let url = authorize_url(&app, &client.client_id, &[("code_challenge", &challenge(VERIFIER)), ("code_challenge_method", "S256")]);
        let resp = browser.get(&url).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["x-frame-options"], "DENY");
        assert!(resp.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        let login = resp.text().await.unwrap();
        for needle in [r#"<label for="username">"#, r#"<label for="password">"#, r#"autocomplete="current-password""#, "Example SPA"] {
            assert!(login.contains(needle), "{needle}");
        }
        assert!(!login.contains("<script"), "works without JavaScript");
        assert!(browser.cookies.contains_key("tessera_csrf"));

        // 2. Signing in leads to the consent page (not a first-party client).
        let resp = browser.submit(&login, "/oauth/authorize/login", &[("username", "alice"), ("password", PW)]).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let set_cookie: Vec<String> = resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        let session_cookie = set_cookie.iter().find(|c| c.starts_with("tessera_session=")).expect("a browser session");
        assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"), "{session_cookie}");
        assert!(!session_cookie.contains("Secure"), "http issuer: no Secure flag");
        let consent = resp.text().await.unwrap();
        assert!(consent.contains("Allow access?") && consent.contains("email"), "{consent}");

        // 3. Allowing redirects to the client with a code, the state and the issuer.
        let resp = browser.submit(&consent, "/oauth/authorize/consent", &[("decision", "allow")]).await;
        let back = location(&resp);
        assert_eq!(format!("{}://{}{}", back.scheme(), back.host_str().unwrap(), back.path()), CALLBACK);
        let params = query(&back);
        assert_eq!(params["state"], "st-123");
        assert_eq!(params["iss"], app.address);
        let code = &params["code"];

        // 4. The code exchanges for tokens, with an ID token.
        let resp = exchange(&app, &client, code, VERIFIER).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let tokens: Value = resp.json().await.unwrap();
        assert_eq!(tokens["scope"], "email openid profile");
        assert!(tokens["refresh_token"].is_string());
        let jwks = app.get_jwks().await;
        let id = crate::helpers::verify_with_jwks(&jwks, tokens["id_token"].as_str().unwrap(), &app.address, &client.client_id).unwrap();
        assert_eq!(id["sub"], user_id.as_str());
        assert_eq!(id["nonce"], "n-456");
        assert!(id["auth_time"].as_i64().unwrap() <= id["iat"].as_i64().unwrap());
        let access = crate::helpers::unverified_parts(tokens["access_token"].as_str().unwrap()).1;
        assert_eq!(id["sid"], access["sid"]);

        // 5. Userinfo answers by scope.
        let info: Value = app.http.get(app.url("/userinfo")).bearer_auth(tokens["access_token"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
        assert_eq!(info, serde_json::json!({ "sub": user_id, "preferred_username": "alice", "email": "alice@example.com", "email_verified": false }));

        // 6. A second authorization skips the form and the consent: straight back with a code.
        let again = browser.get(&authorize_url(&app, &client.client_id, &[("code_challenge", &challenge(VERIFIER)), ("code_challenge_method", "S256")])).await;
        let second = query(&location(&again))["code"].clone();
        assert_eq!(exchange(&app, &client, &second, VERIFIER).await.status(), StatusCode::OK);
    }

    async fn a_code_works_once_and_its_replay_revokes_the_tokens(backend) {
        let app = TestApp::spawn(backend).await;
        let client = spa(&app, true).await;
        app.create_user("alice", PW).await;
        let mut browser = Browser::new(&app);
        let code = sign_in(&mut browser, &client, "alice").await;

        let first: Value = exchange(&app, &client, &code, VERIFIER).await.json().await.unwrap();
        assert_oauth_error(exchange(&app, &client, &code, VERIFIER).await, 400, "invalid_grant").await;

        assert_oauth_error(
            app.post_token(None, &[("grant_type", "refresh_token"), ("refresh_token", first["refresh_token"].as_str().unwrap()), ("client_id", &client.client_id)]).await,
            400,
            "invalid_grant",
        )
        .await;
        let resp = app.http.get(app.url("/userinfo")).bearer_auth(first["access_token"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }

    async fn the_code_is_bound_to_verifier_redirect_uri_client_and_time(backend) {
        let app = TestApp::spawn(backend).await;
        let client = spa(&app, true).await;
        let other = spa(&app, true).await;
        app.create_user("alice", PW).await;
        let mut browser = Browser::new(&app);

        let code = sign_in(&mut browser, &client, "alice").await;
        let wrong_verifier = "x".repeat(50);
        assert_oauth_error(exchange(&app, &client, &code, &wrong_verifier).await, 400, "invalid_grant").await;
        let no_verifier = app.post_token(None, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CALLBACK), ("client_id", &client.client_id)]).await;
        assert_oauth_error(no_verifier, 400, "invalid_grant").await;
        let other_uri = app.post_token(None, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", "https://app.example/other"), ("client_id", &client.client_id), ("code_verifier", VERIFIER)]).await;
        assert_oauth_error(other_uri, 400, "invalid_grant").await;
        assert_oauth_error(exchange(&app, &other, &code, VERIFIER).await, 400, "invalid_grant").await;
        // None of those consumed it.
        assert_eq!(exchange(&app, &client, &code, VERIFIER).await.status(), StatusCode::OK);

        // A code past its 60 seconds.
        let late = sign_in(&mut browser, &client, "alice").await;
        app.with_db(|conn| {
            use diesel::prelude::*;
            use tessera::store::schema::authorization_codes;
            diesel::update(authorization_codes::table)
                .set(authorization_codes::expires_at.eq(tessera::domain::now() - chrono::TimeDelta::seconds(1)))
                .execute(conn)
                .unwrap();
        })
        .await;
        assert_oauth_error(exchange(&app, &client, &late, VERIFIER).await, 400, "invalid_grant").await;
    }

    async fn bad_authorization_requests_are_shown_or_redirected_as_rfc6749_says(backend) {
        let app = TestApp::spawn(backend).await;
        let client = spa(&app, true).await;
        let mut browser = Browser::new(&app);
        let pkce = [("code_challenge", challenge(VERIFIER)), ("code_challenge_method", "S256".to_owned())];
        let pkce: Vec<(&str, &str)> = pkce.iter().map(|(k, v)| (*k, v.as_str())).collect();

        // Untrusted client or redirect URI: an error page, never a redirect.
        for url in [
            app.url("/oauth/authorize?response_type=code&client_id=nobody&redirect_uri=https%3A%2F%2Fevil.example%2F"),
            app.url(&format!("/oauth/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fevil.example%2F", client.client_id)),
            app.url(&format!("/oauth/authorize?response_type=code&client_id={}&redirect_uri={}x", client.client_id, urlencode(CALLBACK))),
            app.url("/oauth/authorize"),
        ] {
            let resp = browser.get(&url).await;
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{url}");
            assert!(resp.headers().get("location").is_none());
            assert!(resp.text().await.unwrap().contains("not valid"));
        }

        // A trusted client and redirect URI: the error goes back with the state.
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![], "invalid_request"), // a public client without PKCE
            (vec![("code_challenge", &VERIFIER[..43]), ("code_challenge_method", "plain")], "invalid_request"),
            (vec![("code_challenge", &VERIFIER[..43])], "invalid_request"),
            (vec![("code_challenge", "short"), ("code_challenge_method", "S256")], "invalid_request"),
            ([pkce.clone(), vec![("scope", "openid admin")]].concat(), "invalid_scope"),
            ([pkce.clone(), vec![("response_type", "token")]].concat(), "unsupported_response_type"),
        ];
        for (extra, error) in cases {
            let mut pairs = vec![("client_id", client.client_id.as_str()), ("redirect_uri", CALLBACK), ("state", "s1")];
            if !extra.iter().any(|(k, _)| *k == "response_type") {
                pairs.push(("response_type", "code"));
            }
            pairs.extend(extra.iter().copied());
            let query_string = form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
            let resp = browser.get(&app.url(&format!("/oauth/authorize?{query_string}"))).await;
            let params = query(&location(&resp));
            assert_eq!(params["error"], error, "{pairs:?}");
            assert_eq!(params["state"], "s1");
        }
    }

    async fn the_login_form_refuses_forged_posts_and_throttles_guessing(backend) {
        let app = TestApp::spawn(backend).await;
        let client = spa(&app, true).await;
        app.create_user("alice", PW).await;
        let mut browser = Browser::new(&app);
        let url = authorize_url(&app, &client.client_id, &[("code_challenge", &challenge(VERIFIER)), ("code_challenge_method", "S256")]);
        let page = browser.get(&url).await.text().await.unwrap();

        // CSRF: a forged token, or no cookie at all.
        let mut forged = hidden_fields(&page);
        forged.retain(|(k, _)| k != "csrf_token");
        forged.push(("csrf_token".into(), "forged".into()));
        forged.extend([("username".to_owned(), "alice".to_owned()), ("password".to_owned(), PW.to_owned())]);
        assert_eq!(browser.post("/oauth/authorize/login", &forged).await.status(), StatusCode::FORBIDDEN);
        let mut cookieless = Browser::new(&app);
        let resp = cookieless.submit(&page, "/oauth/authorize/login", &[("username", "alice"), ("password", PW)]).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);

        // A wrong password and an unknown user read the same.
        let wrong = browser.submit(&page, "/oauth/authorize/login", &[("username", "alice"), ("password", "wrong password")]).await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let wrong = wrong.text().await.unwrap();
        let unknown = browser.submit(&page, "/oauth/authorize/login", &[("username", "mallory"), ("password", "wrong password")]).await.text().await.unwrap();
        assert!(wrong.contains("Invalid username or password.") && unknown.contains("Invalid username or password."));

        // Five failures for the account: the sixth attempt is not even checked.
        for _ in 0..4 {
            browser.submit(&page, "/oauth/authorize/login", &[("username", "alice"), ("password", "wrong password")]).await;
        }
        let throttled = browser.submit(&page, "/oauth/authorize/login", &[("username", "alice"), ("password", PW)]).await;
        assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    }

    async fn denying_consent_tells_the_client(backend) {
        let app = TestApp::spawn(backend).await;
        let client = spa(&app, false).await;
        app.create_user("alice", PW).await;
        let mut browser = Browser::new(&app);
        let url = authorize_url(&app, &client.client_id, &[("code_challenge", &challenge(VERIFIER)), ("code_challenge_method", "S256")]);
        let page = browser.get(&url).await.text().await.unwrap();
        let consent = browser.submit(&page, "/oauth/authorize/login", &[("username", "alice"), ("password", PW)]).await.text().await.unwrap();

        let resp = browser.submit(&consent, "/oauth/authorize/consent", &[("decision", "deny")]).await;

        let params = query(&location(&resp));
        assert_eq!(params["error"], "access_denied");
        assert_eq!(params["state"], "st-123");
    }

    async fn logout_ends_the_browser_session_and_its_tokens(backend) {
        let app = TestApp::spawn(backend).await;
        let client = spa(&app, true).await;
        app.create_user("alice", PW).await;
        let mut browser = Browser::new(&app);
        let code = sign_in(&mut browser, &client, "alice").await;
        let tokens: Value = exchange(&app, &client, &code, VERIFIER).await.json().await.unwrap();

        // An unregistered post-logout URI is not followed.
        let mut bystander = Browser::new(&app);
        let resp = bystander.get(&app.url(&format!("/oauth/logout?client_id={}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F", client.client_id))).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(resp.text().await.unwrap().contains("signed out"));

        let url = format!(
            "/oauth/logout?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
            tokens["id_token"].as_str().unwrap(),
            urlencode(CALLBACK)
        );
        let resp = browser.get(&app.url(&url)).await;

        let back = location(&resp);
        assert_eq!(query(&back)["state"], "bye");
        assert!(!browser.cookies.contains_key("tessera_session"), "the cookie is cleared");
        let refresh = app.post_token(None, &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap()), ("client_id", &client.client_id)]).await;
        assert_oauth_error(refresh, 400, "invalid_grant").await;
        // The next authorization asks for the password again.
        let again = browser.get(&authorize_url(&app, &client.client_id, &[("code_challenge", &challenge(VERIFIER)), ("code_challenge_method", "S256")])).await;
        assert_eq!(again.status(), StatusCode::OK);
        assert!(again.text().await.unwrap().contains("Sign in"));
    }

    async fn discovery_describes_the_browser_flow(backend) {
        let app = TestApp::spawn(backend).await;
        let meta: Value = app.http.get(app.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
        assert_eq!(meta["authorization_endpoint"], app.url("/oauth/authorize"));
        assert_eq!(meta["end_session_endpoint"], app.url("/oauth/logout"));
        assert_eq!(meta["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(meta["response_types_supported"], serde_json::json!(["code"]));
        for scope in ["openid", "profile", "email"] {
            assert!(meta["scopes_supported"].as_array().unwrap().contains(&scope.into()));
        }
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
