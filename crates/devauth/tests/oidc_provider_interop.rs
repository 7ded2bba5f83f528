//! The `devauth` binary against panva's `oidc-provider` (npm), started from
//! `tests/interop/oidc-provider/server.js` on a free loopback port with the device flow enabled.
//! Approval is automated over HTTP through the provider's own pages: the code entry form, the
//! confirm form, and the development sign-in and consent pages, with a cookie jar.
//!
//! Needs `node` and the packages of `tests/interop/oidc-provider`, which the tests install with
//! `npm ci` when they are missing. Without them the tests print a note and pass, except when
//! `CI=true`, where they fail.

mod peer;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use peer::{free_port, get_with_bearer, json_lines, stderr, Cli, ServerProcess};
use serde_json::Value;

/// The scope to request: the provider's userinfo endpoint requires `openid`, and it issues a
/// refresh token for `offline_access`.
const SCOPE: &str = "openid profile offline_access";

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/oidc-provider")
}

/// How long `npm ci` may take to install the provider's packages.
const NPM_CI_TIMEOUT: Duration = Duration::from_secs(300);

/// Returns why the provider cannot run here, or `None` when it can. Installs the npm packages
/// with `npm ci` first when they are missing, once per test binary.
fn missing_prerequisite() -> Option<String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|output| output.status.success()) {
        return Some("`node` is not installed".into());
    }
    let package = interop_dir().join("node_modules/oidc-provider/package.json");
    if package.is_file() {
        return None;
    }
    INSTALLED.get_or_init(npm_ci).clone().err()
}

/// Runs `npm ci` in the interop folder, killing it after [`NPM_CI_TIMEOUT`].
fn npm_ci() -> Result<(), String> {
    let folder = interop_dir();
    let mut child = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&folder)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot run `npm ci` in {}: {error}", folder.display()))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(format!("`npm ci` in {} failed: {status}", folder.display()))
            }
            Ok(None) if started.elapsed() > NPM_CI_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`npm ci` in {} did not finish in {NPM_CI_TIMEOUT:?}",
                    folder.display()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(error) => return Err(format!("cannot wait for `npm ci`: {error}")),
        }
    }
}

/// oidc-provider in a child process.
struct OidcProvider {
    process: ServerProcess,
    base: String,
    _dir: tempfile::TempDir,
}

impl OidcProvider {
    /// Starts the provider, or returns `None` after printing why it cannot run here. With
    /// `CI=true` a missing prerequisite fails the test instead.
    async fn start() -> Option<Self> {
        if let Some(reason) = missing_prerequisite() {
            let in_ci = std::env::var("CI").is_ok_and(|value| value == "true");
            assert!(!in_ci, "oidc-provider interop cannot run: {reason}");
            eprintln!("SKIPPED: oidc-provider interop test: {reason}");
            return None;
        }
        let dir = tempfile::tempdir().expect("temporary folder");
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut command = Command::new("node");
        command
            .arg("server.js")
            .arg(port.to_string())
            .current_dir(interop_dir());
        let mut process =
            ServerProcess::spawn("oidc-provider", command, dir.path().join("node.log"));
        process
            .wait_until_ready(&format!("{base}/.well-known/openid-configuration"))
            .await;
        Some(Self {
            process,
            base,
            _dir: dir,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Resolves a form's `action`, absolute or a path, against the issuer.
    fn resolve(&self, action: &str) -> String {
        let base = url::Url::parse(&self.base).expect("issuer URL");
        base.join(action).expect("form action is a URL").into()
    }

    /// Returns the number of refresh token grant requests handled (succeeded, failed).
    async fn refresh_count(&self) -> (u64, u64) {
        let count: Value = reqwest::get(self.url("/interop/refresh-count"))
            .await
            .expect("GET /interop/refresh-count")
            .json()
            .await
            .expect("refresh count JSON");
        (
            count["succeeded"].as_u64().expect("succeeded"),
            count["failed"].as_u64().expect("failed"),
        )
    }

    /// Enters `user_code` at the provider's device page, confirms it, signs in as `account` on
    /// the development sign-in page and grants consent, as a person in a browser does.
    async fn approve(&self, user_code: &str, account: &str) {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("HTTP client");

        let entry = page(browser.get(self.url("/device")).send().await).await;
        let xsrf = hidden_value(&entry, "xsrf");
        let confirm = page(
            browser
                .post(self.url("/device"))
                .form(&[("xsrf", xsrf.as_str()), ("user_code", user_code)])
                .send()
                .await,
        )
        .await;
        assert!(
            confirm.contains("Confirm Device"),
            "no confirm page: {confirm}"
        );

        // Confirming starts an authorization and redirects to the sign-in interaction.
        let xsrf = hidden_value(&confirm, "xsrf");
        let sign_in = page(
            browser
                .post(self.url("/device"))
                .form(&[
                    ("xsrf", xsrf.as_str()),
                    ("user_code", user_code),
                    ("confirm", "yes"),
                ])
                .send()
                .await,
        )
        .await;
        assert!(
            sign_in.contains("name=\"prompt\" value=\"login\""),
            "no sign-in page: {sign_in}"
        );

        let consent = page(
            browser
                .post(self.resolve(&form_action(&sign_in)))
                .form(&[
                    ("prompt", "login"),
                    ("login", account),
                    ("password", "any password"),
                ])
                .send()
                .await,
        )
        .await;
        assert!(
            consent.contains("name=\"prompt\" value=\"consent\""),
            "no consent page: {consent}"
        );

        let done = page(
            browser
                .post(self.resolve(&form_action(&consent)))
                .form(&[("prompt", "consent")])
                .send()
                .await,
        )
        .await;
        assert!(done.contains("Sign-in Success"), "approval failed: {done}");
    }
}

/// Returns the body of a page, failing on any status other than 200.
async fn page(response: reqwest::Result<reqwest::Response>) -> String {
    let response = response.expect("send the page request");
    let status = response.status();
    let text = response.text().await.expect("read the page");
    assert_eq!(status, 200, "page: {text}");
    text
}

/// Returns the value of the hidden input `name`.
fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    value_after(html, &marker).unwrap_or_else(|| panic!("no hidden {name} field in {html}"))
}

/// Returns the `action` of the page's sign-in or consent form (`autocomplete="off"` marks the
/// forms of oidc-provider's development interactions).
fn form_action(html: &str) -> String {
    value_after(html, "autocomplete=\"off\" action=\"")
        .unwrap_or_else(|| panic!("no interaction form in {html}"))
}

fn value_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// Runs `login start --json`, approves as `account` and runs `login wait --json`.
async fn log_in(provider: &OidcProvider, cli: &Cli, client_id: &str, account: &str) {
    let start = cli
        .run(&[
            "login",
            "start",
            "--json",
            "--client-id",
            client_id,
            "--scope",
            SCOPE,
        ])
        .await;
    assert_eq!(start.status.code(), Some(0), "stderr: {}", stderr(&start));
    let pending = &json_lines(&start)[0];
    let user_code = pending["user_code"].as_str().expect("user_code");
    assert_eq!(pending["verification_uri"], provider.url("/device"));

    provider.approve(user_code, account).await;

    let wait = cli
        .run(&["login", "wait", "--json", "--client-id", client_id])
        .await;
    assert_eq!(wait.status.code(), Some(0), "stderr: {}", stderr(&wait));
    assert_eq!(json_lines(&wait)[0]["status"], "authorized");
}

#[tokio::test]
async fn oidc_provider_login_token_logout() {
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let cli = Cli::new(&provider.base);

    log_in(&provider, &cli, "devauth", "alice").await;

    let token = first_line(&cli.run_ok(&["token"]).await);
    assert!(!token.is_empty());
    let (status, userinfo) = get_with_bearer(&provider.url("/me"), &token).await;
    assert_eq!(status, 200, "userinfo: {userinfo}");
    assert_eq!(userinfo["sub"], "alice");

    let status_text = cli.run_ok(&["status", "--verify"]).await;
    assert!(status_text.contains("User: alice"), "status: {status_text}");
    assert!(
        status_text.contains("the server accepts the access token"),
        "status: {status_text}"
    );

    let logout = cli.run(&["logout"]).await;
    assert_eq!(logout.status.code(), Some(0), "stderr: {}", stderr(&logout));
    assert!(
        stderr(&logout).contains("Revoked the refresh token"),
        "stderr: {}",
        stderr(&logout)
    );
    let (status, _) = get_with_bearer(&provider.url("/me"), &token).await;
    assert_eq!(status, 401, "the access token still works after logout");
    assert!(provider.process.id() > 0);
}

/// The `short` client's access tokens live 3 seconds: after they expire, two `devauth token`
/// runs started together send one refresh request and print the same new token.
#[tokio::test]
async fn oidc_provider_simultaneous_token_runs_refresh_once() {
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    let cli = Cli::new(&provider.base);
    log_in(&provider, &cli, "short", "bob").await;
    let token_args = ["token", "--client-id", "short", "--min-ttl", "0"];
    let first = first_line(&cli.run_ok(&token_args).await);

    tokio::time::sleep(Duration::from_secs(4)).await;
    let (one, two) = tokio::join!(cli.run(&token_args), cli.run(&token_args));

    assert_eq!(one.status.code(), Some(0), "stderr: {}", stderr(&one));
    assert_eq!(two.status.code(), Some(0), "stderr: {}", stderr(&two));
    let one = first_line(&peer::stdout(&one));
    let two = first_line(&peer::stdout(&two));
    assert_eq!(one, two, "both runs print the same token");
    assert_ne!(one, first, "the expired token was refreshed");
    assert_eq!(provider.refresh_count().await, (1, 0));
    let (status, userinfo) = get_with_bearer(&provider.url("/me"), &one).await;
    assert_eq!(status, 200, "userinfo: {userinfo}");
    assert_eq!(userinfo["sub"], "bob");

    let logout = cli.run(&["logout", "--client-id", "short"]).await;
    assert_eq!(logout.status.code(), Some(0), "stderr: {}", stderr(&logout));
    let (status, _) = get_with_bearer(&provider.url("/me"), &one).await;
    assert_eq!(status, 401, "the access token still works after logout");
}
