//! Token introspection (RFC 7662), for resource servers registered as confidential clients.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use devauth_protocol::IntrospectionResponse;

use crate::client_auth;
use crate::crypto;
use crate::error::{json_response, OAuthError};
use crate::form::FormParams;
use crate::store::{StoreError, TokenKind, TokenRecord, UserRecord};
use crate::App;

/// `POST /oauth/introspect`.
pub async fn introspect(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let form = FormParams::parse(&headers, body)?;
    let client = client_auth::authenticate(&app, &headers, &form).await?;
    // Introspection tells who a token belongs to, so only clients with a secret may ask.
    if !client.is_confidential() {
        return Err(OAuthError::ClientNotConfidential);
    }
    let presented = form.require("token")?;

    let response = match active_token(&app, presented).await? {
        None => IntrospectionResponse::default(),
        Some((token, user)) => IntrospectionResponse {
            active: true,
            scope: Some(token.scope),
            client_id: Some(token.client_id),
            username: Some(user.username),
            token_type: Some(token.kind.as_str().to_owned()),
            exp: Some(token.expires_at / 1000),
            iat: Some(token.created_at / 1000),
            sub: Some(user.id),
            iss: Some(app.config.issuer.clone()),
        },
    };
    Ok(json_response(StatusCode::OK, &response))
}

/// Returns a token and its user when the token is usable now: not revoked, not expired, not a
/// rotated refresh token, and its user enabled.
pub(crate) async fn active_token(
    app: &App,
    presented: &str,
) -> Result<Option<(TokenRecord, UserRecord)>, StoreError> {
    let now = app.clock.now_ms();
    let Some(token) = app.store.token(&crypto::digest(presented)).await? else {
        return Ok(None);
    };
    let rotated = token.kind == TokenKind::Refresh && token.rotated_at.is_some();
    if token.revoked || rotated || now >= token.expires_at {
        return Ok(None);
    }
    let user = app.store.user(&token.user_id).await?;
    Ok(user.filter(|user| !user.disabled).map(|user| (token, user)))
}
