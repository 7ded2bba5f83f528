//! The device code grant (RFC 8628 section 3.4 and 3.5).

use axum::http::StatusCode;
use axum::response::Response;
use devauth_protocol::Scope;

use super::issue::{issue, Grant, OFFLINE_ACCESS};
use crate::attempt_limit::{self, UNKNOWN_DEVICE_CODE};
use crate::audit::{self, AuditContext, AuditEvent};
use crate::client_auth::AuthenticatedClient;
use crate::crypto;
use crate::error::{json_response, OAuthError};
use crate::form::FormParams;
use crate::metrics;
use crate::store::{GrantRecord, GrantStatus, RecordedPoll};
use crate::App;

/// The increase RFC 8628 section 3.5 adds to the interval for each poll that came too soon.
const SLOW_DOWN_MS: i64 = 5000;

/// Handles one poll: pending, slow_down, denied, expired, or the tokens once.
pub(super) async fn exchange(
    app: &App,
    client: &AuthenticatedClient,
    form: &FormParams,
    address: &str,
) -> Result<Response, OAuthError> {
    let device_code = form.require("device_code")?;
    let now = app.clock.now_ms();
    if let Some(end) = app.blocked_addresses.blocked_until(address, now) {
        metrics::RATE_LIMITED.increment();
        return Err(OAuthError::TooManyAttempts {
            retry_after_secs: ms_to_secs_ceil(end.saturating_sub(now)),
        });
    }

    // The common case, a pending grant of this client, takes one conditional UPDATE on the
    // device code's digest index. The index compares digests, never the code itself.
    let hash = crypto::digest(device_code);
    if let Some(poll) = app
        .store
        .record_poll(&hash, client.id(), now, SLOW_DOWN_MS)
        .await?
    {
        return Err(poll_outcome(&poll));
    }

    // Anything else: find out what the grant is.
    let Some(grant) = app.store.grant_by_device_code(&hash).await? else {
        return Err(unknown_device_code(app, client, address, now).await);
    };

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
        GrantStatus::Approved => redeem(app, client, &grant, now, address).await,
        // Unreachable in practice, because the UPDATE above matches every pending, unexpired
        // grant of this client. Reported as pending without recording a poll.
        GrantStatus::Pending => Err(OAuthError::Pending),
    }
}

/// Converts a recorded poll into its error response. The first poll is never early. A later one
/// is early when it came sooner than the current interval after the previous poll, compared in
/// milliseconds, and then the interval rose by 5 seconds (RFC 8628 section 3.5).
fn poll_outcome(poll: &RecordedPoll) -> OAuthError {
    if poll.early {
        tracing::warn!(grant_id = %poll.grant_id, interval_ms = poll.interval_ms, "device polled too fast");
        metrics::POLLS_SLOW_DOWN.increment();
        return OAuthError::SlowDown {
            interval_secs: ms_to_secs_ceil(poll.interval_ms),
        };
    }
    metrics::POLLS_PENDING.increment();
    OAuthError::Pending
}

/// Exchanges an approved grant for tokens, exactly once across all racing requests.
async fn redeem(
    app: &App,
    client: &AuthenticatedClient,
    grant: &GrantRecord,
    now: i64,
    address: &str,
) -> Result<Response, OAuthError> {
    let user_id = grant
        .user_id
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("approved grant {} has no user", grant.id))?;
    super::enabled_user(app, user_id, client, address).await?;

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
    metrics::TOKENS_ISSUED.increment();
    let context = AuditContext {
        client_id: Some(client.id()),
        user_id: Some(user_id),
        address: Some(address),
        detail: Some(format!("grant {} scope {scope}", grant.id)),
    };
    audit::record(app, AuditEvent::TokenIssued, context).await;
    Ok(json_response(StatusCode::OK, &issued.response))
}

/// Counts an unknown device code against the client's address, and blocks the address once it
/// is over the limit, so that device codes cannot be enumerated from one address.
async fn unknown_device_code(
    app: &App,
    client: &AuthenticatedClient,
    address: &str,
    now: i64,
) -> OAuthError {
    let keys = [format!("unknown_device_code:address:{address}")];
    let counted = async {
        attempt_limit::record_failure(app, &keys).await?;
        attempt_limit::is_limited(app, UNKNOWN_DEVICE_CODE, &keys).await
    };
    match counted.await {
        Ok(true) => {
            let end = now.saturating_add(UNKNOWN_DEVICE_CODE.window_ms);
            app.blocked_addresses.block(address, end);
            let context = AuditContext {
                client_id: Some(client.id()),
                address: Some(address),
                detail: Some("too many unknown device codes; address blocked".into()),
                ..AuditContext::default()
            };
            audit::record(app, AuditEvent::RateLimited, context).await;
            OAuthError::UnknownDeviceCode
        }
        Ok(false) => OAuthError::UnknownDeviceCode,
        Err(error) => error.into(),
    }
}

/// Converts milliseconds to whole seconds, rounding up, so a client that waits that long is
/// never early.
fn ms_to_secs_ceil(millis: i64) -> u64 {
    u64::try_from(millis.saturating_add(999) / 1000).unwrap_or(0)
}
