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

        let pairs = decode_pairs(&body).ok_or_else(|| {
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

/// Decodes `application/x-www-form-urlencoded` bytes strictly: `None` when a name or value is
/// not UTF-8 after percent-decoding, where lenient decoders substitute U+FFFD and carry on.
pub fn decode_pairs(body: &[u8]) -> Option<Vec<(String, String)>> {
    let decode = |part: &[u8]| -> Option<String> {
        let spaced: Vec<u8> = part
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
        String::from_utf8(bytes).ok()
    };
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut halves = pair.splitn(2, |&b| b == b'=');
            let name = decode(halves.next().unwrap_or_default())?;
            let value = decode(halves.next().unwrap_or_default())?;
            Some((name, value))
        })
        .collect()
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
    fn decode_rejects_invalid_utf8_and_decodes_plus() {
        assert_eq!(decode_pairs(b"a=%FF"), None);
        assert_eq!(decode_pairs(&[0x61, 0x3d, 0xff]), None);
        let pairs = decode_pairs(b"scope=read+write&x=%2B&&flag").unwrap();
        assert_eq!(
            pairs,
            super::tests::pairs(&[("scope", "read write"), ("x", "+"), ("flag", "")])
        );
    }

    #[test]
    fn empty_parameter_is_absent() {
        let params = FormParams::from_pairs(pairs(&[("scope", ""), ("client_id", "x")])).unwrap();
        assert_eq!(params.get("scope"), None);
        assert!(params.require("scope").is_err());
        assert_eq!(params.require("client_id").unwrap(), "x");
    }
}
