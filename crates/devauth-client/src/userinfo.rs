//! The userinfo request: the user an access token belongs to.

use devauth_protocol::Secret;
use serde_json::{Map, Value};

use crate::client::DeviceClient;
use crate::error::{sanitize_text, Error};
use crate::http::{HttpRequest, Method};
use crate::response::{content_type, is_transient_status, parse_fields, string_field};

/// The userinfo response, with the common fields picked out.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInfo {
    /// The stable subject identifier.
    pub sub: Option<String>,
    /// A display name: `username`, else `preferred_username` (OpenID Connect), else `login`
    /// (GitHub), else `email`.
    pub username: Option<String>,
    /// The client the token was issued to, when the server returns it.
    pub client_id: Option<String>,
    /// The token's scope, when the server returns it.
    pub scope: Option<String>,
    /// Every field as sent.
    pub fields: Map<String, Value>,
}

impl DeviceClient {
    /// Fetches the userinfo endpoint with `access_token` as a Bearer token (RFC 6750 section
    /// 2.1).
    ///
    /// # Errors
    ///
    /// [`Error::MissingEndpoint`] without a userinfo endpoint, [`Error::InvalidToken`] on 401,
    /// [`Error::Unavailable`] on 429 and 5xx.
    pub async fn userinfo(&self, access_token: &Secret) -> Result<UserInfo, Error> {
        let url = self
            .endpoints
            .userinfo_endpoint
            .as_ref()
            .ok_or(Error::MissingEndpoint("userinfo endpoint"))?;
        let request = HttpRequest {
            method: Method::Get,
            url: url.clone(),
            headers: vec![
                ("accept".into(), "application/json".into()),
                (
                    "authorization".into(),
                    format!("Bearer {}", access_token.expose()),
                ),
            ],
            form: None,
        };
        let response = self.send(request).await?;

        if response.status == 401 {
            return Err(Error::InvalidToken {
                url: url.to_string(),
            });
        }
        if is_transient_status(response.status) {
            return Err(Error::Unavailable {
                url: url.to_string(),
                status: response.status,
            });
        }
        let fields = match parse_fields(&response) {
            Some(fields) if response.status == 200 => fields,
            _ => {
                return Err(Error::UnexpectedResponse {
                    url: url.to_string(),
                    status: response.status,
                    content_type: content_type(&response),
                })
            }
        };

        let text = |name: &str| string_field(&fields, name).map(sanitize_text);
        let sub = text("sub").or_else(|| fields.get("id").map(|id| sanitize_text(&id.to_string())));
        Ok(UserInfo {
            sub,
            username: text("username")
                .or_else(|| text("preferred_username"))
                .or_else(|| text("login"))
                .or_else(|| text("email")),
            client_id: text("client_id"),
            scope: text("scope"),
            fields,
        })
    }
}
