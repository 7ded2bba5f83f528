//! The token store backends `auto | keyring | file` on a machine without a working OS keyring:
//! `auto` falls back to the file with a warning, `keyring` fails with a clear message, and
//! `status` names the backend. The keyring is the Secret Service on D-Bus here, so each test
//! points `DBUS_SESSION_BUS_ADDRESS` at a socket that is missing or never responds.

#![cfg(target_os = "linux")]

#[path = "../../devauth-client/tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{FakeServer, Reply};
use tokio::process::Command;

const ACCESS_TOKEN: &str = "dva_storage_access_token_0123456789";

/// A D-Bus address where no bus listens, so the keyring fails at once.
const NO_BUS: &str = "unix:path=/nonexistent/devauth-test-bus";

/// Runs `devauth ARGS` with `store` as `DEVAUTH_STORE` (unset for `None`) and `bus` as the
/// session bus address.
async fn devauth(
    server: &FakeServer,
    home: &Path,
    store: Option<&str>,
    bus: &str,
    args: &[&str],
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_devauth"));
    command
        .args(args)
        .env("DEVAUTH_HOME", home)
        .env("DEVAUTH_SERVER", &server.base_url)
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env_remove("DEVAUTH_CLIENT_ID")
        .env_remove("DEVAUTH_PROFILE")
        .env_remove("DEVAUTH_LOG")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match store {
        Some(store) => command.env("DEVAUTH_STORE", store),
        None => command.env_remove("DEVAUTH_STORE"),
    };
    tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("devauth finished in time")
        .expect("devauth runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn auto_store_warns_and_uses_file() {
    let server = FakeServer::start().await;
    server.push_token_replies([Reply::tokens(ACCESS_TOKEN, None)]);
    let home = tempfile::tempdir().unwrap();
    let token_file = home.path().join("tokens.json");

    let login = devauth(&server, home.path(), None, NO_BUS, &["login"]).await;

    assert_eq!(login.status.code(), Some(0), "stderr: {}", stderr(&login));
    let warning = format!(
        "devauth: warning: the OS keyring is not available: Platform secure storage failure: \
         no secret service provider or dbus session found, so tokens are kept in the file {}",
        token_file.display()
    );
    assert!(stderr(&login).contains(&warning), "{}", stderr(&login));
    assert!(std::fs::read_to_string(&token_file)
        .unwrap()
        .contains(ACCESS_TOKEN));

    let token = devauth(&server, home.path(), None, NO_BUS, &["token"]).await;
    assert_eq!(stdout(&token), format!("{ACCESS_TOKEN}\n"));
    assert!(stderr(&token).contains(&warning), "{}", stderr(&token));

    let status = devauth(&server, home.path(), None, NO_BUS, &["status"]).await;
    let storage_line = format!("Storage: file {}", token_file.display());
    assert!(
        stdout(&status).contains(&storage_line),
        "{}",
        stdout(&status)
    );
}

#[tokio::test]
async fn file_store_is_silent_and_reported() {
    let server = FakeServer::start().await;
    server.push_token_replies([Reply::tokens(ACCESS_TOKEN, None)]);
    let home = tempfile::tempdir().unwrap();
    let login = devauth(&server, home.path(), Some("file"), NO_BUS, &["login"]).await;
    assert_eq!(login.status.code(), Some(0), "stderr: {}", stderr(&login));
    assert!(!stderr(&login).contains("keyring"), "{}", stderr(&login));

    let token = devauth(&server, home.path(), Some("file"), NO_BUS, &["token"]).await;
    assert_eq!(stderr(&token), "");

    let status = devauth(
        &server,
        home.path(),
        Some("file"),
        NO_BUS,
        &["status", "--json"],
    )
    .await;
    let report: Value = serde_json::from_str(stdout(&status).trim()).unwrap();
    assert_eq!(report["storage"]["backend"], "file");
    assert_eq!(
        report["storage"]["path"],
        home.path().join("tokens.json").display().to_string()
    );
}

#[tokio::test]
async fn keyring_store_fails_without_keyring() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();

    let login = devauth(&server, home.path(), Some("keyring"), NO_BUS, &["login"]).await;

    assert_eq!(login.status.code(), Some(1));
    let text = stderr(&login);
    assert!(
        text.contains("devauth: error: --store keyring: the OS keyring is not available"),
        "{text}"
    );
    assert!(text.contains("use --store file"), "{text}");
    assert!(server.requests("/oauth/device/code").is_empty());
    assert!(!home.path().join("tokens.json").exists());
}

/// A D-Bus peer that accepts connections and never responds: the keyring probe gives up after
/// its timeout (3 s) and `auto` falls back to the file.
#[tokio::test]
async fn hanging_keyring_times_out_to_file() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let socket = home.path().join("silent-bus");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    // Accept and hold connections without a byte of reply; the thread ends with the test
    // process.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for connection in listener.incoming().take(16) {
            held.push(connection);
        }
    });
    let bus = format!("unix:path={}", socket.display());

    let started = Instant::now();
    let status = devauth(&server, home.path(), None, &bus, &["status"]).await;
    let elapsed = started.elapsed();

    assert_eq!(status.status.code(), Some(1), "not logged in");
    let text = stderr(&status);
    assert!(
        text.contains("devauth: warning: the OS keyring did not respond within 3s, so tokens are kept in the file"),
        "{text}"
    );
    assert!(elapsed >= Duration::from_secs(3), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

/// The keyring backend against a real Secret Service. Opt-in, because CI machines and SSH hosts
/// have none: it runs only with `DEVAUTH_TEST_KEYRING=1`. `.ci/run` runs it in a private D-Bus
/// session with GNOME Keyring unlocked by a password given on stdin.
#[tokio::test]
async fn keyring_store_keeps_tokens_out_of_file() {
    if std::env::var("DEVAUTH_TEST_KEYRING").as_deref() != Ok("1") {
        eprintln!("SKIPPED: keyring_store_keeps_tokens_out_of_file needs DEVAUTH_TEST_KEYRING=1");
        return;
    }
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").expect("a D-Bus session");
    let server = FakeServer::start().await;
    server.push_token_replies([Reply::tokens(ACCESS_TOKEN, Some("dvr_keyring_refresh"))]);
    let home = tempfile::tempdir().unwrap();
    let token_file = home.path().join("tokens.json");

    let login = devauth(&server, home.path(), Some("keyring"), &bus, &["login"]).await;
    assert_eq!(login.status.code(), Some(0), "stderr: {}", stderr(&login));
    assert!(
        stderr(&login).contains("The tokens are stored in the OS keyring (Secret Service)."),
        "{}",
        stderr(&login)
    );
    let file = std::fs::read_to_string(&token_file).unwrap();
    assert!(!file.contains(ACCESS_TOKEN), "{file}");
    assert!(!file.contains("dvr_keyring_refresh"), "{file}");

    let token = devauth(&server, home.path(), None, &bus, &["token"]).await;
    assert_eq!(stdout(&token), format!("{ACCESS_TOKEN}\n"));
    assert_eq!(stderr(&token), "");

    let status = devauth(&server, home.path(), None, &bus, &["status"]).await;
    let storage_line = format!(
        "Storage: keyring, tokens in the OS keyring (Secret Service), the rest in {}",
        token_file.display()
    );
    assert!(
        stdout(&status).contains(&storage_line),
        "{}",
        stdout(&status)
    );

    let without = devauth(&server, home.path(), Some("file"), &bus, &["token"]).await;
    assert_eq!(without.status.code(), Some(1));
    assert!(
        stderr(&without).contains("are in the OS keyring, which is not in use now"),
        "{}",
        stderr(&without)
    );

    let logout = devauth(&server, home.path(), None, &bus, &["logout"]).await;
    assert_eq!(logout.status.code(), Some(0), "stderr: {}", stderr(&logout));
    let revoke = &server.requests("/oauth/revoke")[0];
    assert_eq!(revoke.param("token"), Some("dvr_keyring_refresh"));
}
