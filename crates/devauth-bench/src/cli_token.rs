//! `devauth token` with a cached token, timed as whole process runs beside `true`, the cost of
//! starting any process at all. The login it needs is made with `devauth login --json` and
//! approved on the page, in a token store in a temporary folder (`DEVAUTH_HOME`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::devauthd::{Devauthd, BENCH_CLIENT, BENCH_PASSWORD, BENCH_USER, SCOPE};
use crate::page::PageSession;

/// How long the login may take, approval included.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Timings of one command, each run a separate process.
pub(crate) struct Runs {
    /// Wall time of each run in microseconds, sorted.
    pub(crate) latencies_us: Vec<u32>,
    /// Total wall time of all runs.
    pub(crate) total: Duration,
}

/// `devauth token` and `true`, timed alternately.
pub(crate) struct TokenTimings {
    pub(crate) devauth_token: Runs,
    pub(crate) true_command: Runs,
}

/// Logs in with the `devauth` binary at `exe` against `server`, then times `runs` runs of
/// `devauth token` and of `true`.
pub(crate) async fn measure(
    exe: &Path,
    server: &Devauthd,
    home: &Path,
    runs: usize,
) -> anyhow::Result<TokenTimings> {
    std::fs::create_dir_all(home)?;
    login(exe, server, home).await?;

    let token_args: Vec<String> = [
        "token",
        "--server",
        &server.issuer,
        "--client-id",
        BENCH_CLIENT,
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .collect();
    let printed = run_once(exe, &token_args, home)?;
    if !printed.starts_with("dva_") {
        anyhow::bail!("devauth token printed no access token: {printed:?}");
    }

    let exe = exe.to_owned();
    let home = home.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut token = Vec::with_capacity(runs);
        let mut truth = Vec::with_capacity(runs);
        // Alternate the two commands so that both see the same background noise.
        for _ in 0..runs {
            token.push(time_run(&exe, &token_args, &home)?);
            truth.push(time_run(Path::new("true"), &[], &home)?);
        }
        Ok(TokenTimings {
            devauth_token: summarize(token),
            true_command: summarize(truth),
        })
    })
    .await?
}

fn summarize(durations: Vec<Duration>) -> Runs {
    let total = durations.iter().sum();
    let mut latencies_us: Vec<u32> = durations
        .iter()
        .map(|duration| u32::try_from(duration.as_micros()).unwrap_or(u32::MAX))
        .collect();
    latencies_us.sort_unstable();
    Runs {
        latencies_us,
        total,
    }
}

fn time_run(exe: &Path, args: &[String], home: &Path) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let status = Command::new(exe)
        .args(args)
        .env("DEVAUTH_HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    let elapsed = started.elapsed();
    if !status.success() {
        anyhow::bail!("{} {} failed with {status}", exe.display(), args.join(" "));
    }
    Ok(elapsed)
}

fn run_once(exe: &Path, args: &[String], home: &Path) -> anyhow::Result<String> {
    let output = Command::new(exe)
        .args(args)
        .env("DEVAUTH_HOME", home)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    if !output.status.success() {
        anyhow::bail!(
            "devauth {} failed with {}: {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Runs `devauth login --json`, approves its code on the page, and waits for it to finish.
async fn login(exe: &Path, server: &Devauthd, home: &Path) -> anyhow::Result<()> {
    let mut child = tokio::process::Command::new(exe)
        .args([
            "login",
            "--server",
            &server.issuer,
            "--client-id",
            BENCH_CLIENT,
            "--scope",
            SCOPE,
            "--json",
        ])
        .env("DEVAUTH_HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    let stdout = child
        .stdout
        .take()
        .context("no stdout from devauth login")?;

    let approve_and_wait = async {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next_line()
            .await?
            .context("devauth login printed no code")?;
        let json: serde_json::Value = serde_json::from_str(&first)
            .with_context(|| format!("devauth login printed no JSON line: {first:?}"))?;
        let user_code = json
            .get("user_code")
            .and_then(|value| value.as_str())
            .context("devauth login's JSON line has no user_code")?;
        let mut page = PageSession::sign_in(
            server.server.addr,
            &server.issuer,
            BENCH_USER,
            BENCH_PASSWORD,
        )
        .await?;
        let scopes: Vec<&str> = SCOPE.split(' ').collect();
        page.approve(user_code, &scopes).await?;
        // Drain the rest of the output so the child never blocks on a full pipe.
        while lines.next_line().await?.is_some() {}
        let status = child.wait().await?;
        if !status.success() {
            anyhow::bail!("devauth login failed with {status}");
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(LOGIN_TIMEOUT, approve_and_wait)
        .await
        .with_context(|| {
            format!(
                "devauth login did not finish within {} s",
                LOGIN_TIMEOUT.as_secs()
            )
        })?
}
