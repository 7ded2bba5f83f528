//! The `devauth` binary against the scripted fake authorization server, with the token store in
//! a temporary `DEVAUTH_HOME`.

#[path = "../../devauth-client/tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::{json, Value};
use support::{FakeServer, Reply};
use tokio::process::Command;

const ACCESS_TOKEN: &str = "dva_cli_access_token_0123456789";
const REFRESH_TOKEN: &str = "dvr_cli_refresh_token_0123456789";

/// Runs the binary with `args` against `server`, with the store in `home`.
async fn devauth(server: &FakeServer, home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_devauth"))
        .args(args)
        .env("DEVAUTH_HOME", home)
        .env("DEVAUTH_SERVER", &server.base_url)
        .env("DEVAUTH_STORE", "file")
        .env_remove("DEVAUTH_CLIENT_ID")
        .env_remove("DEVAUTH_PROFILE")
        .env_remove("DEVAUTH_LOG")
        .kill_on_drop(true)
        .output()
        .await
        .expect("the devauth binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn json_lines(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each stdout line is JSON"))
        .collect()
}

/// Logs in against a server whose first poll returns tokens.
async fn logged_in(token_reply: Reply) -> (FakeServer, tempfile::TempDir) {
    let server = FakeServer::start().await;
    server.push_token_replies([token_reply]);
    let home = tempfile::tempdir().unwrap();
    let output = devauth(&server, home.path(), &["login"]).await;
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    (server, home)
}

#[tokio::test]
async fn login_json_prints_code_then_outcome() {
    let server = FakeServer::start().await;
    server.push_token_replies([
        Reply::error("authorization_pending"),
        Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN)),
    ]);
    let home = tempfile::tempdir().unwrap();

    let output = devauth(&server, home.path(), &["login", "--json"]).await;

    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 2, "stdout: {}", stdout(&output));
    assert_eq!(
        lines[0],
        json!({
            "user_code": "WDJB-MJHT",
            "verification_uri": server.url("/device"),
            "verification_uri_complete": server.url("/device?user_code=WDJB-MJHT"),
            "expires_in": 600,
            "interval": 1,
        })
    );
    assert_eq!(
        lines[1],
        json!({"status": "authorized", "scope": "profile offline_access", "expires_in": 3600})
    );
    let device_request = &server.requests("/oauth/device/code")[0];
    assert_eq!(device_request.param("client_id"), Some("devauth"));
    assert_eq!(
        device_request.param("scope"),
        Some("profile offline_access")
    );
}

#[tokio::test]
async fn login_shows_code_and_link_on_stderr() {
    let server = FakeServer::start().await;
    server.push_token_replies([Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN))]);
    let home = tempfile::tempdir().unwrap();

    let output = devauth(&server, home.path(), &["login"]).await;

    assert_eq!(output.status.code(), Some(0));
    let text = stderr(&output);
    let visit_line = format!("Visit {} and enter code: WDJB-MJHT", server.url("/device"));
    assert!(text.contains(&visit_line), "stderr: {text}");
    assert!(
        text.contains(&server.url("/device?user_code=WDJB-MJHT")),
        "stderr: {text}"
    );
    assert!(text.contains("Logged in as alice."), "stderr: {text}");
    assert_eq!(stdout(&output), "");
}

#[tokio::test]
async fn login_never_prints_tokens() {
    let server = FakeServer::start().await;
    server.push_token_replies([Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN))]);
    let home = tempfile::tempdir().unwrap();

    let output = devauth(&server, home.path(), &["login", "--json"]).await;

    assert_eq!(output.status.code(), Some(0));
    for text in [stdout(&output), stderr(&output)] {
        assert!(!text.contains(ACCESS_TOKEN), "output: {text}");
        assert!(!text.contains(REFRESH_TOKEN), "output: {text}");
        assert!(!text.contains(support::DEVICE_CODE), "output: {text}");
    }
}

#[tokio::test]
async fn login_denied_exits_with_code_3() {
    let server = FakeServer::start().await;
    server.push_token_replies([Reply::error("access_denied")]);
    let home = tempfile::tempdir().unwrap();

    let output = devauth(&server, home.path(), &["login", "--json"]).await;

    assert_eq!(output.status.code(), Some(3));
    assert_eq!(json_lines(&output)[1], json!({"status": "denied"}));
    assert!(stderr(&output).contains("denied"));
}

#[tokio::test]
async fn login_expired_exits_with_code_4() {
    let server = FakeServer::start().await;
    server.push_token_replies([
        Reply::error("authorization_pending"),
        Reply::error("expired_token"),
    ]);
    let home = tempfile::tempdir().unwrap();

    let output = devauth(&server, home.path(), &["login", "--json"]).await;

    assert_eq!(output.status.code(), Some(4));
    assert_eq!(json_lines(&output)[1], json!({"status": "expired"}));
    assert_eq!(server.token_requests().len(), 2);
}

#[tokio::test]
async fn login_other_error_exits_with_code_1() {
    let server = FakeServer::start().await;
    server.push_token_replies([Reply::error("invalid_client")]);
    let home = tempfile::tempdir().unwrap();

    let output = devauth(&server, home.path(), &["login", "--json"]).await;

    assert_eq!(output.status.code(), Some(1));
    let outcome = &json_lines(&output)[1];
    assert_eq!(outcome["status"], "error");
    assert_eq!(outcome["error"], "invalid_client");
}

#[tokio::test]
async fn unknown_flag_exits_with_code_2() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let output = devauth(&server, home.path(), &["login", "--bogus"]).await;
    assert_eq!(output.status.code(), Some(2));
}

#[tokio::test]
async fn help_documents_exit_codes() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let output = devauth(&server, home.path(), &["--help"]).await;
    assert_eq!(output.status.code(), Some(0));
    let help = stdout(&output);
    for line in [
        "3    access denied",
        "4    device code expired",
        "2    usage error",
    ] {
        assert!(help.contains(line), "help: {help}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn token_file_is_readable_only_by_owner() {
    use std::os::unix::fs::PermissionsExt;
    let (_server, home) = logged_in(Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN))).await;

    let path = home.path().join("tokens.json");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .filter(|name| name.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[tokio::test]
async fn token_prints_only_the_access_token() {
    let (server, home) = logged_in(Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN))).await;
    let requests_before = server.token_requests().len();

    let output = devauth(&server, home.path(), &["token"]).await;

    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(stdout(&output), format!("{ACCESS_TOKEN}\n"));
    assert_eq!(stderr(&output), "");
    assert_eq!(server.token_requests().len(), requests_before);
}

#[tokio::test]
async fn token_refreshes_when_too_close_to_expiry() {
    let (server, home) = logged_in(Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN))).await;
    server.push_token_replies([Reply::json(
        200,
        json!({"access_token": "dva_new", "token_type": "Bearer", "expires_in": 3600}),
    )]);

    let output = devauth(&server, home.path(), &["token", "--min-ttl", "7200"]).await;
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    assert_eq!(stdout(&output), "dva_new\n");

    let refresh = server.token_requests().pop().unwrap();
    assert_eq!(refresh.param("grant_type"), Some("refresh_token"));
    assert_eq!(refresh.param("refresh_token"), Some(REFRESH_TOKEN));
    assert_eq!(refresh.param("client_id"), Some("devauth"));

    // No refresh token came back, so the old one is kept and used next time.
    server.push_token_replies([Reply::tokens("dva_newer", Some("dvr_rotated"))]);
    let output = devauth(&server, home.path(), &["token", "--min-ttl", "7200"]).await;
    assert_eq!(stdout(&output), "dva_newer\n");
    let refresh = server.token_requests().pop().unwrap();
    assert_eq!(refresh.param("refresh_token"), Some(REFRESH_TOKEN));
}

#[tokio::test]
async fn token_without_login_fails_with_code_1() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let output = devauth(&server, home.path(), &["token"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("devauth login"),
        "stderr: {}",
        stderr(&output)
    );
}

#[tokio::test]
async fn rejected_refresh_keeps_stored_tokens() {
    let (server, home) = logged_in(Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN))).await;
    server.push_token_replies([Reply::error("invalid_grant")]);

    let output = devauth(&server, home.path(), &["token", "--min-ttl", "7200"]).await;

    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("invalid_grant"),
        "stderr: {}",
        stderr(&output)
    );
    let store = std::fs::read_to_string(home.path().join("tokens.json")).unwrap();
    assert!(store.contains(REFRESH_TOKEN));
}

#[tokio::test]
async fn status_shows_user_and_masks_token() {
    let (server, home) = logged_in(Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN))).await;

    let output = devauth(&server, home.path(), &["status"]).await;

    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains(&format!("Server: {}", server.base_url)),
        "status: {text}"
    );
    assert!(text.contains("User: alice"), "status: {text}");
    assert!(
        text.contains("Scopes: profile offline_access"),
        "status: {text}"
    );
    assert!(text.contains("expires in"), "status: {text}");
    assert!(!text.contains(ACCESS_TOKEN), "status: {text}");
    assert!(!text.contains(REFRESH_TOKEN), "status: {text}");
    let userinfo = server.requests("/oauth/userinfo").pop().unwrap();
    assert_eq!(
        userinfo.authorization,
        Some(format!("Bearer {ACCESS_TOKEN}"))
    );
}

#[tokio::test]
async fn logout_revokes_then_deletes() {
    let (server, home) = logged_in(Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN))).await;

    let output = devauth(&server, home.path(), &["logout"]).await;

    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let revoke = &server.requests("/oauth/revoke")[0];
    assert_eq!(revoke.param("token"), Some(REFRESH_TOKEN));
    assert_eq!(revoke.param("token_type_hint"), Some("refresh_token"));
    assert_eq!(revoke.param("client_id"), Some("devauth"));
    let token = devauth(&server, home.path(), &["token"]).await;
    assert_eq!(token.status.code(), Some(1));
}

#[tokio::test]
async fn failed_revocation_keeps_tokens() {
    let (server, home) = logged_in(Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN))).await;
    server.set_revoke_reply(Reply::raw(503, None, ""));

    let output = devauth(&server, home.path(), &["logout"]).await;

    assert_eq!(output.status.code(), Some(1));
    let token = devauth(&server, home.path(), &["token"]).await;
    assert_eq!(stdout(&token), format!("{ACCESS_TOKEN}\n"));
}

/// The K11 case in real time: about 25 seconds, so it is the only CLI test that waits.
#[tokio::test]
async fn login_survives_slow_down_in_real_time() {
    let server = FakeServer::start().await;
    server.push_token_replies([
        Reply::error("authorization_pending"),
        Reply::error("slow_down"),
        Reply::error("authorization_pending"),
        Reply::error("slow_down"),
        Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN)),
    ]);
    let home = tempfile::tempdir().unwrap();

    let output = devauth(&server, home.path(), &["login", "--json"]).await;

    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let gaps = server.token_request_gaps();
    let minimums = [1, 6, 6, 11].map(Duration::from_secs);
    assert_eq!(gaps.len(), 4, "gaps {gaps:?}");
    for (gap, minimum) in gaps.iter().zip(minimums) {
        assert!(*gap >= minimum, "gaps {gaps:?}");
        assert!(*gap < minimum + Duration::from_secs(2), "gaps {gaps:?}");
    }
    assert_eq!(server.max_in_flight(), 1);
    let token = devauth(&server, home.path(), &["token"]).await;
    assert_eq!(stdout(&token), format!("{ACCESS_TOKEN}\n"));
}

#[tokio::test]
async fn login_start_then_wait_in_another_process() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();

    let start = devauth(&server, home.path(), &["login", "start", "--json"]).await;
    assert_eq!(start.status.code(), Some(0), "stderr: {}", stderr(&start));
    let lines = json_lines(&start);
    assert_eq!(lines.len(), 1, "stdout: {}", stdout(&start));
    assert_eq!(lines[0]["user_code"], "WDJB-MJHT");
    assert!(server.token_requests().is_empty());

    server.push_token_replies([
        Reply::error("authorization_pending"),
        Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN)),
    ]);
    let wait = devauth(&server, home.path(), &["login", "wait", "--json"]).await;

    assert_eq!(wait.status.code(), Some(0), "stderr: {}", stderr(&wait));
    assert_eq!(json_lines(&wait)[0]["status"], "authorized");
    let polls = server.token_requests();
    assert_eq!(polls.len(), 2);
    assert_eq!(polls[0].param("device_code"), Some(support::DEVICE_CODE));
    let token = devauth(&server, home.path(), &["token"]).await;
    assert_eq!(stdout(&token), format!("{ACCESS_TOKEN}\n"));
}

#[tokio::test]
async fn login_wait_timeout_exits_5_and_resumes() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let start = devauth(&server, home.path(), &["login", "start"]).await;
    assert_eq!(start.status.code(), Some(0));
    server.push_token_replies((0..3).map(|_| Reply::error("authorization_pending")));

    let wait = devauth(
        &server,
        home.path(),
        &["login", "wait", "--timeout", "2", "--json"],
    )
    .await;

    assert_eq!(wait.status.code(), Some(5), "stderr: {}", stderr(&wait));
    assert_eq!(json_lines(&wait), [json!({"status": "pending"})]);

    server.push_token_replies([Reply::tokens(ACCESS_TOKEN, None)]);
    let resumed = devauth(&server, home.path(), &["login", "wait"]).await;
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "stderr: {}",
        stderr(&resumed)
    );
}

#[tokio::test]
async fn login_wait_without_start_fails() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let wait = devauth(&server, home.path(), &["login", "wait"]).await;
    assert_eq!(wait.status.code(), Some(1));
    assert!(
        stderr(&wait).contains("login start"),
        "stderr: {}",
        stderr(&wait)
    );
}

#[tokio::test]
async fn simultaneous_token_runs_refresh_once() {
    let (server, home) = logged_in(Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN))).await;
    let before = server.token_requests().len();
    server.set_token_delay(Duration::from_millis(500));
    server.push_token_replies([
        Reply::json(
            200,
            json!({"access_token": "dva_once", "token_type": "Bearer", "expires_in": 100000, "refresh_token": "dvr_once"}),
        ),
        Reply::json(
            200,
            json!({"access_token": "dva_twice", "token_type": "Bearer", "expires_in": 100000, "refresh_token": "dvr_twice"}),
        ),
    ]);

    let args = ["token", "--min-ttl", "7200"];
    let (first, second) = tokio::join!(
        devauth(&server, home.path(), &args),
        devauth(&server, home.path(), &args)
    );

    assert_eq!(first.status.code(), Some(0), "stderr: {}", stderr(&first));
    assert_eq!(second.status.code(), Some(0), "stderr: {}", stderr(&second));
    assert_eq!(server.token_requests().len() - before, 1);
    assert_eq!(stdout(&first), "dva_once\n");
    assert_eq!(stdout(&second), "dva_once\n");
}

#[cfg(unix)]
#[tokio::test]
async fn exec_passes_token_in_environment() {
    let (server, home) = logged_in(Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN))).await;

    let output = devauth(
        &server,
        home.path(),
        &[
            "exec",
            "--env",
            "API_TOKEN",
            "--",
            "sh",
            "-c",
            "echo \"$API_TOKEN\"; exit 7",
        ],
    )
    .await;

    assert_eq!(output.status.code(), Some(7));
    assert_eq!(stdout(&output), format!("{ACCESS_TOKEN}\n"));
}

#[tokio::test]
async fn status_json_has_no_token_and_no_request() {
    let (server, home) = logged_in(Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN))).await;
    let userinfo_before = server.requests("/oauth/userinfo").len();

    let output = devauth(&server, home.path(), &["status", "--json"]).await;

    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    let report = &json_lines(&output)[0];
    assert_eq!(report["logged_in"], true);
    assert_eq!(report["user"], "alice");
    assert_eq!(report["scope"], "profile offline_access");
    assert_eq!(report["refresh_token"], true);
    assert_eq!(report["storage"]["backend"], "file");
    assert!(!stdout(&output).contains(ACCESS_TOKEN));
    assert!(!stdout(&output).contains(REFRESH_TOKEN));
    assert_eq!(server.requests("/oauth/userinfo").len(), userinfo_before);
}

#[tokio::test]
async fn status_verify_reports_rejected_token() {
    let (server, home) = logged_in(Reply::tokens(ACCESS_TOKEN, Some(REFRESH_TOKEN))).await;
    server.set_userinfo_reply(Reply::json(401, json!({"error": "invalid_token"})));

    let output = devauth(&server, home.path(), &["status", "--json", "--verify"]).await;

    assert_eq!(output.status.code(), Some(1));
    let report = &json_lines(&output)[0];
    assert_eq!(report["verified"], false);
}

#[tokio::test]
async fn profiles_keep_logins_side_by_side() {
    let server = FakeServer::start().await;
    let home = tempfile::tempdir().unwrap();
    server.push_token_replies([
        Reply::tokens("dva_work", None),
        Reply::tokens("dva_home", None),
    ]);

    for profile in ["work", "home"] {
        let output = devauth(&server, home.path(), &["login", "--profile", profile]).await;
        assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(&output));
    }

    let work = devauth(&server, home.path(), &["token", "--profile", "work"]).await;
    let personal = devauth(&server, home.path(), &["token", "--profile", "home"]).await;
    assert_eq!(stdout(&work), "dva_work\n");
    assert_eq!(stdout(&personal), "dva_home\n");

    let logout = devauth(&server, home.path(), &["logout", "--all"]).await;
    assert_eq!(logout.status.code(), Some(0), "stderr: {}", stderr(&logout));
    assert_eq!(server.requests("/oauth/revoke").len(), 2);
    let work = devauth(&server, home.path(), &["token", "--profile", "work"]).await;
    assert_eq!(work.status.code(), Some(1));
}
