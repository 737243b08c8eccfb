//! A downstream service that trusts Tessera's access tokens, verified offline.
//!
//! ```sh
//! cargo run --release                       # Tessera, in the repository root
//! cargo run -p tessera-verify --example downstream --features actix
//! curl -H "Authorization: Bearer $ACCESS" http://127.0.0.1:8081/hello
//! ```
//!
//! Settings: `TESSERA_ISSUER` (default `http://127.0.0.1:8080`), `AUDIENCE` (default
//! `tessera`), `BIND` (default `127.0.0.1:8081`), and, to follow the revocation feed,
//! `FEED_CLIENT_ID` + `FEED_CLIENT_SECRET` of a registered client.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use tessera_verify::actix::{Authenticated, Rejection};
use tessera_verify::http::ReqwestClient;
use tessera_verify::{AccessClaims, RevocationFollower, Verifier};

/// Any valid access token.
async fn hello(Authenticated(claims): Authenticated<AccessClaims>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "hello": claims.sub, "scope": claims.scope }))
}

/// Only tokens with the `read` scope.
async fn reports(
    Authenticated(claims): Authenticated<AccessClaims>,
) -> Result<HttpResponse, Rejection> {
    claims.require_scope("read")?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "reports": [] })))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let issuer = env("TESSERA_ISSUER", "http://127.0.0.1:8080");
    let http = Arc::new(ReqwestClient::default());
    let mut builder =
        Verifier::builder(&issuer, env("AUDIENCE", "tessera")).http_client(http.clone());
    if let (Ok(id), Ok(secret)) = (
        std::env::var("FEED_CLIENT_ID"),
        std::env::var("FEED_CLIENT_SECRET"),
    ) {
        let follower = Arc::new(RevocationFollower::new(&issuer, &id, &secret, http));
        follower.spawn(Duration::from_secs(5));
        builder = builder.revocations(follower);
    }
    let verifier = web::Data::new(builder.build().expect("valid verifier settings"));
    let bind = env("BIND", "127.0.0.1:8081");
    println!("downstream service on http://{bind} trusting {issuer}");
    HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .route("/hello", web::get().to(hello))
            .route("/reports", web::get().to(reports))
    })
    .bind(bind)?
    .run()
    .await
}
