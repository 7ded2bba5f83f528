//! Helpers for the tests that run the `devauth` binary against real authorization servers
//! (devauthd, oidc-provider) started as child processes on loopback ports.
//!
//! Every child is owned by a guard that kills it by its process id when dropped, so a failing
//! test leaves no server behind. Every wait is bounded.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

/// How long one `devauth` command may run before the test fails.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a server may take to respond to its readiness check after it was started.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Returns the folder of the binaries of this build (`target/debug` in a plain build).
pub fn binary_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_devauth"))
        .parent()
        .expect("the devauth binary has a parent folder")
        .to_owned()
}

/// Returns the path of the devauthd binary of this build, or fails with the command that builds
/// it: Cargo builds only the binaries of the package under test.
pub fn devauthd_binary() -> PathBuf {
    let path = binary_dir().join(format!("devauthd{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build -p devauthd` first, or run the tests with \
         `cargo test --workspace`, which builds it",
        path.display()
    );
    path
}

/// Returns a loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// A server started by a test, killed by process id when dropped. Its stdout and stderr go to
/// `log`, which is printed when the test panics.
pub struct ServerProcess {
    child: Child,
    name: String,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts `command` with its output in `log`.
    pub fn spawn(name: &str, mut command: std::process::Command, log: PathBuf) -> Self {
        let out = std::fs::File::create(&log).expect("create the server log");
        let err = out.try_clone().expect("clone the server log handle");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {name}: {error}"));
        Self {
            child,
            name: name.to_owned(),
            log,
        }
    }

    /// Returns the process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Returns what the server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `GET url` returns 200, failing the test with the server's log after
    /// [`STARTUP_TIMEOUT`] or when the server exits.
    pub async fn wait_until_ready(&mut self, url: &str) {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("HTTP client");
        let started = Instant::now();
        while started.elapsed() < STARTUP_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited with {status}:\n{}", self.name, self.log());
            }
            if let Ok(response) = http.get(url).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{} did not return 200 for {url} within {STARTUP_TIMEOUT:?}:\n{}",
            self.name,
            self.log()
        );
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // `Child::kill` signals this child's own process id, nothing else.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- log of {} ---\n{}", self.name, self.log());
        }
    }
}

/// The `devauth` binary with its token store in a temporary `DEVAUTH_HOME` and the file backend,
/// talking to one server.
pub struct Cli {
    pub home: tempfile::TempDir,
    pub server: String,
}

impl Cli {
    pub fn new(server: &str) -> Self {
        Self {
            home: tempfile::tempdir().expect("temporary folder"),
            server: server.to_owned(),
        }
    }

    /// Builds the command with a clean environment for devauth's own variables.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_devauth"));
        command
            .args(args)
            .env("DEVAUTH_HOME", self.home.path())
            .env("DEVAUTH_SERVER", &self.server)
            .env("DEVAUTH_STORE", "file")
            .env_remove("DEVAUTH_CLIENT_ID")
            .env_remove("DEVAUTH_PROFILE")
            .env_remove("DEVAUTH_LOG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Runs `devauth ARGS` to completion, failing the test after [`COMMAND_TIMEOUT`].
    pub async fn run(&self, args: &[&str]) -> Output {
        let output = self.command(args).output();
        tokio::time::timeout(COMMAND_TIMEOUT, output)
            .await
            .unwrap_or_else(|_| panic!("devauth {args:?} did not finish in {COMMAND_TIMEOUT:?}"))
            .expect("the devauth binary runs")
    }

    /// Runs `devauth ARGS`, asserts exit code 0 and returns stdout.
    pub async fn run_ok(&self, args: &[&str]) -> String {
        let output = self.run(args).await;
        assert_eq!(
            output.status.code(),
            Some(0),
            "devauth {args:?} failed; stderr: {}",
            stderr(&output)
        );
        stdout(&output)
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Parses every stdout line as JSON.
pub fn json_lines(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each stdout line is JSON"))
        .collect()
}

/// A `devauth` process running in the background, such as a blocking `devauth login --json`.
pub struct BackgroundCli {
    child: tokio::process::Child,
    stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl BackgroundCli {
    /// Starts `devauth ARGS` with stdout piped and stderr inherited.
    pub fn spawn(cli: &Cli, args: &[&str]) -> Self {
        let mut child = cli
            .command(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start devauth in the background");
        let stdout = child.stdout.take().expect("piped stdout");
        Self {
            child,
            stdout: BufReader::new(stdout).lines(),
        }
    }

    /// Reads the next stdout line as JSON, failing after [`COMMAND_TIMEOUT`].
    pub async fn next_json_line(&mut self) -> Value {
        let line = tokio::time::timeout(COMMAND_TIMEOUT, self.stdout.next_line())
            .await
            .expect("devauth printed a line in time")
            .expect("read devauth's stdout")
            .expect("devauth printed a line before it exited");
        serde_json::from_str(&line).unwrap_or_else(|error| panic!("{line:?} is not JSON: {error}"))
    }

    /// Waits for the process to exit and returns its exit code.
    pub async fn exit_code(mut self) -> Option<i32> {
        tokio::time::timeout(COMMAND_TIMEOUT, self.child.wait())
            .await
            .expect("devauth exited in time")
            .expect("wait for devauth")
            .code()
    }
}

/// Sends `GET url` with a bearer token and returns the status and the JSON body (null when the
/// body is not JSON).
pub async fn get_with_bearer(url: &str, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("send the request");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}
