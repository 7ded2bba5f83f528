//! Real `devauthd` processes for multi-process tests, plus the server tests' database and
//! browser helpers.

#![allow(dead_code, unused_imports, unreachable_pub, missing_docs)]

#[path = "../../../devauth-server/tests/common/mod.rs"]
pub mod common;

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

pub use common::database::TestDatabase;
pub use common::{report, Answer, Browser, DEVICE_CODE_GRANT, PASSWORD};

/// Whether the PostgreSQL-only tests must run: when asked for, and always in CI, where a
/// missing PostgreSQL must fail the run rather than skip it.
pub fn postgres_required() -> bool {
    common::database::postgres_selected() || std::env::var_os("CI").is_some()
}

pub fn devauthd(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_devauthd"));
    command
        .arg("--database")
        .arg(database_url)
        .env_remove("DEVAUTH_LISTEN")
        .env_remove("DEVAUTH_ISSUER");
    command
}

/// Runs an admin command to completion, feeding `stdin`; panics on failure.
pub async fn admin(database_url: &str, args: &[&str], stdin: &str) -> String {
    let mut child = devauthd(database_url)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn devauthd");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "devauthd {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Returns a loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `devauthd serve` process.
pub struct Replica {
    child: Option<Child>,
    pub port: u16,
    pub base: String,
}

impl Replica {
    /// Starts `devauthd serve` on `port` and waits until `/healthz` answers (at most 20 s).
    pub async fn start(database_url: &str, port: u16) -> Self {
        let child = devauthd(database_url)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn devauthd serve");
        let replica = Self {
            child: Some(child),
            port,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(response) = http.get(format!("{}/healthz", replica.base)).send().await {
                if response.status().is_success() {
                    return replica;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("devauthd on port {port} did not become healthy within 20 s");
    }

    /// Kills the process with SIGKILL and reaps it.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().expect("SIGKILL devauthd");
            let _ = child.wait().await;
        }
    }
}

/// A device's requests, with a timeout so a killed server fails a request instead of hanging.
pub fn device_http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub async fn authorize(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
) -> Result<serde_json::Value, reqwest::Error> {
    let response = http
        .post(format!("{base}/oauth/device/code"))
        .form(&[("client_id", client_id)])
        .send()
        .await?;
    response.error_for_status()?.json().await
}

pub async fn poll(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
    device_code: &str,
) -> Result<Answer, reqwest::Error> {
    let response = http
        .post(format!("{base}/oauth/device/token"))
        .form(&[
            ("grant_type", DEVICE_CODE_GRANT),
            ("device_code", device_code),
            ("client_id", client_id),
        ])
        .send()
        .await?;
    common::try_read(response).await
}

pub async fn refresh(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
    token: &str,
) -> Result<Answer, reqwest::Error> {
    let response = http
        .post(format!("{base}/oauth/device/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", client_id),
        ])
        .send()
        .await?;
    common::try_read(response).await
}
