//! The error type of every client operation.

use std::time::Duration;

use devauth_protocol::ErrorCode;

/// The failure of a client operation.
///
/// Server-sent text (`error_description`) is kept only after control characters are removed and
/// its length is bounded, so printing an error cannot inject terminal escapes. No variant contains a
/// device code, token or client secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The person denied the authorization request (`access_denied`, RFC 8628 section 3.5).
    #[error("the authorization request was denied")]
    AccessDenied,

    /// The device code expired before the person approved it: the server sent `expired_token`
    /// (RFC 8628 section 3.5), or the `expires_in` deadline passed on the client's clock.
    #[error("the device code expired before the authorization request was approved")]
    ExpiredToken,

    /// The server returned an OAuth error that ends the operation, such as
    /// `invalid_grant`, `invalid_client` or `invalid_scope`. Unknown codes are kept as sent.
    #[error("the authorization server rejected the request: {code}{}", describe(.description))]
    Rejected {
        /// The error code, kept as sent when unknown.
        code: ErrorCode,
        /// The server's `error_description`, sanitized.
        description: Option<String>,
        /// The HTTP status of the response.
        status: u16,
    },

    /// The request did not reach the server or its response did not arrive.
    #[error("request to {url} failed: {message}")]
    Transport {
        /// The endpoint; endpoint URLs never carry secrets.
        url: String,
        /// The failure, from the HTTP library.
        message: String,
    },

    /// The server returned a status or body that is not a protocol response, such as an
    /// HTML error page from a proxy.
    #[error("unexpected response from {url}: HTTP {status}{}", describe_content_type(.content_type))]
    UnexpectedResponse {
        /// The endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The `Content-Type` header, when present.
        content_type: Option<String>,
    },

    /// The server returned 429 or a 5xx status to a request that is not retried automatically.
    #[error("{url} is unavailable (HTTP {status}); try again later")]
    Unavailable {
        /// The endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
    },

    /// A resource server rejected the access token (HTTP 401).
    #[error("{url} rejected the access token (HTTP 401)")]
    InvalidToken {
        /// The endpoint.
        url: String,
    },

    /// A response parsed but lacks a required field or has one of the wrong type.
    #[error("invalid response from {url}: {reason}")]
    InvalidResponse {
        /// The endpoint.
        url: String,
        /// The missing or malformed field.
        reason: String,
    },

    /// No metadata document was found at any of the discovery locations.
    #[error("no authorization server metadata found for {issuer}: {reason}")]
    Discovery {
        /// The issuer URL that was given.
        issuer: String,
        /// The result of the last location tried.
        reason: String,
    },

    /// A URL given in the configuration or the metadata is not a valid absolute URL.
    #[error("invalid URL {value:?}: {reason}")]
    InvalidUrl {
        /// The value, which is never a secret.
        value: String,
        /// The parse error.
        reason: String,
    },

    /// The server does not advertise the endpoint that the operation needs.
    #[error("the authorization server has no {0}")]
    MissingEndpoint(&'static str),

    /// Waiting ended at the caller's timeout while the request was still pending.
    #[error("still waiting for approval after {0:?}")]
    TimedOut(Duration),

    /// The caller cancelled the operation.
    #[error("cancelled")]
    Cancelled,

    /// Reading or writing the token store failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

impl Error {
    /// Returns the OAuth error code, when the server sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::AccessDenied => Some(ErrorCode::AccessDenied),
            Error::ExpiredToken => Some(ErrorCode::ExpiredToken),
            Error::Rejected { code, .. } => Some(code.clone()),
            _ => None,
        }
    }

    /// Returns whether the server rejected a grant (`invalid_grant`): a refresh token that was
    /// rotated, revoked or expired, or a device code already redeemed.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(
            self,
            Error::Rejected {
                code: ErrorCode::InvalidGrant,
                ..
            }
        )
    }
}

fn describe(description: &Option<String>) -> String {
    match description {
        Some(text) => format!(" ({text})"),
        None => String::new(),
    }
}

fn describe_content_type(content_type: &Option<String>) -> String {
    match content_type {
        Some(value) => format!(" with Content-Type {value}"),
        None => String::new(),
    }
}

/// Removes control characters and bounds the length of server-sent text before it is shown.
pub(crate) fn sanitize_text(text: &str) -> String {
    const MAX_CHARS: usize = 300;
    let mut clean: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_CHARS)
        .collect();
    if text.chars().filter(|c| !c.is_control()).count() > MAX_CHARS {
        clean.push('…');
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_text_strips_escape_sequences() {
        assert_eq!(sanitize_text("bad\u{1b}[31m code\n"), "bad[31m code");
    }

    #[test]
    fn sanitize_text_bounds_length() {
        let long = "x".repeat(1000);
        assert_eq!(sanitize_text(&long).chars().count(), 301);
    }

    #[test]
    fn rejected_error_shows_unknown_code_as_sent() {
        let error = Error::Rejected {
            code: ErrorCode::parse("made_up_code"),
            description: Some("why".into()),
            status: 400,
        };
        assert_eq!(
            error.to_string(),
            "the authorization server rejected the request: made_up_code (why)"
        );
    }
}
