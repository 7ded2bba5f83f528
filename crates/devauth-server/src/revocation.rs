//! Token revocation (RFC 7009).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::audit::{self, AuditContext, AuditEvent};
use crate::client_auth;
use crate::crypto;
use crate::error::{json_response, OAuthError};
use crate::form::FormParams;
use crate::request::ClientAddr;
use crate::store::TokenKind;
use crate::App;

/// `POST /oauth/revoke`. Public clients authenticate with `client_id` alone and may revoke only
/// their own tokens.
pub async fn revoke(
    State(app): State<App>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let form = FormParams::parse(&headers, body)?;
    let client = client_auth::authenticate(&app, &headers, &form).await?;
    let presented = form.require("token")?;
    // `token_type_hint` only speeds up a lookup (RFC 7009 section 2.1); one digest index
    // serves both kinds here, so the hint is not needed.

    // RFC 7009 section 2.2: unknown, invalid and foreign tokens all get 200, so the answer
    // does not tell a client whether a token exists.
    let Some(token) = app.store.token(&crypto::digest(presented)).await? else {
        return Ok(json_response(StatusCode::OK, &serde_json::json!({})));
    };
    if token.client_id != client.id() {
        tracing::warn!(token_id = %token.id, client_id = %client.id(), "client tried to revoke another client's token");
        return Ok(json_response(StatusCode::OK, &serde_json::json!({})));
    }

    // Revoking a refresh token also revokes the access tokens of the same grant (RFC 7009
    // section 2.1 says it should).
    match token.kind {
        TokenKind::Refresh => {
            app.store.revoke_family(&token.family_id).await?;
        }
        TokenKind::Access => app.store.revoke_token(&token.id).await?,
    }
    let context = AuditContext {
        client_id: Some(client.id()),
        user_id: Some(&token.user_id),
        address: Some(&address),
        detail: Some(format!("{} {}", token.kind.as_str(), token.id)),
    };
    audit::record(&app, AuditEvent::TokenRevoked, context).await;
    Ok(json_response(StatusCode::OK, &serde_json::json!({})))
}
