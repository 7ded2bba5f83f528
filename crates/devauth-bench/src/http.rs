//! One HTTP/1.1 keep-alive connection per load worker, on hyper's client connection API, so
//! the load generator adds no pool or routing work of its own.

use std::net::SocketAddr;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A response with its whole body read.
pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Response {
    /// Returns whether the body contains `needle`: a cheap check that keeps the load
    /// generator from parsing JSON on hot paths.
    pub(crate) fn body_contains(&self, needle: &str) -> bool {
        contains(&self.body, needle.as_bytes())
    }

    /// Parses the body as JSON.
    pub(crate) fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "response with status {} is not JSON: {}",
                self.status,
                self.body_excerpt()
            )
        })
    }

    /// Returns the start of the body as text, for error messages.
    pub(crate) fn body_excerpt(&self) -> String {
        let end = self.body.len().min(200);
        String::from_utf8_lossy(self.body.get(..end).unwrap_or_default()).into_owned()
    }

    /// Fails unless the status is `expected`.
    pub(crate) fn expect_status(&self, expected: StatusCode) -> anyhow::Result<&Self> {
        if self.status == expected {
            Ok(self)
        } else {
            anyhow::bail!(
                "expected status {expected}, got {}: {}",
                self.status,
                self.body_excerpt()
            )
        }
    }
}

/// Returns whether `haystack` contains `needle`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// A keep-alive connection to one server that reconnects after a failure.
pub(crate) struct Connection {
    addr: SocketAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    /// Creates a connection to `addr`; it connects on the first request.
    pub(crate) fn new(addr: SocketAddr) -> Self {
        let host = HeaderValue::from_str(&addr.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("127.0.0.1"));
        Self {
            addr,
            host,
            sender: None,
        }
    }

    async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(self.addr)
            .await
            .with_context(|| format!("cannot connect to {}", self.addr))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .with_context(|| format!("HTTP handshake with {} failed", self.addr))?;
        // The connection task ends when the server closes the socket or the sender is dropped.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// Sends a request and reads the whole response. A failed exchange drops the socket, so
    /// the next request starts on a new one.
    pub(crate) async fn send(&mut self, request: Request<Full<Bytes>>) -> anyhow::Result<Response> {
        let mut sender = match self.sender.take() {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.connect().await?,
        };
        sender
            .ready()
            .await
            .with_context(|| format!("connection to {} closed", self.addr))?;
        let response = sender
            .send_request(request)
            .await
            .with_context(|| format!("request to {} failed", self.addr))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .with_context(|| format!("reading a response body from {} failed", self.addr))?
            .to_bytes();
        self.sender = Some(sender);
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// Sends `GET path` with extra headers.
    pub(crate) async fn get(
        &mut self,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
    ) -> anyhow::Result<Response> {
        let request = self.request(Method::GET, path, headers, Bytes::new())?;
        self.send(request).await
    }

    /// Sends `POST path` with a form-encoded body and extra headers.
    pub(crate) async fn post_form(
        &mut self,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> anyhow::Result<Response> {
        let mut all = Vec::with_capacity(headers.len() + 1);
        all.push((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        ));
        all.extend_from_slice(headers);
        let request = self.request(Method::POST, path, &all, body)?;
        self.send(request).await
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.host.clone());
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        builder
            .body(Full::new(body))
            .with_context(|| format!("invalid request for {path}"))
    }
}

/// Encodes form fields as an `application/x-www-form-urlencoded` body.
pub(crate) fn form(pairs: &[(&str, &str)]) -> Bytes {
    // serde_urlencoded fails only on value types it cannot encode, and strings are not among them.
    Bytes::from(serde_urlencoded::to_string(pairs).unwrap_or_default())
}
