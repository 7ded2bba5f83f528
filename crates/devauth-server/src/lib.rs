//! The devauth authorization server: the OAuth 2.0 Device Authorization Grant (RFC 8628) with
//! refresh tokens (RFC 6749), revocation (RFC 7009), introspection (RFC 7662), metadata
//! (RFC 8414) and a server-rendered verification page.
//!
//! [`App`] holds the store, configuration and clock; [`router`] builds the HTTP routes and
//! [`serve`] runs them until a shutdown signal. The `devauthd` binary wraps these.
//!
//! # Security
//!
//! - Device codes, tokens, client secrets and page session ids are 256-bit random values kept
//!   only as SHA-256 digests; passwords are argon2id. No secret is logged: logs name record ids.
//! - Every rule that must hold under concurrency (one redemption per device code, slow_down
//!   bookkeeping, final decisions, refresh rotation) is a conditional update in the store.
//! - The page never changes state on GET, checks a CSRF token and the `Origin` on every POST,
//!   and forbids framing and inline scripts.

// Outside tests the server crate may not unwrap, index or slice strings, the usual ways that
// request data turns into a panic.
#![deny(clippy::unwrap_used, clippy::indexing_slicing, clippy::string_slice)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::indexing_slicing))]

pub mod admin;
pub mod attempt_limit;
pub mod audit;
pub mod client_auth;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod device_authorization;
pub mod error;
pub mod form;
pub mod introspection;
pub mod metadata;
pub mod metrics;
pub mod request;
pub mod revocation;
pub mod store;
pub mod sweeper;
pub mod token;
pub mod userinfo;
pub mod verification;

use std::future::Future;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, ConfigLayer};
pub use store::Store;

/// Largest request body accepted, in bytes. Protocol and page forms are a few hundred bytes;
/// larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Everything a request handler needs.
#[derive(Clone)]
pub struct App {
    /// The database.
    pub store: Arc<dyn Store>,
    /// The resolved configuration.
    pub config: Arc<Config>,
    /// The source of time.
    pub clock: Arc<dyn Clock>,
    /// Addresses refused at the token endpoint for presenting too many unknown device codes.
    pub blocked_addresses: Arc<attempt_limit::BlockedAddresses>,
    /// Client records read recently.
    pub clients: Arc<client_auth::ClientCache>,
}

impl App {
    /// Bundles a store and a configuration with the system clock.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        Self {
            store,
            config: Arc::new(config),
            clock: Arc::new(SystemClock),
            blocked_addresses: Arc::default(),
            clients: Arc::default(),
        }
    }

    /// Replaces the clock, for tests and simulations.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// Builds every route of the server.
pub fn router(app: App) -> Router {
    let page = Router::new()
        .route(
            "/device",
            get(verification::show).post(verification::enter_code),
        )
        .route("/device/sign-in", post(verification::sign_in))
        .route("/device/sign-out", post(verification::sign_out))
        .route("/device/decision", post(verification::decide))
        .route("/device/style.css", get(verification::stylesheet))
        .layer(axum::middleware::from_fn(verification::security_headers));

    // Set before the merge, so the JSON 405 applies to the protocol paths only.
    let protocol = Router::new()
        .route(
            "/oauth/device/code",
            post(device_authorization::device_authorization),
        )
        .route("/oauth/device/token", post(token::token))
        .route("/oauth/revoke", post(revocation::revoke))
        .route("/oauth/introspect", post(introspection::introspect))
        .route("/oauth/userinfo", get(userinfo::userinfo))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::metadata),
        )
        .method_not_allowed_fallback(error::method_not_allowed);

    Router::new()
        .merge(protocol)
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics::metrics))
        .merge(page)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(request::limit_duration))
        .layer(axum::middleware::from_fn(request::trace_request))
        .with_state(app)
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = router(app).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
