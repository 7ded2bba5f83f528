//! The HTTP transport: a small interface so tests and embedders can replace reqwest.

use std::time::Duration;

use async_trait::async_trait;
use url::Url;

/// The HTTP method of a request; the protocol needs only these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`, for discovery and userinfo.
    Get,
    /// `POST` with a form body, for every OAuth endpoint.
    Post,
}

/// An HTTP request built by the client.
///
/// `Debug` omits the body and the header values, because they carry device codes, tokens and
/// client secrets.
#[derive(Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL.
    pub url: Url,
    /// Header names and values, such as `Accept` and `Authorization`.
    pub headers: Vec<(String, String)>,
    /// The `application/x-www-form-urlencoded` body of a `POST`.
    pub form: Option<String>,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("headers", &header_names)
            .finish_non_exhaustive()
    }
}

/// An HTTP response as the client needs it: status, headers and the whole body.
#[derive(Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body, which may hold tokens.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("content_type", &self.header("content-type"))
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl HttpResponse {
    /// Returns the first value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A request that produced no HTTP response: connection refused, timeout, TLS failure.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

/// Sends HTTP requests. The client sends one request at a time per operation and never two
/// polls at once, so an implementation needs no queueing of its own.
#[async_trait]
pub trait HttpTransport: Send + Sync {
    /// Sends `request` and returns the response, whatever its status.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// The default transport, on reqwest with rustls.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// Timeout of one whole request, so a stalled server cannot stall polling for good.
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

    /// Creates a transport with a 30 s request timeout and a `devauth-client` user agent.
    pub fn new() -> Result<Self, TransportError> {
        let client = reqwest::Client::builder()
            .timeout(Self::REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("devauth-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| TransportError(error.to_string()))?;
        Ok(Self { client })
    }

    /// Wraps an existing reqwest client, keeping its timeouts, proxy and TLS settings.
    pub fn with_client(client: reqwest::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl HttpTransport for ReqwestTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut builder = match request.method {
            Method::Get => self.client.get(request.url),
            Method::Post => self.client.post(request.url),
        };
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(form) = request.form {
            builder = builder
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form);
        }

        let response = builder.send().await.map_err(describe_reqwest_error)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                let value = value.to_str().ok()?;
                Some((name.as_str().to_owned(), value.to_owned()))
            })
            .collect();
        let body = response
            .bytes()
            .await
            .map_err(describe_reqwest_error)?
            .to_vec();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// Describes a reqwest error with its causes but without the URL, which the caller adds.
fn describe_reqwest_error(error: reqwest::Error) -> TransportError {
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    TransportError(message)
}
