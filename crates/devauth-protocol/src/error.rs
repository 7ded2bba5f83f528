//! OAuth 2.0 error codes and the error response body (RFC 6749 section 5.2, RFC 8628 section 3.5,
//! RFC 7009 section 2.2.1).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An error code of the token, device authorization, revocation or introspection endpoint.
///
/// Codes that this crate does not know are kept in [`ErrorCode::Other`] rather than rejected, so
/// a client can report whatever a server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request is missing a parameter, repeats one or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant (device code or refresh token) is invalid, expired, revoked or issued to
    /// another client.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown or exceeds what is allowed.
    InvalidScope,
    /// The person has not yet approved or denied the request (RFC 8628 section 3.5).
    AuthorizationPending,
    /// The client polls too fast and must add 5 seconds to its interval (RFC 8628 section 3.5).
    SlowDown,
    /// The person denied the request (RFC 8628 section 3.5).
    AccessDenied,
    /// The device code expired (RFC 8628 section 3.5).
    ExpiredToken,
    /// The token type hint is not supported (RFC 7009 section 2.2.1).
    UnsupportedTokenType,
    /// The server failed; details are in its log only.
    ServerError,
    /// The server is temporarily unable to handle the request.
    TemporarilyUnavailable,
    /// Any other code, kept as sent.
    Other(String),
}

impl ErrorCode {
    /// Returns the wire value of the code.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::Other(code) => code,
        }
    }

    /// Parses a wire value; unknown values become [`ErrorCode::Other`].
    pub fn parse(value: &str) -> Self {
        match value {
            "invalid_request" => ErrorCode::InvalidRequest,
            "invalid_client" => ErrorCode::InvalidClient,
            "invalid_grant" => ErrorCode::InvalidGrant,
            "unauthorized_client" => ErrorCode::UnauthorizedClient,
            "unsupported_grant_type" => ErrorCode::UnsupportedGrantType,
            "invalid_scope" => ErrorCode::InvalidScope,
            "authorization_pending" => ErrorCode::AuthorizationPending,
            "slow_down" => ErrorCode::SlowDown,
            "access_denied" => ErrorCode::AccessDenied,
            "expired_token" => ErrorCode::ExpiredToken,
            "unsupported_token_type" => ErrorCode::UnsupportedTokenType,
            "server_error" => ErrorCode::ServerError,
            "temporarily_unavailable" => ErrorCode::TemporarilyUnavailable,
            other => ErrorCode::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Ok(ErrorCode::parse(&value))
    }
}

/// The JSON error body of RFC 6749 section 5.2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error code.
    pub error: ErrorCode,
    /// Human-readable text for the developer of the client; never contains a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// A page about the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
    /// The new polling interval in seconds, sent with `slow_down` so clients that honor it need
    /// no arithmetic of their own. Not part of RFC 8628; clients may ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
}

impl ErrorResponse {
    /// Creates an error body with only a code.
    pub fn new(error: ErrorCode) -> Self {
        Self {
            error,
            error_description: None,
            error_uri: None,
            interval: None,
        }
    }

    /// Adds a description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.error_description = Some(description.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_round_trips_known_and_unknown() {
        for code in [
            "authorization_pending",
            "slow_down",
            "invalid_grant",
            "made_up",
        ] {
            assert_eq!(ErrorCode::parse(code).as_str(), code);
        }
        assert_eq!(
            ErrorCode::parse("made_up"),
            ErrorCode::Other("made_up".into())
        );
    }

    #[test]
    fn error_response_omits_absent_fields() {
        let body =
            serde_json::to_string(&ErrorResponse::new(ErrorCode::AuthorizationPending)).unwrap();
        assert_eq!(body, r#"{"error":"authorization_pending"}"#);
    }
}
