//! The `devauthd` binary: admin commands and their errors, configuration layering, the first
//! start, SIGTERM, and logs that never carry a secret.

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::{Browser, TestDatabase, PASSWORD};
use tokio::io::AsyncReadExt;

fn sqlite(folder: &tempfile::TempDir) -> String {
    format!(
        "sqlite://{}",
        folder.path().join("nested/folder/devauth.db").display()
    )
}

/// Runs devauthd with `args` and `stdin`; returns (exit code, stdout, stderr).
async fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_devauthd"))
        .args(args)
        .env_remove("DEVAUTH_DATABASE_URL")
        .env_remove("DEVAUTH_LISTEN")
        .env_remove("DEVAUTH_ISSUER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn admin_commands_manage_users_and_clients() {
    let folder = tempfile::tempdir().unwrap();
    let db = sqlite(&folder);

    let (code, _, stderr) = run(
        &["--database", &db, "user", "add", "alice"],
        "a long password\n",
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        folder.path().join("nested/folder/devauth.db").exists(),
        "database and folders created"
    );
    let (code, _, stderr) = run(
        &["--database", &db, "user", "add", "alice"],
        "a long password\n",
    )
    .await;
    assert_eq!(code, 1);
    assert!(stderr.contains("user \"alice\" already exists"), "{stderr}");
    let (code, _, stderr) = run(
        &["--database", &db, "user", "add", "bad name!"],
        "a long password\n",
    )
    .await;
    assert_eq!(code, 1);
    assert!(stderr.contains("invalid username"), "{stderr}");
    let (code, _, stderr) = run(&["--database", &db, "user", "add", "bob"], "short\n").await;
    assert_eq!(code, 1);
    assert!(stderr.contains("at least 8 characters"), "{stderr}");
    let (code, _, stderr) = run(&["--database", &db, "user", "disable", "nobody"], "").await;
    assert_eq!(code, 1);
    assert!(stderr.contains("user \"nobody\" not found"), "{stderr}");
    let (code, _, _) = run(&["--database", &db, "user", "disable", "alice"], "").await;
    assert_eq!(code, 0);
    let (_, stdout, _) = run(&["--database", &db, "user", "list"], "").await;
    assert!(
        stdout.starts_with("alice\t") && stdout.trim_end().ends_with("disabled"),
        "{stdout}"
    );

    let (code, stdout, stderr) = run(
        &[
            "--database",
            &db,
            "client",
            "add",
            "api",
            "--name",
            "API",
            "--scope",
            "introspect",
            "--confidential",
            "--interval",
            "2",
        ],
        "",
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.trim().starts_with("dvs_"),
        "the secret is printed once on stdout: {stdout}"
    );
    let (code, _, stderr) = run(
        &[
            "--database",
            &db,
            "client",
            "add",
            "api",
            "--name",
            "API",
            "--scope",
            "x",
        ],
        "",
    )
    .await;
    assert_eq!(code, 1);
    assert!(stderr.contains("client \"api\" already exists"), "{stderr}");
    let (code, _, stderr) = run(
        &[
            "--database",
            &db,
            "client",
            "add",
            "x",
            "--name",
            "X",
            "--scope",
            "bad\"scope",
        ],
        "",
    )
    .await;
    assert_eq!(code, 1);
    assert!(stderr.contains("invalid scope"), "{stderr}");
    let (code, _, stderr) = run(
        &[
            "--database",
            &db,
            "client",
            "add",
            "y",
            "--name",
            "Y",
            "--scope",
            "a",
            "--interval",
            "0",
        ],
        "",
    )
    .await;
    assert_eq!(code, 1);
    assert!(stderr.contains("invalid interval 0"), "{stderr}");
    let (_, stdout, _) = run(&["--database", &db, "client", "list"], "").await;
    assert!(
        stdout.contains("api\tAPI\tconfidential\tintrospect"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("dvs_"),
        "the list never shows a secret: {stdout}"
    );
    let (code, _, _) = run(&["--database", &db, "client", "remove", "api"], "").await;
    assert_eq!(code, 0);
    let (code, _, stderr) = run(&["--database", &db, "client", "remove", "api"], "").await;
    assert_eq!(code, 1);
    assert!(stderr.contains("not found"), "{stderr}");

    let (code, _, stderr) = run(&["--database", &db, "user", "frobnicate"], "").await;
    assert_eq!(code, 2, "usage errors exit 2: {stderr}");
}

#[tokio::test]
async fn unknown_config_key_is_named() {
    let folder = tempfile::tempdir().unwrap();
    let config = folder.path().join("devauthd.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nintreval_secs = 3\n").unwrap();
    let (code, _, stderr) = run(&["--config", config.to_str().unwrap(), "serve"], "").await;
    assert_eq!(code, 1);
    assert!(stderr.contains("intreval_secs"), "{stderr}");
}

/// Starts `devauthd serve` with debug logs captured; returns the child and its base URL.
async fn serve_with_logs(database_url: &str, port: u16) -> (tokio::process::Child, String) {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_devauthd"))
        .args([
            "--database",
            database_url,
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "debug")
        .env_remove("DEVAUTH_ISSUER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok() {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("devauthd did not start");
}

#[tokio::test]
async fn sigterm_drains_and_logs_carry_no_secret() {
    let folder = tempfile::tempdir().unwrap();
    let database = TestDatabase::at_sqlite(folder.path().join("devauth.db"));
    let (mut child, base) = serve_with_logs(&database.url, support::free_port()).await;
    support::admin(
        &database.url,
        &["user", "add", "alice"],
        &format!("{PASSWORD}\n"),
    )
    .await;

    // One whole flow with refresh and revocation, keeping every secret it produced.
    let http = support::device_http();
    let grant = support::authorize(&http, &base, "devauth").await.unwrap();
    let device_code = grant["device_code"].as_str().unwrap().to_owned();
    let browser = Browser::at(&base, "127.0.0.1");
    assert!(browser
        .sign_in("alice", PASSWORD)
        .await
        .text
        .contains("Enter the code"));
    browser
        .decide(grant["user_code"].as_str().unwrap(), "approve", None)
        .await;
    let tokens = support::poll(&http, &base, "devauth", &device_code)
        .await
        .unwrap()
        .json();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = support::refresh(&http, &base, "devauth", &refresh_token)
        .await
        .unwrap()
        .json();
    support::refresh(&http, &base, "devauth", &refresh_token)
        .await
        .unwrap();
    http.post(format!("{base}/oauth/revoke"))
        .form(&[
            ("token", refreshed["refresh_token"].as_str().unwrap()),
            ("client_id", "devauth"),
        ])
        .send()
        .await
        .unwrap();
    let session = browser
        .http
        .get(format!("{base}/device"))
        .send()
        .await
        .unwrap();
    assert!(session.status().is_success());

    // SIGTERM: the server drains and exits 0.
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits within 10 s")
        .unwrap();
    assert_eq!(exit.code(), Some(0));

    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .await
        .unwrap();
    assert!(
        logs.contains("devauthd started") && logs.contains("listen=127.0.0.1:"),
        "{logs}"
    );
    assert!(logs.contains("issuer=http://127.0.0.1:"), "{logs}");
    assert!(
        logs.contains("No accounts yet. Add the first one with"),
        "first start names the command: {logs}"
    );
    assert!(logs.contains("devauthd stopped"), "{logs}");
    assert!(
        logs.contains("token_issued") && logs.contains("refresh_reuse_detected"),
        "{logs}"
    );
    let secrets = [
        device_code.as_str(),
        tokens["access_token"].as_str().unwrap(),
        refresh_token.as_str(),
        refreshed["access_token"].as_str().unwrap(),
        refreshed["refresh_token"].as_str().unwrap(),
        PASSWORD,
    ];
    for secret in secrets {
        assert!(!logs.contains(secret), "a secret reached the log");
    }
    for prefix in ["dva_", "dvr_", "dvc_", "devauth_session="] {
        assert!(!logs.contains(prefix), "{prefix} in the log");
    }
}
