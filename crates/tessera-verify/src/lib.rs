//! Offline verification of [Tessera](https://github.com) access tokens for downstream services.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tessera_verify::Error> {
//! use tessera_verify::{AccessClaims, Verifier};
//!
//! let verifier = Verifier::builder("https://id.example.com", "orders-api").build()?;
//! let claims: AccessClaims = verifier.verify("eyJ…").await?;
//! claims.require_scope("orders:read")?;
//! # Ok(()) }
//! ```
//!
//! - RS256 is pinned: the algorithm is never taken from the token's header.
//! - `typ: at+jwt` and `token_type: "access"` are required, so refresh tokens never pass.
//! - `iss`, `aud`, `exp`, `nbf` and `iat` are checked, with a configurable leeway.
//! - The JWKS is cached per `Cache-Control: max-age` within bounds, revalidated with `ETag`,
//!   refetched at most once per cooldown for an unknown `kid`, with concurrent requests sharing
//!   one fetch; when Tessera is unreachable the cached keys keep verifying for a bounded time.
//!   In steady state a verification makes no network call.
//! - An optional [`RevocationFollower`] polls Tessera's revocation feed, so a revoked
//!   session's tokens are refused within one poll interval instead of at expiry.
//! - [`Introspector`] checks opaque `Token` keys (RFC 7662) with a short cache.

mod claims;
mod error;
pub mod http;
mod introspection;
mod jwks;
mod revocation;
mod verifier;

#[cfg(feature = "actix")]
pub mod actix;

pub use claims::AccessClaims;
pub use error::Error;
pub use introspection::{Introspection, Introspector};
pub use revocation::RevocationFollower;
pub use verifier::{Verifier, VerifierBuilder};
