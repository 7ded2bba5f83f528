//! The user code in large type: a 5 by 5 pixel font drawn with Unicode half blocks, so each
//! glyph takes 5 columns and 3 lines.

/// The glyphs: rows from top to bottom, `#` for a set pixel.
const GLYPHS: &[(char, [&str; 5])] = &[
    ('A', [" ### ", "#   #", "#####", "#   #", "#   #"]),
    ('B', ["#### ", "#   #", "#### ", "#   #", "#### "]),
    ('C', [" ####", "#    ", "#    ", "#    ", " ####"]),
    ('D', ["#### ", "#   #", "#   #", "#   #", "#### "]),
    ('E', ["#####", "#    ", "#### ", "#    ", "#####"]),
    ('F', ["#####", "#    ", "#### ", "#    ", "#    "]),
    ('G', [" ####", "#    ", "#  ##", "#   #", " ####"]),
    ('H', ["#   #", "#   #", "#####", "#   #", "#   #"]),
    ('I', ["#####", "  #  ", "  #  ", "  #  ", "#####"]),
    ('J', ["  ###", "    #", "    #", "#   #", " ### "]),
    ('K', ["#   #", "#  # ", "###  ", "#  # ", "#   #"]),
    ('L', ["#    ", "#    ", "#    ", "#    ", "#####"]),
    ('M', ["#   #", "## ##", "# # #", "#   #", "#   #"]),
    ('N', ["#   #", "##  #", "# # #", "#  ##", "#   #"]),
    ('O', [" ### ", "#   #", "#   #", "#   #", " ### "]),
    ('P', ["#### ", "#   #", "#### ", "#    ", "#    "]),
    ('Q', [" ### ", "#   #", "# # #", "#  # ", " ## #"]),
    ('R', ["#### ", "#   #", "#### ", "#  # ", "#   #"]),
    ('S', [" ####", "#    ", " ### ", "    #", "#### "]),
    ('T', ["#####", "  #  ", "  #  ", "  #  ", "  #  "]),
    ('U', ["#   #", "#   #", "#   #", "#   #", " ### "]),
    ('V', ["#   #", "#   #", "#   #", " # # ", "  #  "]),
    ('W', ["#   #", "#   #", "# # #", "## ##", "#   #"]),
    ('X', ["#   #", " # # ", "  #  ", " # # ", "#   #"]),
    ('Y', ["#   #", " # # ", "  #  ", "  #  ", "  #  "]),
    ('Z', ["#####", "   # ", "  #  ", " #   ", "#####"]),
    ('0', [" ### ", "#  ##", "# # #", "##  #", " ### "]),
    ('1', ["  #  ", " ##  ", "  #  ", "  #  ", " ### "]),
    ('2', [" ### ", "#   #", "  ## ", " #   ", "#####"]),
    ('3', ["#### ", "    #", " ### ", "    #", "#### "]),
    ('4', ["#   #", "#   #", "#####", "    #", "    #"]),
    ('5', ["#####", "#    ", "#### ", "    #", "#### "]),
    ('6', [" ### ", "#    ", "#### ", "#   #", " ### "]),
    ('7', ["#####", "    #", "   # ", "  #  ", "  #  "]),
    ('8', [" ### ", "#   #", " ### ", "#   #", " ### "]),
    ('9', [" ### ", "#   #", " ####", "    #", " ### "]),
    ('-', ["     ", "     ", " ### ", "     ", "     "]),
    (' ', ["     ", "     ", "     ", "     ", "     "]),
];

/// Columns between two glyphs.
const GAP: usize = 1;

/// Renders `text` in large type as 3 lines, or `None` when it has a character without a glyph
/// (letters are drawn in upper case).
pub(crate) fn render(text: &str) -> Option<Vec<String>> {
    let glyphs = text
        .chars()
        .map(|c| {
            let upper = c.to_ascii_uppercase();
            GLYPHS
                .iter()
                .find(|(glyph, _)| *glyph == upper)
                .map(|(_, rows)| rows)
        })
        .collect::<Option<Vec<_>>>()?;
    if glyphs.is_empty() {
        return None;
    }

    // Each output line draws two pixel rows: the upper one with the top half of the cell and
    // the lower one with the bottom half. The fifth row pairs with an empty row.
    let pairs = [(0, Some(1)), (2, Some(3)), (4, None)];
    let lines = pairs
        .iter()
        .map(|&(upper, lower)| {
            let mut line = String::new();
            for (index, rows) in glyphs.iter().enumerate() {
                if index > 0 {
                    line.push_str(&" ".repeat(GAP));
                }
                let lower_row = lower.map(|row| rows[row].as_bytes());
                for (column, top) in rows[upper].bytes().enumerate() {
                    let bottom = lower_row.is_some_and(|row| row[column] == b'#');
                    line.push(half_block(top == b'#', bottom));
                }
            }
            line.trim_end().to_owned()
        })
        .collect();
    Some(lines)
}

/// Returns the character that draws a cell whose upper and lower halves are set as given.
fn half_block(upper: bool, lower: bool) -> char {
    match (upper, lower) {
        (true, true) => '█',
        (true, false) => '▀',
        (false, true) => '▄',
        (false, false) => ' ',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_glyph_is_five_by_five() {
        for (glyph, rows) in GLYPHS {
            for row in rows {
                assert_eq!(row.len(), 5, "glyph {glyph:?}");
                assert!(row.bytes().all(|b| b == b'#' || b == b' '), "{glyph:?}");
            }
        }
    }

    #[test]
    fn render_draws_three_lines_of_half_blocks() {
        let lines = render("ab").unwrap();
        assert_eq!(lines, ["▄▀▀▀▄ █▀▀▀▄", "█▀▀▀█ █▀▀▀▄", "▀   ▀ ▀▀▀▀"]);
    }

    #[test]
    fn render_rejects_characters_without_glyph() {
        assert!(render("WDJB–MJHT").is_none());
        assert!(render("").is_none());
    }
}
