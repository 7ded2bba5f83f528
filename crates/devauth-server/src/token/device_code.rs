//! The device code grant (RFC 8628 section 3.4 and 3.5).

use axum::http::StatusCode;
use axum::response::Response;
use devauth_protocol::Scope;

use super::issue::{issue, Grant, OFFLINE_ACCESS};
use crate::client_auth::AuthenticatedClient;
use crate::crypto;
use crate::error::{json_response, OAuthError};
use crate::form::FormParams;
use crate::store::{GrantRecord, GrantStatus};
use crate::App;

/// What RFC 8628 section 3.5 adds to the interval for each poll that came too soon.
const SLOW_DOWN_MS: i64 = 5000;

/// Answers one poll: pending, slow_down, denied, expired, or the tokens once.
pub(super) async fn exchange(
    app: &App,
    client: &AuthenticatedClient,
    form: &FormParams,
) -> Result<Response, OAuthError> {
    let device_code = form.require("device_code")?;
    let now = app.clock.now_ms();

    // One indexed lookup by digest. The index compares digests, never the code itself.
    let grant = app
        .store
        .grant_by_device_code(&crypto::digest(device_code))
        .await?
        .ok_or(OAuthError::UnknownDeviceCode)?;

    // The device code is bound to the client that requested it (RFC 8628 section 3.4). A
    // mismatch leaves the grant as it is: a client id is public, so whoever holds the device
    // code could present the right one anyway, and burning it would let a misconfigured client
    // break someone else's sign-in. Client ids are public, so a plain comparison is fine.
    if grant.client_id != client.id() {
        tracing::warn!(grant_id = %grant.id, client_id = %client.id(), "device code presented by another client");
        return Err(OAuthError::WrongClient);
    }

    match grant.status {
        GrantStatus::Redeemed => Err(OAuthError::AlreadyRedeemed),
        // Expiry wins over every other state: approval does not extend the code's life.
        _ if now >= grant.expires_at => Err(OAuthError::ExpiredDeviceCode),
        GrantStatus::Denied => Err(OAuthError::Denied),
        // An approved grant is redeemable even by a poll that came too soon.
        GrantStatus::Approved => redeem(app, client, &grant, now).await,
        GrantStatus::Pending => record_poll(app, &grant, now).await,
    }
}

/// Applies the interval rule to a poll of a pending grant. The first poll is never early; a
/// later one is early when it comes sooner than the current interval after the previous poll,
/// compared in milliseconds.
async fn record_poll(app: &App, grant: &GrantRecord, now: i64) -> Result<Response, OAuthError> {
    let early = grant
        .last_poll_at
        .is_some_and(|last| now.saturating_sub(last) < grant.interval_ms);
    let interval_ms = if early {
        grant.interval_ms.saturating_add(SLOW_DOWN_MS)
    } else {
        grant.interval_ms
    };

    let recorded = app
        .store
        .record_poll(&grant.id, grant.last_poll_at, now, interval_ms)
        .await?;
    // Losing the conditional update means another poll of this device code landed between our
    // read and our write: two polls at once are too fast by definition.
    if early || !recorded {
        tracing::warn!(grant_id = %grant.id, interval_ms, "device polled too fast");
        return Err(OAuthError::SlowDown {
            interval_secs: u64::try_from(interval_ms.saturating_add(999) / 1000)
                .unwrap_or(u64::MAX),
        });
    }
    Err(OAuthError::Pending)
}

/// Exchanges an approved grant for tokens, exactly once across all racing requests.
async fn redeem(
    app: &App,
    client: &AuthenticatedClient,
    grant: &GrantRecord,
    now: i64,
) -> Result<Response, OAuthError> {
    let user_id = grant
        .user_id
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("approved grant {} has no user", grant.id))?;
    super::enabled_user(app, user_id).await?;

    let scope = Scope::parse(grant.granted_scope.as_deref().unwrap_or_default())
        .map_err(|_| anyhow::anyhow!("grant {} has an invalid stored scope", grant.id))?;
    let issued = issue(
        app,
        client,
        &Grant {
            user_id,
            family_id: &grant.id,
            access_scope: &scope,
            refresh_scope: scope.contains(OFFLINE_ACCESS).then_some(&scope),
        },
        now,
    );

    // The conditional update inside decides the race: only one request moves the grant from
    // approved to redeemed, and only that one stores and returns tokens.
    if !app
        .store
        .redeem_grant(&grant.id, now, &issued.records)
        .await?
    {
        return Err(OAuthError::AlreadyRedeemed);
    }
    tracing::info!(grant_id = %grant.id, client_id = %client.id(), user_id, scope = %scope, "tokens issued");
    Ok(json_response(StatusCode::OK, &issued.response))
}
