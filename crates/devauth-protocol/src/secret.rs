//! A string that must not leak through `Debug`, logs or accidental comparisons.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret string: a device code, an access or refresh token, a client secret or a password.
///
/// `Debug` prints `Secret(***)`. There is no `PartialEq`, so a comparison must be written on
/// purpose (servers compare digests in constant time instead).
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret value, for the one place that must send or hash it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_value() {
        let secret = Secret::new("dva_abcdef");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(secret.expose(), "dva_abcdef");
    }
}
