//! Command-line definitions.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The oidc-provider folder in this source tree, used when `--peer-oidc-provider` is not given.
const PEER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/peer");

/// Load benchmarks of devauthd on loopback: a bare axum baseline, devauthd on SQLite (and
/// PostgreSQL with --postgres) and panva's oidc-provider, measured by one load generator in one
/// run, printed as one Markdown table.
#[derive(Debug, Parser)]
#[command(name = "devauth-bench", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,

    #[command(flatten)]
    pub(crate) run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the baseline handler (started by the benchmark itself in a separate process).
    #[command(hide = true)]
    BaselineServer {
        /// Address to listen on.
        #[arg(long)]
        listen: SocketAddr,
    },
}

/// Settings of a benchmark run.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Measured seconds per scenario.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub(crate) duration: f64,

    /// Warm-up seconds per scenario, run before the measured window and not counted.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub(crate) warmup: f64,

    /// Connections, one load worker each.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub(crate) concurrency: usize,

    /// Pending grants stored besides the poll pool, one pending-poll scenario per count, in
    /// rising order.
    #[arg(
        long,
        value_name = "N,N,...",
        value_delimiter = ',',
        default_value = "0,10000,100000"
    )]
    pub(crate) pending_counts: Vec<u64>,

    /// Device codes the pending-poll scenarios cycle through. Each code is polled at most once
    /// per second (the benchmark client's interval), so the pool caps the poll rate.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    pub(crate) poll_pool: u64,

    /// Run every scenario briefly with small counts and exit non-zero unless each one
    /// completed requests without errors. Sets --duration 0.3, --warmup 0.1,
    /// --concurrency 8, --pending-counts 0,100, --poll-pool 3000 and --token-runs 10.
    #[arg(long)]
    pub(crate) smoke: bool,

    /// Folder of the oidc-provider peer (package.json and server.js, with `npm ci` run in it).
    #[arg(long, value_name = "DIR", default_value = PEER_DIR)]
    pub(crate) peer_oidc_provider: PathBuf,

    /// Leave out the oidc-provider peer.
    #[arg(long)]
    pub(crate) no_peer: bool,

    /// Leave out devauthd (on every backend), to measure only the baseline and the peer.
    #[arg(long)]
    pub(crate) no_devauthd: bool,

    /// Also measure devauthd on PostgreSQL: a URL of a server and a database to connect to
    /// for creating and dropping a fresh database for the run
    /// (e.g. postgres://postgres@127.0.0.1:5432/postgres).
    #[arg(long, value_name = "URL")]
    pub(crate) postgres: Option<String>,

    /// Folder holding the release devauthd and devauth binaries (default: this program's
    /// folder).
    #[arg(long, value_name = "DIR")]
    pub(crate) bin_dir: Option<PathBuf>,

    /// Threads of the load generator's runtime. One leaves the other core to the server on a
    /// 2-core machine.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) client_threads: usize,

    /// RUST_LOG for devauthd. `info`, its default, logs one line per device authorization.
    #[arg(long, value_name = "FILTER", default_value = "info")]
    pub(crate) server_log: String,

    /// Runs of `devauth token` (and of `true`) to time.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub(crate) token_runs: usize,

    /// Also write the report to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

impl RunArgs {
    /// Applies `--smoke`'s small settings.
    pub(crate) fn resolve(mut self) -> Self {
        if self.smoke {
            self.duration = 0.3;
            self.warmup = 0.1;
            self.concurrency = 8;
            self.pending_counts = vec![0, 100];
            self.poll_pool = 3000;
            self.token_runs = 10;
        }
        self.pending_counts.sort_unstable();
        self.pending_counts.dedup();
        self
    }
}
