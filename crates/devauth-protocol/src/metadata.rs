//! Authorization server metadata (RFC 8414 section 2), with the device authorization endpoint
//! that RFC 8628 section 4 adds.

use serde::{Deserialize, Serialize};

/// The document served at `/.well-known/oauth-authorization-server`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier: the server's public base URL.
    pub issuer: String,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The device authorization endpoint.
    pub device_authorization_endpoint: String,
    /// The revocation endpoint (RFC 7009).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// The introspection endpoint (RFC 7662).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// The endpoint that tells who a bearer token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// Grant types the token endpoint accepts.
    #[serde(default)]
    pub grant_types_supported: Vec<String>,
    /// Response types of the authorization endpoint; empty, as there is none.
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    /// Client authentication methods at the token endpoint.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Client authentication methods at the revocation endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// Client authentication methods at the introspection endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
}
