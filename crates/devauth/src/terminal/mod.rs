//! The output of `devauth login` on stderr.
//!
//! When stderr is not a terminal (or `TERM=dumb`), only plain lines are written: no escape
//! sequences, no QR code, no countdown, and nothing ever waits for a key. On a terminal the code
//! also appears in large type, the link with the code filled in as a QR code, links as OSC 8
//! hyperlinks, and a countdown to expiry that updates every second. `NO_COLOR` (set and not
//! empty) turns off colors and bold type, but not the QR code, hyperlinks or countdown.

mod big_text;
pub(crate) mod browser;
mod countdown;
mod qr;

use std::io::{IsTerminal, Write};

use base64::Engine as _;
use devauth_client::PendingAuthorization;

use crate::output::human_duration;

pub(crate) use countdown::Progress;

const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// The capabilities of stderr.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stderr {
    /// stderr is a terminal that understands escape sequences (not `TERM=dumb`).
    pub(crate) is_terminal: bool,
    /// Colors and bold type are allowed: a terminal, and `NO_COLOR` unset or empty.
    pub(crate) color: bool,
}

impl Stderr {
    /// Inspects stderr and the environment.
    pub(crate) fn detect() -> Self {
        let dumb = std::env::var_os("TERM").is_some_and(|term| term == "dumb");
        let is_terminal = std::io::stderr().is_terminal() && !dumb;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Self {
            is_terminal,
            color: is_terminal && !no_color,
        }
    }

    /// Returns `url` as an OSC 8 hyperlink on a terminal, else as plain text. Terminals without
    /// OSC 8 support ignore the sequence and show the text.
    pub(crate) fn link(&self, url: &str) -> String {
        // The URL reaches here stripped of control characters, so it cannot end the sequence
        // early.
        if self.is_terminal {
            format!("\x1b]8;;{url}\x1b\\{url}\x1b]8;;\x1b\\")
        } else {
            url.to_owned()
        }
    }
}

/// Shows the code and the links on stderr: on a terminal with the code in large type and a QR
/// code of the link with the code filled in.
pub(crate) fn show_code(stderr: Stderr, pending: &PendingAuthorization) {
    let mut text = format!(
        "Visit {} and enter code: {}\n",
        stderr.link(&pending.verification_uri),
        pending.user_code
    );

    if stderr.is_terminal {
        if let Some(lines) = big_text::render(&pending.user_code) {
            text.push('\n');
            for line in lines {
                let line = if stderr.color {
                    format!("{BOLD}{line}{RESET}")
                } else {
                    line
                };
                text.push_str(&format!("    {line}\n"));
            }
            text.push('\n');
        }
        let scanned = pending
            .verification_uri_complete
            .as_deref()
            .unwrap_or(&pending.verification_uri);
        if let Some(lines) = qr::render(scanned, stderr.color) {
            text.push_str("Or scan this QR code with your phone:\n");
            for line in lines {
                text.push_str(&format!("  {line}\n"));
            }
        }
    }

    if let Some(complete) = &pending.verification_uri_complete {
        text.push_str(&format!(
            "Or open this link, which has the code filled in: {}\n",
            stderr.link(complete)
        ));
    }
    text.push_str(&format!(
        "The code expires in {}.\n",
        human_duration(pending.expires_in.as_secs())
    ));
    write_stderr(&text);
}

/// Puts `text` on the clipboard with the OSC 52 sequence, which the terminal emulator carries
/// out, also over SSH. Inside tmux the sequence is sent once more wrapped for tmux's
/// passthrough, since tmux ignores OSC 52 from programs unless `set-clipboard` is `on`.
/// Returns `false` when stderr is not a terminal, so nothing was sent.
pub(crate) fn copy_to_clipboard(stderr: Stderr, text: &str) -> bool {
    if !stderr.is_terminal {
        return false;
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut sequence = format!("\x1b]52;c;{encoded}\x07");
    if std::env::var_os("TMUX").is_some() {
        sequence.push_str(&format!("\x1bPtmux;\x1b\x1b]52;c;{encoded}\x07\x1b\\"));
    }
    write_stderr(&sequence);
    true
}

/// Writes to stderr in one call and flushes. A failed write to stderr cannot be reported
/// anywhere, so it is ignored.
pub(crate) fn write_stderr(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_is_plain_without_terminal() {
        let plain = Stderr {
            is_terminal: false,
            color: false,
        };
        assert_eq!(plain.link("http://h/device"), "http://h/device");
    }

    #[test]
    fn link_is_osc8_on_terminal() {
        let terminal = Stderr {
            is_terminal: true,
            color: false,
        };
        assert_eq!(
            terminal.link("http://h/device"),
            "\x1b]8;;http://h/device\x1b\\http://h/device\x1b]8;;\x1b\\"
        );
    }
}
