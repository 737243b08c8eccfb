//! HTTP: the only module that imports actix-web. Handlers are thin: they extract plain values
//! and call one `oauth::` function.

pub mod admin;
pub mod authorize;
pub mod body;
pub mod client_auth;
pub mod discovery;
pub mod drf;
pub mod errors;
pub mod feed;
pub mod health;
pub mod introspect;
pub mod middleware;
pub mod pages;
pub mod revoke;
pub mod token;
pub mod userinfo;

/// Shared state of every handler.
pub type State = actix_web::web::Data<crate::oauth::Provider>;

/// The query string as a map; a repeated name keeps its first value.
pub fn query_params(req: &actix_web::HttpRequest) -> std::collections::HashMap<String, String> {
    let mut map = std::collections::HashMap::new();
    for (k, v) in form_urlencoded::parse(req.query_string().as_bytes()) {
        map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    map
}
