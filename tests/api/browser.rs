//! A real browser: headless Chromium, driven over WebDriver, signs in through the login page
//! and lands on the client's redirect URI with a code that exchanges for tokens.
//!
//! Needs Debian's `chromium` and `chromium-driver` (installed by .ci/run). Without them the
//! test reports itself skipped, except under `CI=true`, where it fails.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use fantoccini::{ClientBuilder, Locator};
use serde_json::{json, Value};
use tessera::domain::{ClientType, GrantType};
use tessera::oauth::clients::NewClient;

use crate::helpers::{Backend, TestApp};

const PW: &str = "correct horse battery";
const VERIFIER: &str = "browser-test-verifier-0123456789-0123456789-abcdef";

/// chromedriver on a free port, killed on drop.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChromeDriver {
    fn start() -> Option<Self> {
        let present = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
            .iter()
            .all(|p| std::path::Path::new(p).exists());
        if !present {
            let why = "Debian's chromium and chromium-driver are not installed";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true and {why}");
            }
            eprintln!("SKIPPED (browser): {why}");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait for it to listen (bounded).
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }
}

fn challenge(verifier: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(tessera::oauth::secrets::sha256(verifier.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_in_and_brings_back_a_code() {
    let Some(driver) = ChromeDriver::start() else {
        return;
    };
    // 1. Tessera, a client whose redirect URI is a tiny local "app", and a user.
    let app = TestApp::spawn(Backend::Sqlite).await;
    let callback_server = HttpServer::new(|| {
        App::new().route(
            "/callback",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("text/html")
                    .body("<h1>Back in the app</h1>")
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let callback = format!("http://{}/callback", callback_server.addrs()[0]);
    tokio::spawn(callback_server.run());
    let client = app
        .create_client(NewClient {
            name: "Example App".into(),
            client_type: ClientType::Public,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            redirect_uris: vec![callback.clone()],
            scopes: vec!["openid".into(), "profile".into()],
            audience: None,
            first_party: true,
        })
        .await;
    app.create_user("alice", PW).await;

    // 2. Headless Chromium opens the authorize URL.
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), json!({
        "binary": "/usr/bin/chromium",
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--window-size=900,700", format!("--user-data-dir={}", profile.path().display()),
        ],
    }));
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session");
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", callback.as_str()),
            ("scope", "openid profile"),
            ("state", "browser-state"),
            ("code_challenge", challenge(VERIFIER).as_str()),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    browser
        .goto(&app.url(&format!("/oauth/authorize?{query}")))
        .await
        .unwrap();
    let title = browser.title().await.unwrap();
    assert!(title.contains("Sign in"), "{title}");
    let screenshot = browser.screenshot().await.unwrap();
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    std::fs::write(shots.join("login.png"), &screenshot).unwrap();

    // 3. A wrong password first: the form says so, without saying which part.
    browser
        .find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys("alice")
        .await
        .unwrap();
    browser
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("not the password")
        .await
        .unwrap();
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let alert = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("login-error"))
        .await
        .unwrap();
    assert_eq!(alert.text().await.unwrap(), "Invalid username or password.");

    // 4. Then the right one (the username is kept).
    browser
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PW)
        .await
        .unwrap();
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("h1"))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let landed = loop {
        let url = browser.current_url().await.unwrap();
        if url.as_str().starts_with(&callback) {
            break url;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never reached the app: {url}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let params: std::collections::HashMap<String, String> =
        landed.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "browser-state");
    browser.close().await.unwrap();

    // 5. The code exchanges for tokens.
    let resp = app
        .post_token(
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &params["code"]),
                ("redirect_uri", &callback),
                ("client_id", &client.client_id),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    assert!(tokens["id_token"].is_string() && tokens["refresh_token"].is_string());
}
