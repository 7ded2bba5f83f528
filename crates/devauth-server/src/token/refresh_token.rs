//! The refresh token grant (RFC 6749 section 6), with rotation on every use and family
//! revocation on reuse (OAuth 2.0 Security Best Current Practice, section 4.14).

use axum::http::StatusCode;
use axum::response::Response;
use devauth_protocol::Scope;

use super::issue::{issue, Grant};
use crate::audit::{self, AuditContext, AuditEvent};
use crate::client_auth::AuthenticatedClient;
use crate::crypto;
use crate::error::{json_response, OAuthError};
use crate::form::FormParams;
use crate::store::{Rotation, TokenKind, TokenRecord};
use crate::App;

/// Exchanges a current refresh token for a new access token and a new refresh token.
pub(super) async fn exchange(
    app: &App,
    client: &AuthenticatedClient,
    form: &FormParams,
    address: &str,
) -> Result<Response, OAuthError> {
    let presented = form.require("refresh_token")?;
    let now = app.clock.now_ms();

    let token = app
        .store
        .token(&crypto::digest(presented))
        .await?
        .filter(|token| token.kind == TokenKind::Refresh)
        .ok_or(OAuthError::UnknownRefreshToken)?;

    // A refresh token is bound to its client (RFC 6749 section 6).
    if token.client_id != client.id() {
        tracing::warn!(token_id = %token.id, client_id = %client.id(), "refresh token presented by another client");
        return Err(OAuthError::WrongClient);
    }
    // A rotated token presented again means two parties hold it: revoke everything it led to.
    if token.rotated_at.is_some() {
        return Err(revoke_reused_family(app, &token, address).await);
    }
    if token.revoked || now >= token.expires_at {
        return Err(OAuthError::RefreshTokenInactive);
    }

    // The new access token may have a narrower scope; the new refresh token keeps the
    // original one (RFC 6749 section 6).
    let original = Scope::parse(&token.scope)
        .map_err(|_| anyhow::anyhow!("token {} has an invalid stored scope", token.id))?;
    let access_scope = match form.get("scope") {
        None => original.clone(),
        Some(scope) => {
            let requested =
                Scope::parse(scope).map_err(|error| OAuthError::InvalidScope(error.to_string()))?;
            if !requested.is_subset(&original) {
                return Err(OAuthError::InvalidScope(
                    "the requested scope exceeds the original grant".into(),
                ));
            }
            requested
        }
    };
    super::enabled_user(app, &token.user_id, client, address).await?;

    let issued = issue(
        app,
        client,
        &Grant {
            user_id: &token.user_id,
            family_id: &token.family_id,
            access_scope: &access_scope,
            refresh_scope: Some(&original),
        },
        now,
    );
    match app
        .store
        .rotate_refresh_token(&token.id, now, &issued.records)
        .await?
    {
        Rotation::Rotated => {
            crate::metrics::TOKENS_ISSUED.increment();
            let context = AuditContext {
                client_id: Some(client.id()),
                user_id: Some(&token.user_id),
                address: Some(address),
                detail: Some(format!(
                    "token {} family {} scope {access_scope}",
                    token.id, token.family_id
                )),
            };
            audit::record(app, AuditEvent::TokenRefreshed, context).await;
            Ok(json_response(StatusCode::OK, &issued.response))
        }
        // Another request rotated this token between our read and our update: the same token
        // was used twice.
        Rotation::Stale => Err(revoke_reused_family(app, &token, address).await),
    }
}

async fn revoke_reused_family(app: &App, token: &TokenRecord, address: &str) -> OAuthError {
    match app.store.revoke_family(&token.family_id).await {
        Ok(revoked) => {
            let context = AuditContext {
                client_id: Some(&token.client_id),
                user_id: Some(&token.user_id),
                address: Some(address),
                detail: Some(format!(
                    "token {} reused; family {} lost {revoked} tokens",
                    token.id, token.family_id
                )),
            };
            audit::record(app, AuditEvent::RefreshReuseDetected, context).await;
            OAuthError::RefreshTokenReused
        }
        Err(error) => error.into(),
    }
}
