//! A blocking wrapper for programs without an async runtime.

use devauth_protocol::{Secret, TokenResponse};

use crate::client::DeviceClient;
use crate::device_authorization::PendingAuthorization;
use crate::discovery::Endpoints;
use crate::error::Error;
use crate::polling::{PollEvent, WaitOptions};
use crate::revocation::TokenTypeHint;
use crate::userinfo::UserInfo;

/// A [`DeviceClient`] whose methods block the calling thread on a private single-threaded tokio
/// runtime. Do not call it from inside an async runtime, where blocking would panic.
///
/// To cancel [`BlockingDeviceClient::wait_with`] from another thread, pass a
/// [`crate::Cancellation`] in the options and cancel it there.
#[derive(Debug)]
pub struct BlockingDeviceClient {
    inner: DeviceClient,
    runtime: tokio::runtime::Runtime,
}

impl BlockingDeviceClient {
    /// Wraps `client`.
    pub fn new(client: DeviceClient) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| Error::Transport {
                url: String::new(),
                message: format!("cannot start the tokio runtime: {error}"),
            })?;
        Ok(Self {
            inner: client,
            runtime,
        })
    }

    /// Discovers the endpoints of `issuer` and returns a public client for `client_id`.
    pub fn discover(issuer: &str, client_id: &str) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| Error::Transport {
                url: String::new(),
                message: format!("cannot start the tokio runtime: {error}"),
            })?;
        let inner = runtime.block_on(DeviceClient::discover(issuer, client_id))?;
        Ok(Self { inner, runtime })
    }

    /// Returns the endpoints in use.
    pub fn endpoints(&self) -> &Endpoints {
        self.inner.endpoints()
    }

    /// See [`DeviceClient::start`].
    pub fn start(&self, scope: &str) -> Result<PendingAuthorization, Error> {
        self.runtime.block_on(self.inner.start(scope))
    }

    /// See [`DeviceClient::wait`].
    pub fn wait(&self, pending: &PendingAuthorization) -> Result<TokenResponse, Error> {
        self.runtime.block_on(self.inner.wait(pending))
    }

    /// See [`DeviceClient::wait_with`].
    pub fn wait_with(
        &self,
        pending: &PendingAuthorization,
        options: WaitOptions,
        on_event: impl FnMut(&PollEvent) + Send,
    ) -> Result<TokenResponse, Error> {
        self.runtime
            .block_on(self.inner.wait_with(pending, options, on_event))
    }

    /// See [`DeviceClient::refresh`].
    pub fn refresh(
        &self,
        refresh_token: &Secret,
        scope: Option<&str>,
    ) -> Result<TokenResponse, Error> {
        self.runtime
            .block_on(self.inner.refresh(refresh_token, scope))
    }

    /// See [`DeviceClient::revoke`].
    pub fn revoke(&self, token: &Secret, hint: TokenTypeHint) -> Result<(), Error> {
        self.runtime.block_on(self.inner.revoke(token, hint))
    }

    /// See [`DeviceClient::userinfo`].
    pub fn userinfo(&self, access_token: &Secret) -> Result<UserInfo, Error> {
        self.runtime.block_on(self.inner.userinfo(access_token))
    }
}
