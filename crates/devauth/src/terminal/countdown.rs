//! Progress while waiting for approval: plain lines, plus on a terminal a status line at the
//! bottom that counts down to the code's expiry once a second.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{write_stderr, Stderr};

/// Erases the current terminal line and returns the cursor to its start.
const CLEAR_LINE: &str = "\r\x1b[2K";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// The progress display of one wait. Dropping it stops the countdown and erases its line.
pub(crate) struct Progress {
    line: Option<Arc<Mutex<StatusLine>>>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

/// The countdown line's state, shared with the ticker task.
struct StatusLine {
    deadline: Instant,
    color: bool,
    /// Whether the line is currently drawn, so it is erased before other text.
    drawn: bool,
}

impl StatusLine {
    fn draw(&mut self) {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let text = format!(
            "Waiting for approval; the code expires in {}. Press Ctrl-C to cancel.",
            clock_format(left)
        );
        let text = if self.color {
            format!("{DIM}{text}{RESET}")
        } else {
            text
        };
        write_stderr(&format!("{CLEAR_LINE}{text}"));
        self.drawn = true;
    }

    fn erase(&mut self) {
        if self.drawn {
            write_stderr(CLEAR_LINE);
            self.drawn = false;
        }
    }
}

impl Progress {
    /// Starts the display. On a terminal a tokio task redraws the countdown to `deadline` every
    /// second. Elsewhere only [`Progress::line`] writes anything.
    pub(crate) fn start(stderr: Stderr, deadline: Instant) -> Self {
        if !stderr.is_terminal {
            return Self {
                line: None,
                ticker: None,
            };
        }
        let line = Arc::new(Mutex::new(StatusLine {
            deadline,
            color: stderr.color,
            drawn: false,
        }));
        let shared = Arc::clone(&line);
        let ticker = tokio::spawn(async move {
            loop {
                lock(&shared).draw();
                // Wake at the next whole second of the remaining time, so the display steps
                // evenly.
                let left = deadline.saturating_duration_since(Instant::now());
                let to_next = Duration::from_nanos(u64::from(left.subsec_nanos()));
                let pause = if to_next.is_zero() {
                    Duration::from_secs(1)
                } else {
                    to_next
                };
                tokio::time::sleep(pause).await;
            }
        });
        Self {
            line: Some(line),
            ticker: Some(ticker),
        }
    }

    /// Writes one line of progress above the countdown.
    pub(crate) fn line(&self, text: &str) {
        match &self.line {
            Some(line) => {
                let mut line = lock(line);
                line.erase();
                write_stderr(&format!("{text}\n"));
                line.draw();
            }
            None => write_stderr(&format!("{text}\n")),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
        }
        if let Some(line) = &self.line {
            lock(line).erase();
        }
    }
}

fn lock(line: &Mutex<StatusLine>) -> std::sync::MutexGuard<'_, StatusLine> {
    // Drawing cannot leave the state half-updated, so a poisoned lock is still usable.
    line.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Formats a remaining time as `m:ss`, or `h:mm:ss` from one hour on.
fn clock_format(left: Duration) -> String {
    let seconds = left.as_secs();
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes}:{seconds:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_format_pads_seconds() {
        assert_eq!(clock_format(Duration::from_secs(599)), "9:59");
        assert_eq!(clock_format(Duration::from_secs(5)), "0:05");
        assert_eq!(clock_format(Duration::from_secs(3725)), "1:02:05");
    }
}
