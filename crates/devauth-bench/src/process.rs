//! Servers under test as child processes: start on a loopback port, wait until they respond,
//! read their RSS, and stop them by PID.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::http::Connection;

/// Maximum time for a server to respond to its first request.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Returns a loopback address with a port that was free a moment ago.
pub(crate) fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("cannot bind a loopback port to find a free one")?;
    Ok(listener.local_addr()?)
}

/// Returns the resident set size of process `pid` in bytes, from `/proc/PID/status`.
pub(crate) fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A server process started by the harness. Dropping it kills the process.
pub(crate) struct ServerProcess {
    name: String,
    child: Child,
    pid: u32,
    /// The address it listens on.
    pub(crate) addr: SocketAddr,
    /// The file that receives its stdout and stderr.
    pub(crate) log: PathBuf,
}

impl ServerProcess {
    /// Starts `command` with its output sent to `log`, then waits until `GET ready_path` on
    /// `addr` responds with a success status.
    pub(crate) async fn start(
        name: &str,
        mut command: Command,
        addr: SocketAddr,
        log: &Path,
        ready_path: &str,
    ) -> anyhow::Result<Self> {
        let out = std::fs::File::create(log)
            .with_context(|| format!("cannot create log file {}", log.display()))?;
        let err = out.try_clone()?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let pid = child
            .id()
            .with_context(|| format!("{name} exited at once"))?;
        let mut server = Self {
            name: name.to_owned(),
            child,
            pid,
            addr,
            log: log.to_owned(),
        };
        server.wait_ready(ready_path).await?;
        Ok(server)
    }

    async fn wait_ready(&mut self, path: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut connection = Connection::new(self.addr);
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "{} exited with {status} before it responded; see {}",
                    self.name,
                    self.log.display()
                );
            }
            if let Ok(response) = connection.get(path, &[]).await {
                if response.status.is_success() {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "{} did not respond to GET {path} on {} within {} s; see {}",
                    self.name,
                    self.addr,
                    START_TIMEOUT.as_secs(),
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Returns the process id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Returns the current resident set size in bytes.
    pub(crate) fn rss(&self) -> Option<u64> {
        rss_bytes(self.pid)
    }

    /// Sends SIGTERM to this process (by its PID), waits for it to exit, and kills it when it
    /// does not.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        if self.child.try_wait()?.is_some() {
            return Ok(());
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status()
            .await;
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => {
                eprintln!(
                    "{} (pid {}) did not stop within {} s of SIGTERM; killing it",
                    self.name,
                    self.pid,
                    STOP_TIMEOUT.as_secs()
                );
                self.child.kill().await?;
            }
        }
        Ok(())
    }
}
