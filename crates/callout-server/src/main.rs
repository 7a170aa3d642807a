//! `callout`: the server and its administration commands.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

use callout_server::cli::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_logging(cli.log_format);
    match cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("callout: {error:#}");
            ExitCode::FAILURE
        }
    }
}
