//! The server's internal reasons for rejecting a protocol request, and the one mapping that
//! folds them into RFC 6749 section 5.2 error responses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use devauth_protocol::{ErrorCode, ErrorResponse};

use crate::store::StoreError;

/// The reason a request to a protocol endpoint failed. Several reasons share one wire code, and
/// the reason itself reaches only the log.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The request is malformed; the text names the parameter and is safe to send.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The body exceeds the size limit.
    #[error("request body too large")]
    BodyTooLarge,
    /// `grant_type` names a grant this server does not offer.
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    /// No client with this id exists.
    #[error("unknown client")]
    UnknownClient,
    /// A confidential client sent no secret or a wrong one, or a public client sent one.
    #[error("client authentication failed")]
    BadClientCredentials,
    /// The endpoint serves confidential clients only.
    #[error("client is not confidential")]
    ClientNotConfidential,
    /// No grant has this device code.
    #[error("unknown device code")]
    UnknownDeviceCode,
    /// The device code or refresh token belongs to another client.
    #[error("grant issued to another client")]
    WrongClient,
    /// The device code was already exchanged for tokens.
    #[error("device code already redeemed")]
    AlreadyRedeemed,
    /// The device code expired.
    #[error("device code expired")]
    ExpiredDeviceCode,
    /// The person denied the request.
    #[error("access denied")]
    Denied,
    /// The person has not decided yet.
    #[error("authorization pending")]
    Pending,
    /// The client polled sooner than its interval; the new interval is in seconds.
    #[error("polled too fast")]
    SlowDown {
        /// The raised interval.
        interval_secs: u64,
    },
    /// The account behind the grant is disabled or gone.
    #[error("user disabled")]
    UserDisabled,
    /// No refresh token matches.
    #[error("unknown refresh token")]
    UnknownRefreshToken,
    /// The refresh token was revoked or expired.
    #[error("refresh token revoked or expired")]
    RefreshTokenInactive,
    /// A rotated refresh token was presented again; its family is now revoked.
    #[error("refresh token reused")]
    RefreshTokenReused,
    /// The scope is malformed, unknown, not allowed or wider than granted; the text is safe to
    /// send.
    #[error("invalid scope: {0}")]
    InvalidScope(String),
    /// The client's address presented too many unknown device codes; it may retry after the
    /// given number of seconds.
    #[error("too many unknown device codes")]
    TooManyAttempts {
        /// Seconds until the block ends.
        retry_after_secs: u64,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Any other server fault.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl OAuthError {
    /// Folds the reason into its status and error body.
    fn to_wire(&self) -> (StatusCode, ErrorResponse) {
        let plain = |status, code| (status, ErrorResponse::new(code));
        let described =
            |status, code, text: &str| (status, ErrorResponse::new(code).with_description(text));
        match self {
            OAuthError::InvalidRequest(text) => {
                described(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, text)
            }
            OAuthError::BodyTooLarge => described(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::InvalidRequest,
                "request body too large",
            ),
            OAuthError::UnsupportedGrantType => {
                plain(StatusCode::BAD_REQUEST, ErrorCode::UnsupportedGrantType)
            }
            OAuthError::UnknownClient | OAuthError::BadClientCredentials => described(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidClient,
                "client authentication failed",
            ),
            OAuthError::ClientNotConfidential => described(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidClient,
                "this endpoint requires an authenticated confidential client",
            ),
            OAuthError::UnknownDeviceCode
            | OAuthError::WrongClient
            | OAuthError::AlreadyRedeemed
            | OAuthError::UserDisabled
            | OAuthError::UnknownRefreshToken
            | OAuthError::RefreshTokenInactive
            | OAuthError::RefreshTokenReused => {
                plain(StatusCode::BAD_REQUEST, ErrorCode::InvalidGrant)
            }
            OAuthError::ExpiredDeviceCode => {
                plain(StatusCode::BAD_REQUEST, ErrorCode::ExpiredToken)
            }
            OAuthError::Denied => plain(StatusCode::BAD_REQUEST, ErrorCode::AccessDenied),
            OAuthError::Pending => plain(StatusCode::BAD_REQUEST, ErrorCode::AuthorizationPending),
            OAuthError::SlowDown { interval_secs } => {
                let mut body = ErrorResponse::new(ErrorCode::SlowDown);
                body.interval = Some(*interval_secs);
                (StatusCode::BAD_REQUEST, body)
            }
            OAuthError::InvalidScope(text) => {
                described(StatusCode::BAD_REQUEST, ErrorCode::InvalidScope, text)
            }
            OAuthError::TooManyAttempts { .. } => described(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::InvalidRequest,
                "too many unknown device codes from this address; retry later",
            ),
            OAuthError::Store(StoreError::Unavailable(_)) => described(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "the server cannot reach its database; retry later",
            ),
            OAuthError::Store(_) | OAuthError::Internal(_) => {
                plain(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::ServerError)
            }
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (status, body) = self.to_wire();
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        } else if matches!(
            self,
            OAuthError::RefreshTokenReused | OAuthError::WrongClient
        ) {
            tracing::warn!(reason = %self, "rejected grant");
        } else {
            tracing::debug!(reason = %self, "rejected request");
        }
        let mut response = json_response(status, &body);
        if let OAuthError::TooManyAttempts { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"devauth\""),
            );
        }
        response
    }
}

/// Builds the response for a protocol path called with the wrong method: 405 with an RFC 6749 error body.
/// The router adds the `Allow` header.
pub async fn method_not_allowed() -> Response {
    let body = ErrorResponse::new(ErrorCode::InvalidRequest)
        .with_description("this endpoint does not support the request method");
    json_response(StatusCode::METHOD_NOT_ALLOWED, &body)
}

/// Builds a JSON response that no cache may store, as RFC 6749 section 5.1 requires for
/// anything that carries a token or a code.
pub fn json_response<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = match serde_json::to_vec(body) {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "cannot serialize response");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        bytes,
    )
        .into_response()
}
