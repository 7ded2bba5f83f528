//! Client authentication (RFC 6749 section 2.3): public clients name themselves with
//! `client_id`; confidential clients also prove their secret by HTTP Basic or
//! `client_secret_post`, never both at once.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use devauth_protocol::Scope;

use crate::crypto;
use crate::error::OAuthError;
use crate::form::FormParams;
use crate::store::{ClientRecord, StoreError};
use crate::App;

/// How long a client record is served from memory, in milliseconds. A client changed or
/// removed with `devauthd client` takes effect on a running server within this time.
pub const CLIENT_CACHE_TTL_MS: i64 = 5_000;

/// Registered clients read recently, so that requests (every poll among them) skip a database
/// read. Only clients that exist are kept, so the cache is as large as the client table at most.
#[derive(Debug, Default)]
pub struct ClientCache {
    entries: RwLock<HashMap<String, (ClientRecord, i64)>>,
}

impl ClientCache {
    /// Returns the client, from memory when read less than [`CLIENT_CACHE_TTL_MS`] ago.
    async fn get(&self, app: &App, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let now = app.clock.now_ms();
        {
            let entries = self
                .entries
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some((record, read_at)) = entries.get(client_id) {
                if now.saturating_sub(*read_at) < CLIENT_CACHE_TTL_MS {
                    return Ok(Some(record.clone()));
                }
            }
        }

        let record = app.store.client(client_id).await?;
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match &record {
            Some(record) => {
                entries.insert(client_id.to_owned(), (record.clone(), now));
            }
            None => {
                entries.remove(client_id);
            }
        }
        Ok(record)
    }
}

/// Evidence that a request's client was identified and, if confidential, authenticated. Only
/// [`authenticate`] creates one, so code that needs it cannot skip the check.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    record: ClientRecord,
}

impl AuthenticatedClient {
    /// Returns the client's id.
    pub fn id(&self) -> &str {
        &self.record.client_id
    }

    /// Returns the client's stored record.
    pub fn record(&self) -> &ClientRecord {
        &self.record
    }

    /// Returns whether the client authenticated with a secret.
    pub fn is_confidential(&self) -> bool {
        self.record.secret_hash.is_some()
    }

    /// Returns the scopes the client may request.
    pub fn allowed_scope(&self) -> Scope {
        Scope::parse(&self.record.allowed_scope).unwrap_or_default()
    }
}

/// Identifies and authenticates the client of a form request.
pub async fn authenticate(
    app: &App,
    headers: &HeaderMap,
    form: &FormParams,
) -> Result<AuthenticatedClient, OAuthError> {
    let basic = basic_credentials(headers)?;
    let (client_id, secret) = match basic {
        Some((id, secret)) => {
            if form.get("client_secret").is_some() {
                return Err(OAuthError::InvalidRequest(
                    "use one client authentication method, not both".into(),
                ));
            }
            if form.get("client_id").is_some_and(|form_id| form_id != id) {
                return Err(OAuthError::InvalidRequest(
                    "client_id differs from the Authorization header".into(),
                ));
            }
            (id, Some(secret))
        }
        None => {
            let id = form
                .get("client_id")
                // No client identification at all is failed client authentication
                // (RFC 6749 section 5.2), so it gets 401 invalid_client.
                .ok_or(OAuthError::BadClientCredentials)?;
            (id.to_owned(), form.get("client_secret").map(str::to_owned))
        }
    };

    let Some(record) = app.clients.get(app, &client_id).await? else {
        return Err(OAuthError::UnknownClient);
    };
    match (&record.secret_hash, secret) {
        (None, None) => {}
        (Some(stored), Some(secret)) if crypto::digests_match(stored, &crypto::digest(&secret)) => {
        }
        _ => {
            tracing::warn!(client_id = %record.client_id, "client authentication failed");
            return Err(OAuthError::BadClientCredentials);
        }
    }
    Ok(AuthenticatedClient { record })
}

/// Decodes `Authorization: Basic`, whose id and secret are form-encoded (RFC 6749 section
/// 2.3.1). Returns `None` when the header is absent or uses another scheme.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let invalid = || OAuthError::BadClientCredentials;
    let value = value.to_str().map_err(|_| invalid())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(invalid());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
    let unescape = |part: &str| -> Result<String, OAuthError> {
        let spaced = part.replace('+', " ");
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| invalid())
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
}
