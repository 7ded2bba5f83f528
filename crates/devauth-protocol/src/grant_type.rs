//! Grant types the token endpoint accepts.

use std::fmt;
use std::str::FromStr;

/// The URN of the device authorization grant (RFC 8628 section 3.4).
pub const DEVICE_CODE_URN: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A grant type of the token endpoint (RFC 6749 section 4.1.3 and RFC 8628 section 3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    /// `urn:ietf:params:oauth:grant-type:device_code`.
    DeviceCode,
    /// `refresh_token` (RFC 6749 section 6).
    RefreshToken,
}

impl GrantType {
    /// Returns the wire value of the grant type.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::DeviceCode => DEVICE_CODE_URN,
            GrantType::RefreshToken => "refresh_token",
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `grant_type` value is not one this crate knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported grant type")]
pub struct UnsupportedGrantType;

impl FromStr for GrantType {
    type Err = UnsupportedGrantType;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            DEVICE_CODE_URN => Ok(GrantType::DeviceCode),
            "refresh_token" => Ok(GrantType::RefreshToken),
            _ => Err(UnsupportedGrantType),
        }
    }
}
