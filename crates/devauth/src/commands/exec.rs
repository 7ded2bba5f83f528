//! `devauth exec`: run a command with a valid access token in its environment.

use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;

use crate::cli::ExecArgs;
use crate::commands::token::valid_tokens;
#[cfg(not(unix))]
use crate::exit_code;

/// Runs the command and returns its exit code. On Unix the command replaces this process, so
/// signals reach it directly and its exit status is the caller's.
pub(crate) async fn run(args: ExecArgs) -> anyhow::Result<u8> {
    let tokens = valid_tokens(&args.target, Duration::from_secs(args.min_ttl)).await?;
    let Some((program, program_args)) = args.command.split_first() else {
        anyhow::bail!("no command given; put it after `--`");
    };
    let mut command = Command::new(program);
    command
        .args(program_args)
        .env(&args.variable, tokens.access_token.expose());

    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // `exec` returns only when the command could not start.
        let error = command.exec();
        Err(error).with_context(|| format!("cannot run {}", program.to_string_lossy()))
    }
    #[cfg(not(unix))]
    {
        let status = command
            .status()
            .with_context(|| format!("cannot run {}", program.to_string_lossy()))?;
        Ok(status
            .code()
            .and_then(|code| u8::try_from(code).ok())
            .unwrap_or(exit_code::FAILURE))
    }
}
