//! `--open`: opens the verification page in the person's browser, but only an http(s) URL on
//! the authorization server's own origin, so a malicious server cannot make the CLI open an
//! arbitrary page or launch a handler for another scheme.

use std::process::{Command, Stdio};

use url::Url;

/// Checks that `url` is http(s) and has the origin (scheme, host and port) of one of
/// `server_urls`, and returns it parsed. The error is a message for the person.
pub(crate) fn check_origin(url: &str, server_urls: &[&str]) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|error| format!("it is not a valid URL ({error})"))?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(format!(
            "its scheme {:?} is not http or https",
            parsed.scheme()
        ));
    }
    let same_origin = server_urls
        .iter()
        .filter_map(|server| Url::parse(server).ok())
        .any(|server| server.origin() == parsed.origin());
    if !same_origin {
        return Err(format!(
            "it is not on the origin of the server {}",
            server_urls.first().copied().unwrap_or_default()
        ));
    }
    Ok(parsed)
}

/// Starts the browser on `url` without waiting for it.
///
/// The browser is the first command of `$BROWSER`, a colon-separated list, with `%s` replaced
/// by the URL or else the URL appended. Without `$BROWSER` it is the platform's opener:
/// `xdg-open`, `open` on macOS, or `rundll32` on Windows.
pub(crate) fn open(url: &Url) -> Result<(), String> {
    let mut command = browser_command(url.as_str())?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot start {:?}: {error}", command.get_program()))?;
    // Reap the opener when it exits, without making the login wait for it.
    std::thread::spawn(move || child.wait());
    Ok(())
}

fn browser_command(url: &str) -> Result<Command, String> {
    let configured = std::env::var("BROWSER").unwrap_or_default();
    if let Some(first) = configured.split(':').find(|entry| !entry.trim().is_empty()) {
        let mut words = first.split_whitespace();
        let program = words.next().unwrap_or_default();
        let mut command = Command::new(program);
        let mut placed = false;
        for word in words {
            if word.contains("%s") {
                command.arg(word.replace("%s", url));
                placed = true;
            } else {
                command.arg(word);
            }
        }
        if !placed {
            command.arg(url);
        }
        return Ok(command);
    }

    let command = if cfg!(target_os = "macos") {
        let mut command = Command::new("open");
        command.arg(url);
        command
    } else if cfg!(windows) {
        // rundll32 takes the URL as one argument, unlike `cmd /c start`, which would
        // interpret `&` in it.
        let mut command = Command::new("rundll32");
        command.arg("url.dll,FileProtocolHandler").arg(url);
        command
    } else {
        let mut command = Command::new("xdg-open");
        command.arg(url);
        command
    };
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &str = "http://127.0.0.1:8080";

    #[test]
    fn same_origin_url_is_accepted() {
        let url = check_origin("http://127.0.0.1:8080/device?user_code=X", &[SERVER]).unwrap();
        assert_eq!(url.path(), "/device");
    }

    #[test]
    fn other_origin_is_rejected() {
        for url in [
            "http://127.0.0.1:8081/device",
            "https://127.0.0.1:8080/device",
            "http://evil.test/device",
            "http://127.0.0.1:8080@evil.test/device",
        ] {
            let error = check_origin(url, &[SERVER]).unwrap_err();
            assert!(error.contains("origin"), "{url}: {error}");
        }
    }

    #[test]
    fn other_scheme_is_rejected() {
        let error = check_origin("file:///etc/passwd", &[SERVER]).unwrap_err();
        assert!(error.contains("scheme"), "{error}");
        let error = check_origin("javascript:alert(1)", &[SERVER]).unwrap_err();
        assert!(error.contains("scheme"), "{error}");
    }

    #[test]
    fn issuer_origin_is_accepted_too() {
        let servers = [SERVER, "https://login.example.test"];
        assert!(check_origin("https://login.example.test/device", &servers).is_ok());
    }
}
