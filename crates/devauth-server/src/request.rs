//! Request-level plumbing: the client's address and the per-request tracing span.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

/// The address of the peer that sent the request, as text; `unknown` when the server runs
/// without connection info (as in router-level tests).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        Ok(ClientAddr(addr))
    }
}

/// How long one request may take, body reading included. A client that sends its body slower
/// than this gets 408 instead of holding a connection and a task forever.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Ends a request that takes longer than [`REQUEST_TIMEOUT`] with 408.
pub async fn limit_duration(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                timeout_secs = REQUEST_TIMEOUT.as_secs(),
                "request timed out"
            );
            StatusCode::REQUEST_TIMEOUT.into_response()
        }
    }
}

static NEXT_REQUEST_ID: AtomicU64 = AtomicU64::new(1);

/// Runs the request inside a span with its method, path and a process-unique id. The query
/// string is left out, because a prefilled link carries a user code there.
pub async fn trace_request(request: Request, next: Next) -> Response {
    let request_id = NEXT_REQUEST_ID.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!(
        "request",
        id = request_id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    async move {
        let response = next.run(request).await;
        tracing::debug!(status = response.status().as_u16(), "response");
        response
    }
    .instrument(span)
    .await
}
