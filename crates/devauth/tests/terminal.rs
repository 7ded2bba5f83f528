//! What `devauth login` shows on a terminal and without one. Terminal tests run the binary under
//! a pseudo-terminal (expectrl) against the scripted fake authorization server; the others pipe
//! stderr.

#![cfg(unix)]

#[path = "../../devauth-client/tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use base64::Engine as _;
use expectrl::{Eof, Regex, Session, WaitStatus};
use support::{FakeServer, Reply, USER_CODE};

const ACCESS_TOKEN: &str = "dva_terminal_access_token_0123456789";

/// The top row of a QR finder pattern drawn with half blocks, dark modules as blocks.
const FINDER_TOP: &str = "█▀▀▀▀▀█";

/// Builds `devauth ARGS` against `server` with the store in `home`.
fn command(server: &FakeServer, home: &Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_devauth"));
    command
        .args(args)
        .env("DEVAUTH_HOME", home)
        .env("DEVAUTH_SERVER", &server.base_url)
        .env("DEVAUTH_STORE", "file")
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("TMUX")
        .env_remove("BROWSER")
        .env_remove("DEVAUTH_CLIENT_ID")
        .env_remove("DEVAUTH_PROFILE")
        .env_remove("DEVAUTH_LOG");
    command
}

/// Runs `command` under a pseudo-terminal on a blocking thread, passing the session to
/// `script`, which returns everything it read.
async fn in_terminal(
    command: std::process::Command,
    script: impl FnOnce(&mut Session) -> String + Send + 'static,
) -> String {
    tokio::task::spawn_blocking(move || {
        let mut session = Session::spawn(command).expect("spawn devauth in a pseudo-terminal");
        session.set_expect_timeout(Some(Duration::from_secs(30)));
        script(&mut session)
    })
    .await
    .expect("the terminal script finished")
}

/// Reads until the process closes the terminal and asserts it exited 0.
fn read_to_exit(session: &mut Session) -> String {
    let rest = session.expect(Eof).expect("devauth exits");
    let text = String::from_utf8_lossy(rest.as_bytes()).into_owned();
    let status = session.get_process().wait().expect("wait for devauth");
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "status {status:?}; output: {text}"
    );
    text
}

#[tokio::test]
async fn terminal_shows_qr_code_and_countdown() {
    let server = FakeServer::start().await;
    // Interval 1 s: three pending answers keep the login waiting for about four seconds.
    server.push_token_replies([
        Reply::error("authorization_pending"),
        Reply::error("authorization_pending"),
        Reply::error("authorization_pending"),
        Reply::tokens(ACCESS_TOKEN, None),
    ]);
    let home = tempfile::tempdir().unwrap();
    let command = command(&server, home.path(), &["login"]);

    let output = in_terminal(command, |session| {
        let mut seen = String::new();
        let code = session
            .expect(format!("enter code: {USER_CODE}").as_str())
            .expect("the code line");
        seen.push_str(&String::from_utf8_lossy(code.before()));
        let qr = session
            .expect("Or scan this QR code with your phone:")
            .expect("the QR caption");
        seen.push_str(&String::from_utf8_lossy(qr.before()));
        let link = session
            .expect("which has the code filled in")
            .expect("the link line");
        let qr_block = String::from_utf8_lossy(link.before()).into_owned();
        assert!(qr_block.contains(FINDER_TOP), "no QR code in {qr_block:?}");
        assert!(
            qr_block.contains("\x1b[30;107m"),
            "QR code not on white: {qr_block:?}"
        );

        // The countdown is redrawn every second with a smaller value.
        let pattern = r"expires in (\d+):(\d\d)\. Press Ctrl-C";
        let first = session.expect(Regex(pattern)).expect("the countdown");
        let first = String::from_utf8_lossy(first.get(0).unwrap()).into_owned();
        let mut later = first.clone();
        let started = Instant::now();
        while later == first && started.elapsed() < Duration::from_secs(5) {
            let next = session.expect(Regex(pattern)).expect("the countdown again");
            later = String::from_utf8_lossy(next.get(0).unwrap()).into_owned();
        }
        assert_ne!(later, first, "the countdown did not change");
        seen.push_str(&qr_block);
        seen.push_str(&read_to_exit(session));
        seen
    })
    .await;

    // With colors allowed, the code in large type is bold.
    assert!(output.contains("\x1b[1m"), "no bold code: {output:?}");
    assert!(output.contains("Logged in as alice."), "{output:?}");
    assert!(!output.contains(ACCESS_TOKEN));
}

#[tokio::test]
async fn terminal_shows_big_code_and_hyperlink() {
    let server = FakeServer::start().await;
    server.push_token_replies([Reply::tokens(ACCESS_TOKEN, None)]);
    let home = tempfile::tempdir().unwrap();
    let command = command(&server, home.path(), &["login"]);

    let output = in_terminal(command, read_to_exit).await;

    // `WDJB-MJHT` in the 5 by 5 font: the first line of W, D, J and B.
    let big_line = "█   █ █▀▀▀▄   ▀▀█ █▀▀▀▄";
    assert!(output.contains(big_line), "no large code in {output:?}");
    let device = server.url("/device");
    let hyperlink = format!("\x1b]8;;{device}\x1b\\{device}\x1b]8;;\x1b\\");
    assert!(output.contains(&hyperlink), "no OSC 8 link in {output:?}");
}

#[tokio::test]
async fn terminal_no_color_drops_colors_only() {
    let server = FakeServer::start().await;
    server.push_token_replies([
        Reply::error("authorization_pending"),
        Reply::tokens(ACCESS_TOKEN, None),
    ]);
    let home = tempfile::tempdir().unwrap();
    let mut command = command(&server, home.path(), &["login"]);
    command.env("NO_COLOR", "1");

    let output = in_terminal(command, read_to_exit).await;

    for sgr in ["\x1b[1m", "\x1b[2m", "\x1b[30;107m", "\x1b[0m"] {
        assert!(!output.contains(sgr), "{sgr:?} in {output:?}");
    }
    // Without colors the light quiet zone is drawn in the terminal's own foreground.
    assert!(output.contains("██████████"), "no QR code in {output:?}");
    assert!(output.contains("Press Ctrl-C to cancel"), "{output:?}");
}

#[tokio::test]
async fn terminal_copy_sends_osc52() {
    let server = FakeServer::start().await;
    server.push_token_replies([Reply::tokens(ACCESS_TOKEN, None)]);
    let home = tempfile::tempdir().unwrap();
    let command = command(&server, home.path(), &["login", "--copy"]);

    let output = in_terminal(command, read_to_exit).await;

    let encoded = base64::engine::general_purpose::STANDARD.encode(USER_CODE);
    let osc52 = format!("\x1b]52;c;{encoded}\x07");
    assert!(output.contains(&osc52), "no OSC 52 in {output:?}");
    assert!(output.contains("Copied the code"), "{output:?}");
}

/// Runs `devauth ARGS` with stdin closed and stdout and stderr piped.
async fn piped(command: std::process::Command) -> Output {
    let mut command = tokio::process::Command::from(command);
    command
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("devauth finished in time")
        .expect("devauth runs")
}

#[tokio::test]
async fn no_terminal_prints_plain_lines() {
    let server = FakeServer::start().await;
    server.push_token_replies([
        Reply::error("authorization_pending"),
        Reply::error("slow_down"),
        Reply::tokens(ACCESS_TOKEN, None),
    ]);
    let home = tempfile::tempdir().unwrap();
    let command = command(&server, home.path(), &["login", "--copy"]);

    let output = piped(command).await;

    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    let device = server.url("/device");
    assert_eq!(
        lines,
        [
            format!("Visit {device} and enter code: {USER_CODE}").as_str(),
            format!("Or open this link, which has the code filled in: {device}?user_code={USER_CODE}").as_str(),
            "The code expires in 10 min.",
            "devauth: warning: --copy needs a terminal on stderr (it sends the OSC 52 sequence); enter the code WDJB-MJHT yourself.",
            "The server requested slower polling; polling every 6 s from now on.",
            "Logged in as alice.",
            format!("devauth: warning: the tokens are stored in plain text in {} (mode 0600).", home.path().join("tokens.json").display()).as_str(),
        ]
    );
    assert!(!stderr.contains('\x1b'), "escape sequence in {stderr:?}");
    assert!(!stderr.contains('█'), "QR code in {stderr:?}");
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn open_rejects_other_origin() {
    let server = FakeServer::start().await;
    let mut device = server.device_response(Some(serde_json::json!(1)), serde_json::json!(600));
    device["verification_uri"] = "http://phishing.test/device".into();
    device["verification_uri_complete"] = "http://phishing.test/device?user_code=WDJB-MJHT".into();
    server.set_device_reply(Reply::json(200, device));
    server.push_token_replies([Reply::tokens(ACCESS_TOKEN, None)]);
    let home = tempfile::tempdir().unwrap();
    let opened = home.path().join("opened");
    let mut command = command(&server, home.path(), &["login", "--open"]);
    command.env("BROWSER", browser_script(home.path(), &opened));

    let output = piped(command).await;

    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("not opening http://phishing.test/device?user_code=WDJB-MJHT in the browser: it is not on the origin of the server"),
        "stderr: {stderr}"
    );
    assert!(!opened.exists(), "the browser was started");
}

#[tokio::test]
async fn open_starts_browser_on_same_origin() {
    let server = FakeServer::start().await;
    server.push_token_replies([Reply::tokens(ACCESS_TOKEN, None)]);
    let home = tempfile::tempdir().unwrap();
    let opened = home.path().join("opened");
    let mut command = command(&server, home.path(), &["login", "--open"]);
    command.env("BROWSER", browser_script(home.path(), &opened));

    let output = piped(command).await;

    assert_eq!(output.status.code(), Some(0));
    let started = Instant::now();
    while !opened.exists() && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = std::fs::read_to_string(&opened).expect("the browser script ran");
    assert_eq!(
        url.trim(),
        server.url(&format!("/device?user_code={USER_CODE}"))
    );
}

/// Writes a stand-in browser that records the URL it was given in `record`.
fn browser_script(dir: &Path, record: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("browser.sh");
    let body = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$1\" > '{}.tmp'\nmv '{0}.tmp' '{0}'\n",
        record.display()
    );
    std::fs::write(&script, body).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script.display().to_string()
}
