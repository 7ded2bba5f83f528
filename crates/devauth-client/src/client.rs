//! The configured client: endpoints, client credentials and the injected transport, clock,
//! sleeper and jitter. Each protocol step adds its methods in its own module.

use std::sync::Arc;

use devauth_protocol::Secret;
use url::Url;

use crate::discovery::Endpoints;
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse, HttpTransport, Method, ReqwestTransport};
use crate::time::{Clock, Jitter, RandomJitter, Sleeper, SystemClock, TokioSleeper};

/// A device authorization client for one server and one client id.
///
/// Cloning is cheap: the transport, clock and sleeper are shared.
#[derive(Clone)]
pub struct DeviceClient {
    pub(crate) endpoints: Endpoints,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<Secret>,
    pub(crate) transport: Arc<dyn HttpTransport>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) sleeper: Arc<dyn Sleeper>,
    pub(crate) jitter: Arc<dyn Jitter>,
}

impl std::fmt::Debug for DeviceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceClient")
            .field("endpoints", &self.endpoints)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish_non_exhaustive()
    }
}

impl DeviceClient {
    /// Starts configuring a client for `endpoints` and `client_id`.
    pub fn builder(endpoints: Endpoints, client_id: impl Into<String>) -> DeviceClientBuilder {
        DeviceClientBuilder {
            endpoints,
            client_id: client_id.into(),
            client_secret: None,
            transport: None,
            clock: Arc::new(SystemClock),
            sleeper: Arc::new(TokioSleeper),
            jitter: Arc::new(RandomJitter),
        }
    }

    /// Discovers the endpoints of `issuer` (see [`Endpoints::discover`]) and returns a public
    /// client with the default transport, clock and sleeper.
    pub async fn discover(issuer: &str, client_id: impl Into<String>) -> Result<Self, Error> {
        let transport = default_transport()?;
        let endpoints = Endpoints::discover(transport.as_ref(), issuer).await?;
        DeviceClient::builder(endpoints, client_id)
            .transport(transport)
            .build()
    }

    /// Returns the endpoints in use.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Returns the client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Returns the clock in use, so callers compute expiry on the same time source.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Sends a form `POST` with client authentication and `Accept: application/json`.
    ///
    /// A public client sends `client_id`; a confidential one adds `client_secret`
    /// (`client_secret_post`, RFC 6749 section 2.3.1).
    pub(crate) async fn post_form(
        &self,
        url: &Url,
        params: &[(&str, &str)],
    ) -> Result<HttpResponse, Error> {
        let mut form: Vec<(&str, &str)> = params.to_vec();
        form.push(("client_id", &self.client_id));
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.expose()));
        }
        let body = serde_urlencoded::to_string(&form).map_err(|error| Error::InvalidResponse {
            url: url.to_string(),
            reason: format!("cannot encode the request form: {error}"),
        })?;
        let request = HttpRequest {
            method: Method::Post,
            url: url.clone(),
            headers: vec![("accept".into(), "application/json".into())],
            form: Some(body),
        };
        self.send(request).await
    }

    /// Sends a request, turning a transport failure into [`Error::Transport`].
    pub(crate) async fn send(&self, request: HttpRequest) -> Result<HttpResponse, Error> {
        let url = request.url.to_string();
        self.transport
            .send(request)
            .await
            .map_err(|error| Error::Transport {
                url,
                message: error.0,
            })
    }
}

/// Configures a [`DeviceClient`].
pub struct DeviceClientBuilder {
    endpoints: Endpoints,
    client_id: String,
    client_secret: Option<Secret>,
    transport: Option<Arc<dyn HttpTransport>>,
    clock: Arc<dyn Clock>,
    sleeper: Arc<dyn Sleeper>,
    jitter: Arc<dyn Jitter>,
}

impl DeviceClientBuilder {
    /// Sets the secret of a confidential client, sent as `client_secret` in each form.
    pub fn client_secret(mut self, secret: Secret) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// Replaces the HTTP transport (default: [`ReqwestTransport`]).
    pub fn transport(mut self, transport: Arc<dyn HttpTransport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Replaces the clock (default: [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the sleeper (default: [`TokioSleeper`]). Give the same time source as the clock.
    pub fn sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Replaces the jitter source of retry back-off (default: [`RandomJitter`]).
    pub fn jitter(mut self, jitter: Arc<dyn Jitter>) -> Self {
        self.jitter = jitter;
        self
    }

    /// Builds the client; fails only when the default transport cannot be created.
    pub fn build(self) -> Result<DeviceClient, Error> {
        let transport = match self.transport {
            Some(transport) => transport,
            None => default_transport()?,
        };
        Ok(DeviceClient {
            endpoints: self.endpoints,
            client_id: self.client_id,
            client_secret: self.client_secret,
            transport,
            clock: self.clock,
            sleeper: self.sleeper,
            jitter: self.jitter,
        })
    }
}

/// Creates the default reqwest transport.
pub fn default_transport() -> Result<Arc<dyn HttpTransport>, Error> {
    let transport = ReqwestTransport::new().map_err(|error| Error::Transport {
        url: String::new(),
        message: format!("cannot create the HTTP client: {error}"),
    })?;
    Ok(Arc::new(transport))
}
