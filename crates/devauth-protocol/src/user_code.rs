//! The user code a person types on the verification page (RFC 8628 section 6.1).
//!
//! Eight letters from 20 consonants give 20^8 ≈ 2^34.6 codes. Without vowels no code spells a
//! word, and without digits nobody confuses 0 with O or 1 with I. Codes are shown as
//! `XXXX-XXXX`; input is case-insensitive, and dashes and white space are ignored.

use std::fmt;

use rand::Rng;

/// The letters a user code is made of.
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// The number of letters in a user code.
pub const LENGTH: usize = 8;

/// A normalized user code: exactly [`LENGTH`] letters from [`ALPHABET`], without the dash.
///
/// The value is public: the person reads it off a screen, so `PartialEq` is fine here.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserCode(String);

/// The reason typed input is not a user code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserCodeError {
    /// The input contains a character that no user code contains.
    #[error("a user code contains only the letters {}", std::str::from_utf8(ALPHABET).unwrap_or_default())]
    InvalidCharacter,
    /// The input has too few or too many letters.
    #[error("a user code has exactly {LENGTH} letters")]
    WrongLength,
}

impl UserCode {
    /// Draws a new code from `rng`, which must be a cryptographically secure generator.
    pub fn generate<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let code = (0..LENGTH)
            .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
            .collect();
        Self(code)
    }

    /// Normalizes what a person typed: ASCII letters of either case, with any dashes (including
    /// typographic ones) and white space ignored.
    pub fn parse(input: &str) -> Result<Self, UserCodeError> {
        let mut code = String::with_capacity(LENGTH);
        for c in input.chars() {
            if c.is_whitespace() || is_dash(c) {
                continue;
            }
            let upper = c.to_ascii_uppercase();
            if !upper.is_ascii() || !ALPHABET.contains(&(upper as u8)) {
                return Err(UserCodeError::InvalidCharacter);
            }
            if code.len() == LENGTH {
                return Err(UserCodeError::WrongLength);
            }
            code.push(upper);
        }
        if code.len() != LENGTH {
            return Err(UserCodeError::WrongLength);
        }
        Ok(Self(code))
    }

    /// Returns the normalized letters without the dash, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Returns whether `c` is a dash a person might type or paste: the ASCII hyphen, the Unicode
/// hyphens and dashes of U+2010..U+2015, and the minus sign U+2212.
fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

impl fmt::Display for UserCode {
    /// Formats the code as shown to people: `XXXX-XXXX`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, tail) = self.0.split_at(LENGTH / 2);
        write!(f, "{head}-{tail}")
    }
}

impl fmt::Debug for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserCode({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_variants_normalize_to_one_code() {
        let expected = UserCode::parse("WDJB-MJHT").unwrap();
        for input in [
            "WDJBMJHT",
            "wdjb-mjht",
            "  WDJB MJHT  ",
            "wDjB\u{2013}MjHt",
            "W-D-J-B-M-J-H-T",
        ] {
            assert_eq!(UserCode::parse(input).unwrap(), expected, "input {input:?}");
        }
        assert_eq!(expected.to_string(), "WDJB-MJHT");
        assert_eq!(expected.as_str(), "WDJBMJHT");
    }

    #[test]
    fn vowels_digits_and_lengths_are_rejected() {
        assert_eq!(
            UserCode::parse("WDJB-MJHA"),
            Err(UserCodeError::InvalidCharacter)
        );
        assert_eq!(
            UserCode::parse("WDJB-MJH0"),
            Err(UserCodeError::InvalidCharacter)
        );
        assert_eq!(UserCode::parse("WDJB-MJH"), Err(UserCodeError::WrongLength));
        assert_eq!(
            UserCode::parse("WDJB-MJHTT"),
            Err(UserCodeError::WrongLength)
        );
        assert_eq!(UserCode::parse(""), Err(UserCodeError::WrongLength));
        assert_eq!(
            UserCode::parse("ＷDJB-MJHT"),
            Err(UserCodeError::InvalidCharacter)
        );
    }

    #[test]
    fn generated_codes_parse_back() {
        let mut rng = rand::thread_rng();
        for _ in 0..1000 {
            let code = UserCode::generate(&mut rng);
            assert_eq!(UserCode::parse(&code.to_string()).unwrap(), code);
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn parse_never_panics_and_yields_valid_codes(input in any::<String>()) {
            if let Ok(code) = UserCode::parse(&input) {
                prop_assert_eq!(code.as_str().len(), LENGTH);
                prop_assert!(code.as_str().bytes().all(|b| ALPHABET.contains(&b)));
                prop_assert_eq!(UserCode::parse(&code.to_string()), Ok(code));
            }
        }

        #[test]
        fn any_spacing_and_case_of_a_code_parses(code in "[BCDFGHJKLMNPQRSTVWXZ]{8}", lower in any::<bool>(), spaces in 0usize..4) {
            let padding = " ".repeat(spaces);
            let typed = format!("{padding}{}-{}{padding}", &code[..4], &code[4..]);
            let typed = if lower { typed.to_lowercase() } else { typed };
            prop_assert_eq!(UserCode::parse(&typed).map(|c| c.as_str().to_owned()), Ok(code));
        }
    }
}
