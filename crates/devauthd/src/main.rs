//! `devauthd`: the devauth authorization server and its admin commands.

mod admin;
mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use devauth_server::{Config, ConfigLayer};

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = resolve_config(&cli)?;
    match cli.command {
        Command::Serve(_) => serve(config).await,
        Command::Migrate => {
            devauth_server::store::connect(&config.database_url).await?;
            eprintln!(
                "database {} is up to date",
                redact_url(&config.database_url)
            );
            Ok(())
        }
        Command::User(command) => admin::user(&config, command).await,
        Command::Client(command) => admin::client(&config, command).await,
        Command::Audit(args) => admin::audit(&config, args).await,
    }
}

/// Layers the config file, the environment and the flags, in rising precedence.
fn resolve_config(cli: &Cli) -> anyhow::Result<Config> {
    let file = match &cli.config {
        Some(path) => ConfigLayer::from_file(path)?,
        None => ConfigLayer::default(),
    };
    let mut flags = ConfigLayer {
        database_url: cli.database.clone(),
        ..ConfigLayer::default()
    };
    if let Command::Serve(serve) = &cli.command {
        flags.listen = serve.listen;
        flags.issuer = serve.issuer.clone();
    }
    Config::resolve(
        file.overridden_by(ConfigLayer::from_env()?)
            .overridden_by(flags),
    )
}

/// How long SIGTERM waits for in-flight requests before the process exits anyway, so a client
/// that never finishes its request cannot hold a shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

async fn serve(config: Config) -> anyhow::Result<()> {
    init_tracing();

    // Bind first, so a taken port fails before anything is written to the database.
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on {}: {error}", config.listen))?;
    let local_addr = listener.local_addr()?;

    let store = devauth_server::store::connect(&config.database_url).await?;
    if devauth_server::admin::ensure_default_client(store.as_ref()).await? {
        tracing::info!(
            client_id = devauth_server::admin::DEFAULT_CLIENT_ID,
            "created the default public client"
        );
    }
    if store.users().await?.is_empty() {
        eprintln!(
            "No accounts yet. Add the first one with:\n  devauthd --database {} user add NAME",
            redact_url(&config.database_url)
        );
    }

    tracing::info!(listen = %local_addr, issuer = %config.issuer, database = %redact_url(&config.database_url), "devauthd started");
    if config.issuer_is_insecure() {
        tracing::warn!(issuer = %config.issuer, "the issuer is plain http on a non-loopback host; use https outside development");
    }

    let app = devauth_server::App::new(store, config);
    let sweeper = tokio::spawn(devauth_server::sweeper::run(app.clone()));
    let (draining, drain_started) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown_signal().await;
        let _ = draining.send(());
    };
    let server = devauth_server::serve(listener, app, shutdown);
    let drain_deadline = async move {
        match drain_started.await {
            Ok(()) => tokio::time::sleep(DRAIN_TIMEOUT).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        result = server => result?,
        () = drain_deadline => {
            tracing::warn!(timeout_secs = DRAIN_TIMEOUT.as_secs(), "in-flight requests did not finish in time; stopping anyway");
        }
    }
    sweeper.abort();
    tracing::info!("devauthd stopped");
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C; the server then drains in-flight requests.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Hides a password in a database URL before it is printed.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
