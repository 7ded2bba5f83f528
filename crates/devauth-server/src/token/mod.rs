//! The token endpoint (RFC 6749 section 3.2) and its two grants, each in its own module with
//! the same shape: read its parameters, check the grant, issue tokens.

mod device_code;
mod issue;
mod refresh_token;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use devauth_protocol::GrantType;

use crate::audit::{self, AuditContext, AuditEvent};
use crate::client_auth;
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::request::ClientAddr;
use crate::App;

/// `POST /oauth/device/token`.
pub async fn token(
    State(app): State<App>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let form = FormParams::parse(&headers, body)?;
    let grant_type: GrantType = form
        .require("grant_type")?
        .parse()
        .map_err(|_| OAuthError::UnsupportedGrantType)?;
    let client = client_auth::authenticate(&app, &headers, &form).await?;

    match grant_type {
        GrantType::DeviceCode => device_code::exchange(&app, &client, &form, &address).await,
        GrantType::RefreshToken => refresh_token::exchange(&app, &client, &form, &address).await,
    }
}

/// Checks that the account still exists and is enabled. Checked when tokens are minted,
/// because a person can be disabled between approval and redemption, or before a refresh.
async fn enabled_user(
    app: &App,
    user_id: &str,
    client: &client_auth::AuthenticatedClient,
    address: &str,
) -> Result<(), OAuthError> {
    match app.store.user(user_id).await? {
        Some(user) if !user.disabled => Ok(()),
        _ => {
            let context = AuditContext {
                client_id: Some(client.id()),
                user_id: Some(user_id),
                address: Some(address),
                detail: Some("account disabled or removed".into()),
            };
            audit::record(app, AuditEvent::TokenRefused, context).await;
            Err(OAuthError::UserDisabled)
        }
    }
}
