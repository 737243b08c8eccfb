//! Tessera: a standalone OAuth 2.0 / OpenID Connect identity provider.
//!
//! Dependencies point one way: `web → oauth → {domain, store}`, `store → domain`.

pub mod cli;
pub mod config;
pub mod domain;
pub mod metrics;
pub mod oauth;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;

/// Keeps glibc from holding on to argon2's 19 MiB blocks: with the default dynamic mmap
/// threshold, freed blocks stay in per-thread arenas and the process grows to ~150 MiB after
/// a burst of logins. A fixed threshold returns them to the OS at once.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called once at start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
