//! The `devauth` binary against the real `devauthd` binary. Each test starts devauthd on a fresh
//! SQLite file and a free loopback port, and drives the whole login, refresh and logout. It
//! approves over HTTP as a browser does, with a cookie session, the CSRF token and an `Origin`
//! header.
//!
//! devauthd must be built first (`cargo build -p devauthd`); `cargo test --workspace` builds it.

mod peer;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use peer::{devauthd_binary, free_port, get_with_bearer, json_lines, stderr, BackgroundCli, Cli};
use serde_json::Value;

const PASSWORD: &str = "correct horse battery staple";

/// devauthd on a fresh database in a temporary folder.
struct Devauthd {
    process: peer::ServerProcess,
    base: String,
    database: String,
    _dir: tempfile::TempDir,
}

impl Devauthd {
    /// Starts devauthd, waits for `/healthz` and adds the account `alice`.
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let database = format!("sqlite://{}", dir.path().join("db").display());
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");

        let mut command = Command::new(devauthd_binary());
        command
            .args(["--database", &database, "serve", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info");
        let log = dir.path().join("devauthd.log");
        let mut process = peer::ServerProcess::spawn("devauthd", command, log);
        process.wait_until_ready(&format!("{base}/healthz")).await;

        let server = Self {
            process,
            base,
            database,
            _dir: dir,
        };
        server.admin_with_stdin(&["user", "add", "alice"], &format!("{PASSWORD}\n"));
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Runs an admin command on the same database and returns its stdout.
    fn admin(&self, args: &[&str]) -> String {
        self.admin_with_stdin(args, "")
    }

    fn admin_with_stdin(&self, args: &[&str], input: &str) -> String {
        use std::io::Write;
        let mut child = Command::new(devauthd_binary())
            .args(["--database", &self.database])
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start devauthd");
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input.as_bytes())
            .expect("write to devauthd");
        let output = child.wait_with_output().expect("devauthd admin command");
        assert!(
            output.status.success(),
            "devauthd {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Counts the `token_refreshed` events of the last hour in the audit trail.
    fn refresh_count(&self) -> usize {
        self.admin(&["audit", "--json", "--since", "1h"])
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).expect("audit line is JSON"))
            .filter(|event| event["event"] == "token_refreshed")
            .count()
    }

    /// Signs in as alice at the verification page and approves `user_code` with the scopes
    /// `profile offline_access`, as a person in a browser does.
    async fn approve(&self, user_code: &str) {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("HTTP client");
        let post = |path: &str, form: Vec<(&str, &str)>| {
            browser
                .post(self.url(path))
                .header("Origin", &self.base)
                .form(&form)
                .send()
        };

        let page = page_text(browser.get(self.url("/device")).send().await).await;
        let csrf = csrf_token(&page);
        let signed_in = post(
            "/device/sign-in",
            vec![
                ("username", "alice"),
                ("password", PASSWORD),
                ("csrf_token", &csrf),
            ],
        )
        .await;
        let page = page_text(signed_in).await;

        let csrf = csrf_token(&page);
        let confirm = page_text(
            post(
                "/device",
                vec![("csrf_token", &csrf), ("user_code", user_code)],
            )
            .await,
        )
        .await;
        assert!(
            confirm.contains("Approve this device?"),
            "no confirm screen for {user_code}: {confirm}"
        );

        let csrf = csrf_token(&confirm);
        let outcome = page_text(
            post(
                "/device/decision",
                vec![
                    ("csrf_token", &csrf),
                    ("user_code", user_code),
                    ("decision", "approve"),
                    ("scope", "profile"),
                    ("scope", "offline_access"),
                ],
            )
            .await,
        )
        .await;
        assert!(
            outcome.contains("Device approved"),
            "approval of {user_code} failed: {outcome}"
        );
    }
}

/// Returns the body of a page, failing on any status other than 200.
async fn page_text(response: reqwest::Result<reqwest::Response>) -> String {
    let response = response.expect("send the page request");
    let status = response.status();
    let text = response.text().await.expect("read the page");
    assert_eq!(status, 200, "page: {text}");
    text
}

/// Extracts the hidden `csrf_token` field of a form.
fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no csrf_token field in {html}"))
        + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_owned()
}

/// Runs `devauth login start --json` with `extra` arguments and returns the printed user code.
async fn login_start(cli: &Cli, extra: &[&str]) -> String {
    let mut args = vec!["login", "start", "--json"];
    args.extend_from_slice(extra);
    let output = cli.run(&args).await;
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1, "login start prints one JSON line");
    let pending = &lines[0];
    assert!(pending["verification_uri"].is_string(), "{pending}");
    assert!(
        pending["verification_uri_complete"].is_string(),
        "{pending}"
    );
    pending["user_code"]
        .as_str()
        .expect("user_code is a string")
        .to_owned()
}

/// Runs `devauth login wait --json` with `extra` arguments and asserts it reports success.
async fn login_wait(cli: &Cli, extra: &[&str]) {
    let mut args = vec!["login", "wait", "--json"];
    args.extend_from_slice(extra);
    let output = cli.run(&args).await;
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(json_lines(&output)[0]["status"], "authorized");
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

fn token_store_text(home: &Path) -> String {
    std::fs::read_to_string(home.join("tokens.json")).unwrap_or_default()
}

#[tokio::test]
async fn devauthd_login_token_status_logout() {
    let server = Devauthd::start().await;
    let cli = Cli::new(&server.base);

    let user_code = login_start(&cli, &[]).await;
    server.approve(&user_code).await;
    login_wait(&cli, &[]).await;

    let token = first_line(&cli.run_ok(&["token"]).await);
    assert!(token.starts_with("dva_"), "token: {token}");
    let (status, userinfo) = get_with_bearer(&server.url("/oauth/userinfo"), &token).await;
    assert_eq!(status, 200, "userinfo: {userinfo}");
    assert_eq!(userinfo["username"], "alice");
    assert_eq!(userinfo["client_id"], "devauth");

    let status_text = cli.run_ok(&["status", "--verify"]).await;
    assert!(status_text.contains("User: alice"), "status: {status_text}");
    let scopes_line = status_text
        .lines()
        .find(|line| line.starts_with("Scopes: "))
        .unwrap_or_else(|| panic!("no Scopes line in {status_text}"));
    let mut scopes: Vec<&str> = scopes_line["Scopes: ".len()..].split(' ').collect();
    scopes.sort_unstable();
    assert_eq!(
        scopes,
        ["offline_access", "profile"],
        "status: {status_text}"
    );
    assert!(
        status_text.contains("the server accepts the access token"),
        "status: {status_text}"
    );
    assert!(!status_text.contains(&token), "status shows the token");

    let logout = cli.run(&["logout"]).await;
    assert_eq!(logout.status.code(), Some(0), "stderr: {}", stderr(&logout));
    let (status, _) = get_with_bearer(&server.url("/oauth/userinfo"), &token).await;
    assert_eq!(status, 401, "the access token still works after logout");
    assert!(!token_store_text(cli.home.path()).contains(&token));
    let after = cli.run(&["token"]).await;
    assert_eq!(after.status.code(), Some(1));
}

/// With a 3-second access token, two `devauth token` runs started together after expiry send
/// one refresh request and print the same new token. (A 1-second lifetime would make the
/// second run's check flaky: expiry is stored in whole seconds, so the refreshed token can look
/// expired at once.)
#[tokio::test]
async fn devauthd_simultaneous_token_runs_refresh_once() {
    let server = Devauthd::start().await;
    server.admin(&[
        "client",
        "add",
        "short",
        "--name",
        "Short",
        "--scope",
        "profile offline_access",
        "--access-token-lifetime",
        "3",
    ]);
    let cli = Cli::new(&server.base);
    let client = ["--client-id", "short"];

    let user_code = login_start(&cli, &client).await;
    server.approve(&user_code).await;
    login_wait(&cli, &client).await;
    let token_args = ["token", "--client-id", "short", "--min-ttl", "0"];
    let first = first_line(&cli.run_ok(&token_args).await);
    assert_eq!(server.refresh_count(), 0);

    tokio::time::sleep(Duration::from_secs(4)).await;
    let (one, two) = tokio::join!(cli.run(&token_args), cli.run(&token_args));

    assert_eq!(one.status.code(), Some(0), "stderr: {}", stderr(&one));
    assert_eq!(two.status.code(), Some(0), "stderr: {}", stderr(&two));
    let one = first_line(&peer::stdout(&one));
    let two = first_line(&peer::stdout(&two));
    assert_eq!(one, two, "both runs print the same token");
    assert_ne!(one, first, "the expired token was refreshed");
    assert_eq!(server.refresh_count(), 1, "exactly one refresh request");
    let (status, userinfo) = get_with_bearer(&server.url("/oauth/userinfo"), &one).await;
    assert_eq!(status, 200, "userinfo: {userinfo}");
    assert_eq!(userinfo["client_id"], "short");

    let logout = cli.run(&["logout", "--client-id", "short"]).await;
    assert_eq!(logout.status.code(), Some(0), "stderr: {}", stderr(&logout));
}

/// A 1-second access token: two seconds later, `devauth token` refreshes it.
#[tokio::test]
async fn devauthd_token_refreshes_expired_token() {
    let server = Devauthd::start().await;
    server.admin(&[
        "client",
        "add",
        "short",
        "--name",
        "Short",
        "--scope",
        "profile offline_access",
        "--access-token-lifetime",
        "1",
    ]);
    let cli = Cli::new(&server.base);
    let client = ["--client-id", "short"];
    let user_code = login_start(&cli, &client).await;
    server.approve(&user_code).await;
    login_wait(&cli, &client).await;
    let store_before = token_store_text(cli.home.path());

    tokio::time::sleep(Duration::from_secs(2)).await;
    let token = first_line(&cli.run_ok(&["token", "--client-id", "short"]).await);

    assert_eq!(server.refresh_count(), 1);
    assert!(!store_before.contains(&token), "the token was not replaced");
    let store_after = token_store_text(cli.home.path());
    assert!(store_after.contains(&token), "the new token was not stored");
}

/// `devauth login --json` blocks in the background while the person approves.
#[tokio::test]
async fn devauthd_blocking_login_in_background() {
    let server = Devauthd::start().await;
    let cli = Cli::new(&server.base);

    let mut login = BackgroundCli::spawn(&cli, &["login", "--json"]);
    let pending = login.next_json_line().await;
    let user_code = pending["user_code"].as_str().expect("user_code").to_owned();
    let complete = pending["verification_uri_complete"]
        .as_str()
        .expect("verification_uri_complete");
    assert!(
        complete.starts_with(&server.url("/device?")),
        "link: {complete}"
    );
    server.approve(&user_code).await;

    let outcome = login.next_json_line().await;
    assert_eq!(outcome["status"], "authorized", "outcome: {outcome}");
    assert_eq!(login.exit_code().await, Some(0));

    let token = first_line(&cli.run_ok(&["token"]).await);
    let (status, userinfo) = get_with_bearer(&server.url("/oauth/userinfo"), &token).await;
    assert_eq!(status, 200, "userinfo: {userinfo}");
    assert_eq!(userinfo["username"], "alice");
    assert!(server.process.id() > 0);
}
