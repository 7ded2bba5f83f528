//! Command-line definitions.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The devauth authorization server: device login (RFC 8628) for command-line tools.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub(crate) struct Cli {
    /// TOML config file; its keys are overridden by DEVAUTH_* variables, which flags override.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// Database URL: sqlite://PATH (default sqlite://devauth.db) or postgres://...
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) database: Option<String>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage accounts that can approve devices.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage registered clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// List security events: sign-ins, wrong codes, limits hit, approvals, tokens, revocations.
    Audit(AuditArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// Show events since this long ago (90s, 30m, 2h, 7d) or since an RFC 3339 time.
    #[arg(long, value_name = "WHEN", default_value = "24h")]
    pub(crate) since: String,
    /// Show at most this many events, oldest first.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) limit: i64,
    /// Print one JSON object per line.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<SocketAddr>,

    /// Public base URL that clients and browsers use (default http:// + the listen address).
    #[arg(long, value_name = "URL")]
    pub(crate) issuer: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Add an account. The password is read from standard input when it is not a terminal,
    /// else prompted for twice.
    Add {
        /// Username.
        name: String,
    },
    /// List accounts.
    List,
    /// Disable an account: no more sign-ins and no more tokens.
    Disable {
        /// Username.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Register a client. A confidential client's secret is printed once.
    Add(ClientAddArgs),
    /// List clients.
    List,
    /// Remove a client.
    Remove {
        /// Client id.
        client_id: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ClientAddArgs {
    /// Client id.
    pub(crate) client_id: String,
    /// Name shown to people on the approval page.
    #[arg(long)]
    pub(crate) name: String,
    /// Space-delimited scopes the client may request (its default scope too).
    #[arg(long)]
    pub(crate) scope: String,
    /// Give the client a secret (for servers, not for CLIs that ship to users).
    #[arg(long)]
    pub(crate) confidential: bool,
    /// Device code lifetime in seconds (default: the server's, 600).
    #[arg(long, value_name = "SECS")]
    pub(crate) device_code_lifetime: Option<u64>,
    /// Minimum polling interval in seconds (default: the server's, 5).
    #[arg(long, value_name = "SECS")]
    pub(crate) interval: Option<u64>,
    /// Access token lifetime in seconds (default: the server's, 3600).
    #[arg(long, value_name = "SECS")]
    pub(crate) access_token_lifetime: Option<u64>,
    /// Refresh token lifetime in seconds (default: the server's, 2592000).
    #[arg(long, value_name = "SECS")]
    pub(crate) refresh_token_lifetime: Option<u64>,
}
