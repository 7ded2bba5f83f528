//! Output helpers: JSON lines on stdout, human text on stderr.

use std::io::Write;

use anyhow::Context as _;
use serde_json::Value;

/// Writes one JSON value as a line on stdout and flushes, so a reading script gets it at once.
pub(crate) fn json_line(value: &Value) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, value).context("cannot write to stdout")?;
    stdout
        .write_all(b"\n")
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

/// Formats a duration in seconds as people read it: `45 s`, `9 min`, `2 h 5 min`.
pub(crate) fn human_duration(seconds: u64) -> String {
    match seconds {
        0..=89 => format!("{seconds} s"),
        90..=5399 => format!("{} min", (seconds + 30) / 60),
        _ => {
            let minutes = (seconds + 30) / 60;
            format!("{} h {} min", minutes / 60, minutes % 60)
        }
    }
}

/// Masks a token for display: its first four characters (the type prefix, such as `dva_`) and
/// its length, never enough to use it.
pub(crate) fn mask_token(token: &str) -> String {
    let prefix: String = token.chars().take(4).collect();
    format!("{prefix}… ({} characters)", token.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_duration_picks_unit() {
        assert_eq!(human_duration(45), "45 s");
        assert_eq!(human_duration(600), "10 min");
        assert_eq!(human_duration(7500), "2 h 5 min");
    }

    #[test]
    fn mask_token_keeps_only_prefix() {
        let masked = mask_token("dva_0123456789abcdef");
        assert_eq!(masked, "dva_… (20 characters)");
    }
}
