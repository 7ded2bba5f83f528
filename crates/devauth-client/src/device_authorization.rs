//! The device authorization request and its pending authorization (RFC 8628 sections 3.1 and
//! 3.2).

use std::time::{Duration, Instant, SystemTime};

use devauth_protocol::{ErrorCode, Secret};
use serde::{Deserialize, Serialize};

use crate::client::DeviceClient;
use crate::error::{sanitize_text, Error};
use crate::response::{
    content_type, oauth_error, parse_fields, positive_seconds, seconds_field, string_field, Fields,
};
use crate::time::unix_seconds;

/// The polling interval when the server sends none, or zero, a negative or an unparsable value
/// (RFC 8628 section 3.2).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// The lifetime assumed when the server sends no usable `expires_in`, which RFC 8628 requires.
/// Ten minutes is devauthd's default; the server's own expiry still ends polling with
/// `expired_token`.
pub const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(600);

/// An authorization request waiting for the person's approval.
///
/// The user code and URIs are public and meant for display; they are stripped of control
/// characters. The device code is a [`Secret`].
#[derive(Debug, Clone)]
pub struct PendingAuthorization {
    /// The device code the client polls with.
    pub device_code: Secret,
    /// The code the person enters.
    pub user_code: String,
    /// The page where the person enters the code (`verification_url` from some servers).
    pub verification_uri: String,
    /// The page with the code filled in, when the server offers one.
    pub verification_uri_complete: Option<String>,
    /// The lifetime the server gave the device code.
    pub expires_in: Duration,
    /// The polling interval, normalized: [`DEFAULT_INTERVAL`] when the server's is unusable.
    pub interval: Duration,
    /// When the device code expires, on the client's monotonic clock.
    pub deadline: Instant,
    /// When the device code expires, on the wall clock, for storage.
    pub expires_at: SystemTime,
}

/// A pending authorization in a form that survives the process, so another process can resume
/// waiting for it. Holds the device code: store it like a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedAuthorization {
    /// The device code.
    pub device_code: Secret,
    /// The user code.
    pub user_code: String,
    /// The verification page.
    pub verification_uri: String,
    /// The verification page with the code filled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_uri_complete: Option<String>,
    /// Expiry in seconds since the Unix epoch.
    pub expires_at: u64,
    /// The current polling interval in seconds, including every slow_down increase so far.
    pub interval: u64,
}

impl PendingAuthorization {
    /// Returns the time left before the device code expires.
    pub fn remaining(&self, now: Instant) -> Duration {
        self.deadline.saturating_duration_since(now)
    }

    /// Converts to the storable form, with `interval` as the current polling interval.
    pub fn to_saved(&self, interval: Duration) -> SavedAuthorization {
        SavedAuthorization {
            device_code: self.device_code.clone(),
            user_code: self.user_code.clone(),
            verification_uri: self.verification_uri.clone(),
            verification_uri_complete: self.verification_uri_complete.clone(),
            expires_at: unix_seconds(self.expires_at),
            interval: interval.as_secs().max(1),
        }
    }
}

impl DeviceClient {
    /// Sends the device authorization request for `scope` (space-separated; empty for the
    /// server's default) and returns the pending authorization.
    pub async fn start(&self, scope: &str) -> Result<PendingAuthorization, Error> {
        let url = &self.endpoints.device_authorization_endpoint;
        let mut params = Vec::new();
        if !scope.is_empty() {
            params.push(("scope", scope));
        }
        let response = self.post_form(url, &params).await?;

        let fields = parse_fields(&response);
        if let Some(error) = fields.as_ref().and_then(oauth_error) {
            return Err(match error.code {
                ErrorCode::AccessDenied => Error::AccessDenied,
                code => Error::Rejected {
                    code,
                    description: error.description,
                    status: response.status,
                },
            });
        }
        let fields = match fields {
            Some(fields) if (200..300).contains(&response.status) => fields,
            _ => {
                return Err(Error::UnexpectedResponse {
                    url: url.to_string(),
                    status: response.status,
                    content_type: content_type(&response),
                })
            }
        };
        self.pending_from_fields(&fields, url.as_str())
    }

    /// Rebuilds a pending authorization saved by [`PendingAuthorization::to_saved`], measuring
    /// the time left on this client's clock.
    pub fn resume(&self, saved: &SavedAuthorization) -> PendingAuthorization {
        let expires_at = SystemTime::UNIX_EPOCH + Duration::from_secs(saved.expires_at);
        let remaining = expires_at
            .duration_since(self.clock.system_now())
            .unwrap_or(Duration::ZERO);
        PendingAuthorization {
            device_code: saved.device_code.clone(),
            user_code: saved.user_code.clone(),
            verification_uri: saved.verification_uri.clone(),
            verification_uri_complete: saved.verification_uri_complete.clone(),
            expires_in: remaining,
            interval: positive_seconds(Some(saved.interval as f64)).unwrap_or(DEFAULT_INTERVAL),
            deadline: self.clock.now() + remaining,
            expires_at,
        }
    }

    fn pending_from_fields(
        &self,
        fields: &Fields,
        url: &str,
    ) -> Result<PendingAuthorization, Error> {
        let missing = |name: &str| Error::InvalidResponse {
            url: url.to_owned(),
            reason: format!("the device authorization response has no {name}"),
        };
        let device_code =
            string_field(fields, "device_code").ok_or_else(|| missing("device_code"))?;
        let user_code = string_field(fields, "user_code").ok_or_else(|| missing("user_code"))?;
        // Google and older drafts of RFC 8628 name it `verification_url`.
        let verification_uri = string_field(fields, "verification_uri")
            .or_else(|| string_field(fields, "verification_url"))
            .ok_or_else(|| missing("verification_uri"))?;
        let verification_uri_complete = string_field(fields, "verification_uri_complete")
            .or_else(|| string_field(fields, "verification_url_complete"));

        let expires_in =
            positive_seconds(seconds_field(fields, "expires_in")).unwrap_or(DEFAULT_EXPIRES_IN);
        let interval =
            positive_seconds(seconds_field(fields, "interval")).unwrap_or(DEFAULT_INTERVAL);
        tracing::debug!(?expires_in, ?interval, "device authorization started");

        Ok(PendingAuthorization {
            device_code: Secret::new(device_code),
            user_code: sanitize_text(user_code),
            verification_uri: sanitize_text(verification_uri),
            verification_uri_complete: verification_uri_complete.map(sanitize_text),
            expires_in,
            interval,
            deadline: self.clock.now() + expires_in,
            expires_at: self.clock.system_now() + expires_in,
        })
    }
}
