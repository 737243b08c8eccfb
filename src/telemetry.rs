//! Structured logs with `tracing`. Secrets never reach a log line: passwords and tokens are
//! never given to a log macro, and their types redact `Debug`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `filter` is `TESSERA_LOG`. JSON lines when
/// `TESSERA_LOG_FORMAT=json`.
pub fn init(filter: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter).map_err(|e| anyhow::anyhow!("TESSERA_LOG: {e}"))?;
    let json = std::env::var("TESSERA_LOG_FORMAT").is_ok_and(|v| v == "json");
    // Colours only for a person at a terminal, never into a log file or collector.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let result = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    result.map_err(|e| anyhow::anyhow!("logging: {e}"))
}
