//! `devauth`: log in from the terminal with the OAuth 2.0 Device Authorization Grant, and hand
//! valid access tokens to scripts.

mod cli;
mod commands;
mod context;
mod exit_code;
mod output;
mod terminal;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    // Parse errors exit with the documented usage code; `--help` and `--version` exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                exit_code::USAGE
            } else {
                exit_code::SUCCESS
            };
            // Printing can fail only when the terminal is gone; the exit code still reports the outcome.
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    init_logging();

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("devauth: error: cannot start the async runtime: {error}");
            return ExitCode::from(exit_code::FAILURE);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Login(args) => commands::login::run(args).await,
            Command::Token(args) => commands::token::run(args).await,
            Command::Exec(args) => commands::exec::run(args).await,
            Command::Status(args) => commands::status::run(args).await,
            Command::Logout(args) => commands::logout::run(args).await,
        }
    });

    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("devauth: error: {error:#}");
            ExitCode::from(exit_code_for(&error))
        }
    }
}

/// Picks the exit code of a failed command from the client error inside it, if any.
fn exit_code_for(error: &anyhow::Error) -> u8 {
    let client_error = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<devauth_client::Error>());
    match client_error {
        Some(devauth_client::Error::AccessDenied) => exit_code::DENIED,
        Some(devauth_client::Error::ExpiredToken) => exit_code::EXPIRED,
        Some(devauth_client::Error::TimedOut(_)) => exit_code::PENDING,
        Some(devauth_client::Error::Cancelled) => exit_code::INTERRUPTED,
        _ => exit_code::FAILURE,
    }
}

/// Sends `tracing` events to stderr, filtered by `DEVAUTH_LOG` (for example `debug`); warnings
/// only by default.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DEVAUTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
