//! Token revocation (RFC 7009).

use devauth_protocol::Secret;

use crate::client::DeviceClient;
use crate::error::Error;
use crate::response::{content_type, is_transient_status, oauth_error, parse_fields};
use crate::token::terminal_error;

/// The kind of token revoked, sent as `token_type_hint` (RFC 7009 section 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`; servers revoke the access tokens of the same grant with it.
    RefreshToken,
}

impl TokenTypeHint {
    /// Returns the wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenTypeHint::AccessToken => "access_token",
            TokenTypeHint::RefreshToken => "refresh_token",
        }
    }
}

impl DeviceClient {
    /// Revokes `token` at the revocation endpoint.
    ///
    /// Succeeds on status 200, which RFC 7009 section 2.2 also prescribes for a token that is
    /// already invalid.
    ///
    /// # Errors
    ///
    /// [`Error::MissingEndpoint`] when the server advertises no revocation endpoint,
    /// [`Error::Rejected`] for an OAuth error, [`Error::Unavailable`] for 429 and 5xx.
    pub async fn revoke(&self, token: &Secret, hint: TokenTypeHint) -> Result<(), Error> {
        let url = self
            .endpoints
            .revocation_endpoint
            .as_ref()
            .ok_or(Error::MissingEndpoint("revocation endpoint"))?;
        let params = [
            ("token", token.expose()),
            ("token_type_hint", hint.as_str()),
        ];
        let response = self.post_form(url, &params).await?;

        if response.status == 200 {
            tracing::debug!(hint = hint.as_str(), "token revoked");
            return Ok(());
        }
        if is_transient_status(response.status) {
            return Err(Error::Unavailable {
                url: url.to_string(),
                status: response.status,
            });
        }
        if let Some(error) = parse_fields(&response).as_ref().and_then(oauth_error) {
            return Err(terminal_error(error, response.status));
        }
        Err(Error::UnexpectedResponse {
            url: url.to_string(),
            status: response.status,
            content_type: content_type(&response),
        })
    }
}
