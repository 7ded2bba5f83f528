//! `GET /oauth/userinfo`: who a bearer token (RFC 6750) belongs to, and its scope. The
//! smallest protected resource, and the one the CLI uses to show who is signed in.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::json_response;
use crate::introspection::active_token;
use crate::store::TokenKind;
use crate::App;

/// The scope a token needs for userinfo: the page describes it to the person as "see your
/// username and account id".
const PROFILE: &str = "profile";

/// Returns `sub`, `username`, `client_id` and `scope` for a valid access token that carries the
/// `profile` scope; 403 `insufficient_scope` (RFC 6750 section 3.1) for one without it.
pub async fn userinfo(State(app): State<App>, headers: HeaderMap) -> Response {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let Some(presented) = presented else {
        return unauthorized("Bearer realm=\"devauth\"", None);
    };

    match active_token(&app, presented).await {
        Ok(Some((token, _)))
            if token.kind == TokenKind::Access && !token.scope.split(' ').any(|s| s == PROFILE) =>
        {
            let mut response = json_response(
                StatusCode::FORBIDDEN,
                &json!({ "error": "insufficient_scope", "scope": PROFILE }),
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"devauth\", error=\"insufficient_scope\", scope=\"profile\"",
                ),
            );
            response
        }
        Ok(Some((token, user))) if token.kind == TokenKind::Access => json_response(
            StatusCode::OK,
            &json!({
                "sub": user.id,
                "username": user.username,
                "client_id": token.client_id,
                "scope": token.scope,
            }),
        ),
        Ok(_) => unauthorized(
            "Bearer realm=\"devauth\", error=\"invalid_token\"",
            Some("invalid_token"),
        ),
        Err(error) => crate::error::OAuthError::from(error).into_response(),
    }
}

fn unauthorized(challenge: &'static str, error: Option<&str>) -> Response {
    let body = match error {
        Some(error) => json!({ "error": error }),
        None => json!({ "error": "invalid_request", "error_description": "missing bearer token" }),
    };
    let mut response = json_response(StatusCode::UNAUTHORIZED, &body);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}
