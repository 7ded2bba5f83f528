//! Client of the OAuth 2.0 Device Authorization Grant (RFC 8628) for command-line programs:
//! discovery, the device authorization request, polling by the RFC's rules, refresh,
//! revocation, userinfo and token storage. It works against any RFC 8628 server and tolerates
//! the common deviations: errors with status 200, form-encoded bodies, `verification_url`,
//! string intervals and HTML error pages.
//!
//! # Example
//!
//! Device login in a CLI. Build it with `cargo run --example device_login -- ISSUER CLIENT_ID`,
//! or copy it:
//!
//! ```no_run
//! use devauth_client::DeviceClient;
//!
//! # async fn login() -> Result<(), devauth_client::Error> {
//! let client = DeviceClient::discover("http://127.0.0.1:8080", "devauth").await?;
//! let pending = client.start("profile offline_access").await?;
//! eprintln!(
//!     "Visit {} and enter code: {}",
//!     pending.verification_uri, pending.user_code
//! );
//! let tokens = client.wait(&pending).await?;
//! let userinfo = client.userinfo(&tokens.access_token).await?;
//! eprintln!("Logged in as {}", userinfo.username.unwrap_or_default());
//! # Ok(())
//! # }
//! ```
//!
//! Programs without an async runtime use [`BlockingDeviceClient`] with the same methods.
//!
//! # Polling
//!
//! [`DeviceClient::wait_with`] follows RFC 8628 section 3.5; the [`polling`] module lists each
//! rule. It reports [`PollEvent`]s for progress displays and stops on a [`Cancellation`], a
//! timeout, the device code's expiry or a terminal error such as [`Error::AccessDenied`].
//!
//! # Testing
//!
//! The HTTP transport ([`HttpTransport`]), the clock ([`Clock`]), the sleeper ([`Sleeper`]) and
//! the back-off jitter ([`Jitter`]) are trait objects set on [`DeviceClientBuilder`].
//! [`ManualClock`] is a clock and a sleeper in one whose sleeps return at once, so a test of a
//! minute of polling runs in milliseconds with exact timings.
//!
//! # Security
//!
//! Device codes, access tokens, refresh tokens and client secrets are [`Secret`]s: their `Debug`
//! output is redacted, they have no `PartialEq`, and no error message or log event contains
//! them. Text from the server (user codes, URIs, error descriptions) is stripped of control
//! characters before it reaches the caller, so printing it cannot inject terminal escapes.
//! [`FileStore`] writes tokens to a file of mode 0600 in a folder of mode 0700; the tokens in
//! it are plain text, readable by anything that runs as the same user. Given a
//! [`KeyringVault`] (feature `keyring`, on by default), it keeps the access and refresh tokens
//! in the OS keyring instead and only the rest of each profile in the file.

mod blocking;
mod client;
pub mod device_authorization;
pub mod discovery;
mod error;
pub mod http;
pub mod polling;
pub mod refresh;
mod response;
pub mod revocation;
pub mod storage;
pub mod time;
mod token;
pub mod userinfo;

pub use blocking::BlockingDeviceClient;
pub use client::{default_transport, DeviceClient, DeviceClientBuilder};
pub use devauth_protocol::{ErrorCode, Secret, TokenResponse};
pub use device_authorization::{PendingAuthorization, SavedAuthorization};
pub use discovery::Endpoints;
pub use error::Error;
pub use http::{
    HttpRequest, HttpResponse, HttpTransport, Method, ReqwestTransport, TransportError,
};
pub use polling::{Cancellation, PollEvent, RetryReason, WaitOptions};
pub use revocation::TokenTypeHint;
#[cfg(feature = "keyring")]
pub use storage::KeyringVault;
pub use storage::{
    FileStore, MemoryVault, Profile, SecretLocation, SecretVault, StorageError, StoreFile,
    StoredTokens,
};
pub use time::{
    Clock, FixedJitter, Jitter, ManualClock, RandomJitter, Sleeper, SystemClock, TokioSleeper,
};
pub use userinfo::UserInfo;
