//! The device authorization endpoint (RFC 8628 section 3.1 and 3.2).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use devauth_protocol::{DeviceAuthorizationResponse, Scope, UserCode};
use rand::rngs::OsRng;

use crate::client_auth::{self, AuthenticatedClient};
use crate::crypto::{self, DEVICE_CODE_PREFIX};
use crate::error::{json_response, OAuthError};
use crate::form::FormParams;
use crate::request::ClientAddr;
use crate::store::{NewGrant, StoreError};
use crate::App;

/// How many fresh user codes to try when the drawn one is taken. With 20^8 codes, a second
/// collision in a row means something other than chance is wrong.
const USER_CODE_ATTEMPTS: usize = 5;

/// `POST /oauth/device/code`: starts a device grant and returns its codes.
pub async fn device_authorization(
    State(app): State<App>,
    ClientAddr(client_addr): ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let form = FormParams::parse(&headers, body)?;
    let client = client_auth::authenticate(&app, &headers, &form).await?;

    // RFC 8628 section 3.1: the scope is optional; without it the client gets its default,
    // which is every scope it is allowed.
    let scope = requested_scope(&client, form.get("scope"))?;

    let record = client.record();
    let lifetime_secs = override_or(
        record.device_code_lifetime_secs,
        app.config.device_code_lifetime_secs,
    );
    let interval_secs = override_or(record.interval_secs, app.config.interval_secs);
    let now = app.clock.now_ms();
    let device_code = crypto::random_secret(DEVICE_CODE_PREFIX);
    let mut grant = NewGrant {
        id: crypto::random_id(),
        device_code_hash: crypto::digest(device_code.expose()),
        user_code: String::new(),
        client_id: client.id().to_owned(),
        requested_scope: scope.to_string(),
        request_ip: client_addr,
        created_at: now,
        expires_at: now.saturating_add(secs_to_ms(lifetime_secs)),
        interval_ms: secs_to_ms(interval_secs),
    };

    // User codes are unique among stored grants. A collision with an expired grant frees that
    // code; a collision with a live one draws another code.
    let user_code = insert_with_fresh_user_code(&app, &mut grant, now).await?;
    tracing::info!(grant_id = %grant.id, client_id = %grant.client_id, scope = %grant.requested_scope, "device authorization started");
    crate::metrics::DEVICE_AUTHORIZATIONS.increment();

    let verification_uri = app.config.url("/device");
    let verification_uri_complete = app
        .config
        .verification_uri_complete
        .then(|| format!("{verification_uri}?user_code={user_code}"));
    let response = DeviceAuthorizationResponse {
        device_code,
        user_code: user_code.to_string(),
        verification_uri,
        verification_uri_complete,
        expires_in: lifetime_secs,
        interval: Some(interval_secs),
    };
    Ok(json_response(StatusCode::OK, &response))
}

/// Parses and checks the requested scope against what the client may ask for.
fn requested_scope(client: &AuthenticatedClient, scope: Option<&str>) -> Result<Scope, OAuthError> {
    let allowed = client.allowed_scope();
    let Some(scope) = scope else {
        return Ok(allowed);
    };
    let requested =
        Scope::parse(scope).map_err(|error| OAuthError::InvalidScope(error.to_string()))?;
    if let Some(extra) = requested.difference(&allowed).next() {
        return Err(OAuthError::InvalidScope(format!(
            "scope {extra} is unknown or not allowed for this client"
        )));
    }
    Ok(requested)
}

async fn insert_with_fresh_user_code(
    app: &App,
    grant: &mut NewGrant,
    now: i64,
) -> Result<UserCode, OAuthError> {
    for _ in 0..USER_CODE_ATTEMPTS {
        let user_code = UserCode::generate(&mut OsRng);
        grant.user_code = user_code.as_str().to_owned();
        match app.store.insert_grant(grant).await {
            Ok(()) => return Ok(user_code),
            Err(StoreError::Conflict) => {
                app.store
                    .delete_expired_user_code(&grant.user_code, now)
                    .await?;
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(OAuthError::Internal(anyhow::anyhow!(
        "no free user code after {USER_CODE_ATTEMPTS} attempts"
    )))
}

/// Picks a client's own setting over the server default. Stored settings are positive.
pub(crate) fn override_or(client_value: Option<i64>, default: u64) -> u64 {
    client_value
        .and_then(|value| u64::try_from(value).ok())
        .filter(|value| *value > 0)
        .unwrap_or(default)
}

/// Converts whole seconds to milliseconds, saturating.
pub(crate) fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}
