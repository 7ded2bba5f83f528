//! A QR code drawn in the terminal with Unicode half blocks (two modules per character cell).

use qrcode::render::unicode::Dense1x2;
use qrcode::{EcLevel, QrCode};

/// Black text on a bright white background (SGR 30 and 107), so the code reads the same on
/// dark and light terminal themes.
const BLACK_ON_WHITE: &str = "\x1b[30;107m";
const RESET: &str = "\x1b[0m";

/// Renders `text` as a QR code with its quiet zone, one string per terminal line, or `None`
/// when the text is too long for a QR code.
///
/// With `color`, dark modules are drawn as blocks on a forced white background. Without it
/// (`NO_COLOR`), the terminal's own colors are used, so light modules are drawn as blocks:
/// that is right on the common light-on-dark themes and inverted on dark-on-light ones, which
/// most phone scanners still read.
pub(crate) fn render(text: &str, color: bool) -> Option<Vec<String>> {
    // Level L (7 % recovery) keeps the code small, because a terminal shows it without damage.
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L).ok()?;
    let mut renderer = code.render::<Dense1x2>();
    renderer.quiet_zone(true);
    if !color {
        renderer
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark);
    }
    let image = renderer.build();
    let lines = image
        .lines()
        .map(|line| {
            if color {
                format!("{BLACK_ON_WHITE}{line}{RESET}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_has_quiet_zone_and_blocks() {
        let lines = render("http://127.0.0.1:8080/device?user_code=WDJB-MJHT", false).unwrap();
        // Version 3 is 29 modules wide, plus a quiet zone of 4 on each side.
        let width = lines[0].chars().count();
        assert!(width >= 29 + 8, "width {width}");
        assert!(lines.iter().all(|line| line.chars().count() == width));
        // Without color the quiet zone is light, so it is drawn as full blocks.
        assert!(lines[0].chars().all(|c| c == '█'), "{}", lines[0]);
    }

    #[test]
    fn render_with_color_forces_white_background() {
        let lines = render("http://127.0.0.1:8080/device", true).unwrap();
        assert!(lines.iter().all(|line| line.starts_with(BLACK_ON_WHITE)));
        assert!(lines.iter().all(|line| line.ends_with(RESET)));
    }
}
