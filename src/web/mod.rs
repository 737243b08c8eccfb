//! HTTP: the only module that imports actix-web. Handlers are thin: they extract plain values
//! and call one `oauth::` function.

pub mod body;
pub mod discovery;
pub mod errors;
pub mod health;
pub mod middleware;
pub mod token;

/// Shared state of every handler.
pub type State = actix_web::web::Data<crate::oauth::Provider>;
