//! Command-line definitions: what the user can type, before any of it is resolved.

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit_code;

/// The server used when neither `--server` nor `DEVAUTH_SERVER` is given: devauthd's default
/// listen address.
pub(crate) const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";
/// The client id of the devauth CLI, which devauthd creates on its first run.
pub(crate) const DEFAULT_CLIENT_ID: &str = "devauth";
/// The scope requested by default; `offline_access` requests a refresh token.
pub(crate) const DEFAULT_SCOPE: &str = "profile offline_access";

/// Sign in from the terminal with the OAuth 2.0 Device Authorization Grant (RFC 8628).
///
/// Codes, links and progress go to stderr; stdout carries only machine output: the token of
/// `devauth token` and the JSON lines of `--json`.
#[derive(Debug, Parser)]
#[command(name = "devauth", version, after_long_help = exit_code::HELP)]
pub(crate) struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Log in: show a code to enter in a browser, wait for approval and store the tokens.
    Login(LoginArgs),
    /// Print a valid access token to stdout, refreshing it first when it expires soon.
    Token(TokenArgs),
    /// Run a command with a valid access token in an environment variable.
    Exec(ExecArgs),
    /// Show the server, the user, the scopes and the token's expiry (the token is masked).
    Status(StatusArgs),
    /// Revoke the refresh token on the server, then delete the stored tokens.
    Logout(LogoutArgs),
}

/// The stored login a command works on.
#[derive(Debug, Clone, Args)]
pub(crate) struct Target {
    /// The authorization server's base URL (its issuer).
    #[arg(long, env = "DEVAUTH_SERVER", default_value = DEFAULT_SERVER, value_name = "URL")]
    pub(crate) server: String,

    /// The OAuth client id.
    #[arg(long, env = "DEVAUTH_CLIENT_ID", default_value = DEFAULT_CLIENT_ID, value_name = "ID")]
    pub(crate) client_id: String,

    /// A name for the login, to keep several accounts side by side. Without it, each server
    /// and client id pair has one login.
    #[arg(long, env = "DEVAUTH_PROFILE", value_name = "NAME")]
    pub(crate) profile: Option<String>,

    /// Where the tokens are kept: the OS keyring, the token file, or `auto` (the keyring when
    /// it responds within 3 seconds, else the file, with a warning).
    #[arg(long, env = "DEVAUTH_STORE", value_enum, default_value_t = StoreChoice::Auto)]
    pub(crate) store: StoreChoice,
}

/// The `--store` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StoreChoice {
    /// The OS keyring when it responds, else the token file with a warning.
    Auto,
    /// The OS keyring; fail when it does not respond.
    Keyring,
    /// The token file, readable only by its owner.
    File,
}

/// Arguments of `devauth login`: without a subcommand, start and wait in one process.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct LoginArgs {
    /// `start` or `wait`, for agents and scripts that cannot block.
    #[command(subcommand)]
    pub(crate) step: Option<LoginStep>,

    /// The options of a login in one process.
    #[command(flatten)]
    pub(crate) start: StartArgs,
}

/// The two halves of a login, run by separate processes.
#[derive(Debug, Subcommand)]
pub(crate) enum LoginStep {
    /// Request a code, print it, keep the pending login in the store and exit 0.
    Start(StartArgs),
    /// Resume polling for the login that `login start` began, from any process.
    Wait(WaitArgs),
}

/// Arguments that start a login.
#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    /// The server and client to log in to.
    #[command(flatten)]
    pub(crate) target: Target,

    /// The space-separated scopes to request.
    #[arg(long, default_value = DEFAULT_SCOPE, value_name = "SCOPES")]
    pub(crate) scope: String,

    /// Print one JSON line with the code and links when they are known, and one with the
    /// outcome. Tokens never appear in it.
    #[arg(long)]
    pub(crate) json: bool,

    /// Put the code on the clipboard with the OSC 52 terminal sequence (works over SSH and in
    /// tmux when the terminal emulator allows it).
    #[arg(long)]
    pub(crate) copy: bool,

    /// Open the verification page in the browser. Only an http or https URL on the server's
    /// own origin is opened.
    #[arg(long)]
    pub(crate) open: bool,
}

/// Arguments of `devauth login wait`.
#[derive(Debug, Args)]
pub(crate) struct WaitArgs {
    /// The login to wait for.
    #[command(flatten)]
    pub(crate) target: Target,

    /// Give up after this many seconds, exiting 5 with the login still pending.
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<u64>,

    /// Print the outcome as one JSON line.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Arguments of `devauth token`.
#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// The login to use.
    #[command(flatten)]
    pub(crate) target: Target,

    /// Refresh first unless the token stays valid for at least this many seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub(crate) min_ttl: u64,
}

/// Arguments of `devauth exec`.
#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// The login to use.
    #[command(flatten)]
    pub(crate) target: Target,

    /// The environment variable that receives the access token.
    #[arg(long = "env", default_value = "DEVAUTH_TOKEN", value_name = "NAME")]
    pub(crate) variable: String,

    /// Refresh first unless the token stays valid for at least this many seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub(crate) min_ttl: u64,

    /// The command and its arguments, after `--`.
    #[arg(required = true, last = true, value_name = "COMMAND")]
    pub(crate) command: Vec<std::ffi::OsString>,
}

/// Arguments of `devauth status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The login to show.
    #[command(flatten)]
    pub(crate) target: Target,

    /// Print one JSON object instead of text. Tokens never appear in it.
    #[arg(long)]
    pub(crate) json: bool,

    /// Ask the server whether it accepts the access token (userinfo endpoint); exit 1 if not.
    #[arg(long)]
    pub(crate) verify: bool,
}

/// Arguments of `devauth logout`.
#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {
    /// The login to end.
    #[command(flatten)]
    pub(crate) target: Target,

    /// End every stored login, not only the one named by `--server`, `--client-id` or
    /// `--profile`.
    #[arg(long)]
    pub(crate) all: bool,
}
