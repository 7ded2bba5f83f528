//! The token request and the classification of its response (RFC 6749 sections 5.1 and 5.2),
//! shared by polling and refresh.

use std::time::Duration;

use devauth_protocol::{Secret, TokenResponse};

use crate::client::DeviceClient;
use crate::error::{sanitize_text, Error};
use crate::response::{
    content_type, is_transient_status, oauth_error, parse_fields, retry_after, seconds_field,
    string_field, Fields, OAuthError,
};

/// The meaning of a token endpoint response to the caller.
#[derive(Debug)]
pub(crate) enum TokenReply {
    /// Tokens were issued.
    Issued(TokenResponse),
    /// An OAuth error, whatever the HTTP status (GitHub sends them with 200).
    Error { error: OAuthError, status: u16 },
    /// A 429 or 5xx: try again later, after `retry_after` when the server sent one.
    Transient {
        status: u16,
        retry_after: Option<Duration>,
    },
}

impl DeviceClient {
    /// Sends a token request with `params` plus client authentication and classifies the
    /// response. A transport failure is [`Error::Transport`]; a body that is neither tokens nor
    /// an OAuth error is [`Error::UnexpectedResponse`].
    pub(crate) async fn token_request(&self, params: &[(&str, &str)]) -> Result<TokenReply, Error> {
        let url = &self.endpoints.token_endpoint;
        let response = self.post_form(url, params).await?;
        let fields = parse_fields(&response);

        // A 5xx or 429 is retried whatever its body contains, because proxies send HTML pages and
        // servers send `server_error` or `temporarily_unavailable` with them.
        if is_transient_status(response.status) {
            return Ok(TokenReply::Transient {
                status: response.status,
                retry_after: retry_after(&response, self.clock.system_now()),
            });
        }

        if let Some(error) = fields.as_ref().and_then(oauth_error) {
            return Ok(TokenReply::Error {
                error,
                status: response.status,
            });
        }

        match fields {
            Some(fields) if (200..300).contains(&response.status) => {
                token_response(&fields, url.as_str()).map(TokenReply::Issued)
            }
            _ => Err(Error::UnexpectedResponse {
                url: url.to_string(),
                status: response.status,
                content_type: content_type(&response),
            }),
        }
    }
}

/// Reads a successful token response leniently: `token_type` defaults to `Bearer`, and
/// `expires_in` may be a string.
fn token_response(fields: &Fields, url: &str) -> Result<TokenResponse, Error> {
    let access_token =
        string_field(fields, "access_token").ok_or_else(|| Error::InvalidResponse {
            url: url.to_owned(),
            reason: "the token response has no access_token".into(),
        })?;
    let expires_in = seconds_field(fields, "expires_in")
        .filter(|seconds| *seconds > 0.0)
        .map(|seconds| seconds.min(u64::MAX as f64) as u64);
    Ok(TokenResponse {
        access_token: Secret::new(access_token),
        token_type: string_field(fields, "token_type")
            .map(sanitize_text)
            .unwrap_or_else(|| "Bearer".into()),
        expires_in,
        refresh_token: string_field(fields, "refresh_token")
            .filter(|token| !token.is_empty())
            .map(Secret::new),
        scope: string_field(fields, "scope").map(sanitize_text),
    })
}

/// Turns an OAuth error that ends an operation into the typed error.
pub(crate) fn terminal_error(error: OAuthError, status: u16) -> Error {
    use devauth_protocol::ErrorCode;
    match error.code {
        ErrorCode::AccessDenied => Error::AccessDenied,
        ErrorCode::ExpiredToken => Error::ExpiredToken,
        code => Error::Rejected {
            code,
            description: error.description,
            status,
        },
    }
}
