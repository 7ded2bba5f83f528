//! The refresh token grant (RFC 6749 section 6).

use devauth_protocol::{Secret, TokenResponse};

use crate::client::DeviceClient;
use crate::error::Error;
use crate::token::{terminal_error, TokenReply};

impl DeviceClient {
    /// Exchanges `refresh_token` for new tokens, optionally for a narrower `scope`.
    ///
    /// When the server rotates refresh tokens the response carries the new one. When it sends
    /// none, the returned response carries `refresh_token` again, because RFC 6749 section 6
    /// lets the server keep the old one valid.
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] with `invalid_grant` when the refresh token was revoked, expired or
    /// already rotated; [`Error::Unavailable`] for 429 and 5xx responses.
    pub async fn refresh(
        &self,
        refresh_token: &Secret,
        scope: Option<&str>,
    ) -> Result<TokenResponse, Error> {
        let mut params = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        if let Some(scope) = scope.filter(|scope| !scope.is_empty()) {
            params.push(("scope", scope));
        }
        match self.token_request(&params).await? {
            TokenReply::Issued(mut tokens) => {
                if tokens.refresh_token.is_none() {
                    tokens.refresh_token = Some(refresh_token.clone());
                }
                tracing::debug!("access token refreshed");
                Ok(tokens)
            }
            TokenReply::Error { error, status } => Err(terminal_error(error, status)),
            TokenReply::Transient { status, .. } => Err(Error::Unavailable {
                url: self.endpoints.token_endpoint.to_string(),
                status,
            }),
        }
    }
}
