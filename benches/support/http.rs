//! The server, started in this process, and the HTTP client that calls it as the bench's
//! registered client and user.

use actix_web::dev::ServerHandle;
use anyhow::Context;
use futures_util::future::join_all;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use tessera::config::Settings;
use tessera::oauth::clients::ClientView;

use super::db::{PASSWORD, USERNAME};

/// Starts the server in this process, on the runtime's threads; returns a client for it and
/// the handle that stops it.
pub async fn start_server(
    settings: Settings,
    client: ClientView,
    concurrency: usize,
) -> anyhow::Result<(Target, ServerHandle)> {
    let app = tessera::startup::Application::build(settings)
        .await
        .context("the server did not start")?;
    let target = Target::new(app.issuer(), client, concurrency)?;
    let server = app.handle();
    tokio::spawn(app.run_until_stopped());
    Ok((target, server))
}

/// The server and the client that calls it.
pub struct Target {
    http: reqwest::Client,
    base: String,
    client: ClientView,
}

impl Target {
    fn new(issuer: &str, client: ClientView, concurrency: usize) -> anyhow::Result<Self> {
        // One client for every loop: keep-alive connections are reused, as a real relying
        // party's would be, so the figures measure the endpoint and not TCP set-up.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency)
            .build()
            .context("an HTTP client")?;
        Ok(Self {
            http,
            base: issuer.trim_end_matches('/').to_owned(),
            client,
        })
    }

    /// A request to `path_and_query` on the server, such as `/oauth/token`.
    pub fn request(&self, method: Method, path_and_query: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path_and_query}", self.base))
    }

    /// Sends with HTTP Basic client authentication; `Err` for anything but a 200 with a JSON
    /// body, carrying what went wrong.
    pub async fn send(&self, request: RequestBuilder) -> Result<Value, String> {
        let response = request
            .basic_auth(&self.client.client_id, self.client.client_secret.as_deref())
            .send()
            .await
            .map_err(|e| format!("transport: {e}"))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            let body = response.text().await.unwrap_or_default();
            return Err(format!(
                "{status}: {}",
                body.chars().take(200).collect::<String>()
            ));
        }
        response.json().await.map_err(|e| format!("body: {e}"))
    }

    /// POSTs a token request.
    pub async fn token(&self, form: &[(&str, &str)]) -> Result<Value, String> {
        self.send(self.request(Method::POST, "/oauth/token").form(form))
            .await
    }
}

/// One password login; returns the access and refresh tokens.
pub async fn login(target: &Target) -> anyhow::Result<(String, String)> {
    let form = [
        ("grant_type", "password"),
        ("username", USERNAME),
        ("password", PASSWORD),
    ];
    let body = target
        .token(&form)
        .await
        .map_err(|e| anyhow::anyhow!("password login failed: {e}"))?;
    let field = |name: &str| {
        body[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("password login answered without {name}"))
    };
    Ok((field("access_token")?, field("refresh_token")?))
}

/// `count` password logins at once, before a timed phase: argon2 costs ~60 ms a login and
/// would otherwise swamp the rotation figures. Returns their refresh tokens.
pub async fn login_all(target: &Target, count: usize) -> anyhow::Result<Vec<String>> {
    let logins = join_all((0..count).map(|_| login(target))).await;
    logins
        .into_iter()
        .map(|login| login.map(|(_, refresh)| refresh))
        .collect()
}
