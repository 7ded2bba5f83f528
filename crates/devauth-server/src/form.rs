//! Strict parsing of `application/x-www-form-urlencoded` request bodies.
//!
//! RFC 6749 section 3.1 says parameters sent without a value are treated as omitted, and that
//! request and response parameters must not be included more than once.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderMap, StatusCode};

use crate::error::OAuthError;

/// The parameters of one form body, each present at most once and never empty.
#[derive(Debug, Default)]
pub struct FormParams(HashMap<String, String>);

impl FormParams {
    /// Parses a body after checking its content type. A repeated parameter is rejected; an
    /// empty one is dropped.
    pub fn parse(
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Self, OAuthError> {
        let body = body.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                OAuthError::BodyTooLarge
            } else {
                OAuthError::InvalidRequest("cannot read the request body".into())
            }
        })?;

        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::InvalidRequest(
                "the body must be application/x-www-form-urlencoded".into(),
            ));
        }

        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|_| {
            OAuthError::InvalidRequest("the body is not valid UTF-8 form encoding".into())
        })?;
        Self::from_pairs(pairs)
    }

    /// Builds the parameters from decoded pairs, with the same rules as [`FormParams::parse`].
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, OAuthError> {
        let mut params = HashMap::with_capacity(pairs.len());
        let mut seen = std::collections::HashSet::with_capacity(pairs.len());
        for (name, value) in pairs {
            if !seen.insert(name.clone()) {
                return Err(OAuthError::InvalidRequest(format!(
                    "parameter {} is repeated",
                    printable(&name)
                )));
            }
            if !value.is_empty() {
                params.insert(name, value);
            }
        }
        Ok(Self(params))
    }

    /// Returns a parameter, or `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Returns a parameter that must be present.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::InvalidRequest(format!("missing parameter {name}")))
    }
}

/// Shortens a client-chosen name for an error message: at most 40 characters, no control
/// characters.
fn printable(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn repeated_parameter_is_rejected() {
        let error = FormParams::from_pairs(pairs(&[("scope", "a"), ("scope", "b")])).unwrap_err();
        assert!(matches!(error, OAuthError::InvalidRequest(text) if text.contains("scope")));
    }

    #[test]
    fn empty_parameter_is_absent() {
        let params = FormParams::from_pairs(pairs(&[("scope", ""), ("client_id", "x")])).unwrap();
        assert_eq!(params.get("scope"), None);
        assert!(params.require("scope").is_err());
        assert_eq!(params.require("client_id").unwrap(), "x");
    }
}
