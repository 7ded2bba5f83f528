//! The device authorization response (RFC 8628 section 3.2).

use serde::{Deserialize, Serialize};

use crate::Secret;

/// What the device authorization endpoint returns on success.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceAuthorizationResponse {
    /// The device verification code; the client polls the token endpoint with it.
    pub device_code: Secret,
    /// The code the person enters on the verification page.
    pub user_code: String,
    /// The page where the person enters the code.
    pub verification_uri: String,
    /// The page with the code already filled in, for a link or a QR code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_uri_complete: Option<String>,
    /// Seconds until the device code and user code expire.
    pub expires_in: u64,
    /// Minimum seconds between polls; 5 when absent (RFC 8628 section 3.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
}
