//! Authorization server metadata (RFC 8414), served at
//! `/.well-known/oauth-authorization-server`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use devauth_protocol::grant_type::DEVICE_CODE_URN;
use devauth_protocol::AuthorizationServerMetadata;

use crate::error::json_response;
use crate::App;

/// Answers with every endpoint's absolute URL, built from the issuer.
pub async fn metadata(State(app): State<App>) -> Response {
    let config = &app.config;
    let auth_methods: Vec<String> = ["none", "client_secret_basic", "client_secret_post"]
        .map(String::from)
        .into();
    let body = AuthorizationServerMetadata {
        issuer: config.issuer.clone(),
        token_endpoint: config.url("/oauth/device/token"),
        device_authorization_endpoint: config.url("/oauth/device/code"),
        revocation_endpoint: Some(config.url("/oauth/revoke")),
        introspection_endpoint: Some(config.url("/oauth/introspect")),
        userinfo_endpoint: Some(config.url("/oauth/userinfo")),
        grant_types_supported: vec![DEVICE_CODE_URN.to_owned(), "refresh_token".to_owned()],
        response_types_supported: Vec::new(),
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        revocation_endpoint_auth_methods_supported: auth_methods,
        introspection_endpoint_auth_methods_supported: vec![
            "client_secret_basic".to_owned(),
            "client_secret_post".to_owned(),
        ],
    };
    json_response(StatusCode::OK, &body)
}
