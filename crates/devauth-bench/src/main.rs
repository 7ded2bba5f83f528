//! `devauth-bench`: load benchmarks of devauthd against a bare axum handler (the practical
//! limit of an HTTP endpoint on the machine) and panva's oidc-provider, all on loopback, in one
//! run. It starts every server itself, each in its own process, runs each scenario with a fixed
//! number of keep-alive connections for a fixed time after a warm-up, and prints one Markdown
//! table: rate, ratio to the baseline, p50 and p99 latency, errors, server RSS and CPU use.
//!
//! ```sh
//! cargo build --release -p devauthd -p devauth-bench
//! (cd crates/devauth-bench/peer && npm ci)   # optional: the oidc-provider peer
//! target/release/devauth-bench
//! ```

mod baseline;
mod cli;
mod cli_token;
mod cpu;
mod devauthd;
mod http;
mod load;
mod machine;
mod page;
mod peer;
mod process;
mod report;
mod scenarios;
mod suite;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::BaselineServer { listen }) => serve_baseline(listen),
        None => run_benchmark(cli.run.resolve()),
    }
}

fn serve_baseline(listen: std::net::SocketAddr) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(baseline::serve(listen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_benchmark(args: cli::RunArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let report = match runtime.block_on(suite::run(&args)) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };

    let text = report.render();
    println!("{text}");
    if let Some(path) = &args.output {
        if let Err(error) = std::fs::write(path, &text) {
            eprintln!(
                "error: cannot write the report to {}: {error}",
                path.display()
            );
            return ExitCode::FAILURE;
        }
    }

    if args.smoke {
        let failures = report.smoke_failures();
        for failure in &failures {
            eprintln!("smoke check failed: {failure}");
        }
        // A plain closing line that CI logs can count.
        println!(
            "smoke: {} passed, {} failed",
            report.rows.len() - failures.len(),
            failures.len()
        );
        if !failures.is_empty() {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
