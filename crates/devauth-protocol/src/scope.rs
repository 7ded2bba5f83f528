//! Scope parsing (RFC 6749 section 3.3): a space-delimited, unordered set of scope tokens.

use std::collections::BTreeSet;
use std::fmt;

/// A set of scope tokens, kept sorted so that equal sets print the same.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(BTreeSet<String>);

/// The error for a malformed `scope` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a scope token may contain only printable ASCII other than space, '\"' and '\\'")]
pub struct ScopeError;

impl Scope {
    /// Parses a space-delimited scope string. Runs of spaces are allowed; an empty string is the
    /// empty set.
    pub fn parse(value: &str) -> Result<Self, ScopeError> {
        let mut tokens = BTreeSet::new();
        for token in value.split(' ').filter(|token| !token.is_empty()) {
            // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
            let valid = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return Err(ScopeError);
            }
            tokens.insert(token.to_owned());
        }
        Ok(Self(tokens))
    }

    /// Returns whether the set has no token.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Returns whether `token` is in the set.
    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// Returns whether every token of `self` is in `other`.
    pub fn is_subset(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    /// Returns the tokens of `self` that are not in `other`.
    pub fn difference<'a>(&'a self, other: &'a Scope) -> impl Iterator<Item = &'a str> {
        self.0.difference(&other.0).map(String::as_str)
    }

    /// Returns the tokens of both sets.
    pub fn intersection(&self, other: &Scope) -> Scope {
        Scope(self.0.intersection(&other.0).cloned().collect())
    }

    /// Iterates over the tokens in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for token in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
            first = false;
        }
        Ok(())
    }
}

impl FromIterator<String> for Scope {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        Scope(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_sorts_and_deduplicates() {
        let scope = Scope::parse("write  read read").unwrap();
        assert_eq!(scope.to_string(), "read write");
        assert!(Scope::parse("").unwrap().is_empty());
    }

    #[test]
    fn parse_rejects_forbidden_characters() {
        assert_eq!(Scope::parse("read\"x"), Err(ScopeError));
        assert_eq!(Scope::parse("a\\b"), Err(ScopeError));
        assert_eq!(Scope::parse("caf\u{e9}"), Err(ScopeError));
        assert_eq!(Scope::parse("read\twrite"), Err(ScopeError));
    }

    #[test]
    fn subset_and_difference() {
        let allowed = Scope::parse("profile offline_access").unwrap();
        let asked = Scope::parse("profile bogus").unwrap();
        assert!(!asked.is_subset(&allowed));
        assert_eq!(asked.difference(&allowed).collect::<Vec<_>>(), ["bogus"]);
        assert_eq!(asked.intersection(&allowed).to_string(), "profile");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn parse_never_panics_and_round_trips(input in any::<String>()) {
            if let Ok(scope) = Scope::parse(&input) {
                prop_assert_eq!(Scope::parse(&scope.to_string()), Ok(scope));
            }
        }
    }
}
