use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    tessera::tune_allocator();
    let cli = tessera::cli::Cli::parse();
    match tessera::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera: {e:#}");
            ExitCode::FAILURE
        }
    }
}
