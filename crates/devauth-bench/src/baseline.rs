//! The baseline: a bare axum handler that returns a small JSON body, served by this same
//! binary in a separate process (`devauth-bench baseline-server`) so that its RSS and CPU are
//! its own, on a multi-threaded runtime as devauthd uses. It is the practical limit of an HTTP
//! endpoint on this machine, and every other rate is reported as a ratio to it.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use axum::routing::get;
use axum::{Json, Router};
use tokio::process::Command;

use crate::http::Connection;
use crate::load::Worker;
use crate::process::{self, ServerProcess};

/// The path that the baseline server serves.
pub(crate) const PATH: &str = "/json";

/// Serves the baseline handler on `listen` until SIGTERM or Ctrl-C.
pub(crate) async fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let app = Router::new().route(
        PATH,
        get(|| async { Json(serde_json::json!({ "status": "ok" })) }),
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// Starts the baseline server as a child process of this binary.
pub(crate) async fn start(dir: &Path) -> anyhow::Result<ServerProcess> {
    let exe = std::env::current_exe().context("cannot find this program's own path")?;
    let addr = process::free_loopback_addr()?;
    let mut command = Command::new(exe);
    command
        .arg("baseline-server")
        .arg("--listen")
        .arg(addr.to_string());
    ServerProcess::start(
        "the baseline server",
        command,
        addr,
        &dir.join("baseline.log"),
        PATH,
    )
    .await
}

/// Sends `GET /json` and expects 200.
pub(crate) struct BaselineWorker {
    connection: Connection,
}

impl BaselineWorker {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            connection: Connection::new(addr),
        }
    }
}

impl Worker for BaselineWorker {
    async fn step(&mut self) -> anyhow::Result<Duration> {
        let started = tokio::time::Instant::now();
        let response = self.connection.get(PATH, &[]).await?;
        let latency = started.elapsed();
        response.expect_status(hyper::StatusCode::OK)?;
        Ok(latency)
    }
}
