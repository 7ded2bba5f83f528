//! A scripted fake authorization server on a loopback port, shared by the client's and the
//! CLI's integration tests.
//!
//! Each token endpoint request takes the next reply from a script, and every request is recorded
//! with its arrival time on the clock the test chose, so tests check exact gaps between polls.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, Uri};
use axum::Router;
use devauth_client::{Clock, SystemClock};
use serde_json::{json, Value};

/// A canned HTTP response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<&'static str>,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, value: Value) -> Self {
        Self::raw(status, Some("application/json"), value.to_string())
    }

    /// Builds an RFC 6749 error body with status 400.
    pub fn error(code: &str) -> Self {
        Self::json(400, json!({ "error": code }))
    }

    /// Builds a token response with a one-hour access token and optionally a refresh token.
    pub fn tokens(access_token: &str, refresh_token: Option<&str>) -> Self {
        let mut body = json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "profile offline_access",
        });
        if let Some(refresh_token) = refresh_token {
            body["refresh_token"] = json!(refresh_token);
        }
        Self::json(200, body)
    }

    pub fn raw(status: u16, content_type: Option<&'static str>, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type,
            body: body.into(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub form: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub accept: Option<String>,
}

impl Recorded {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

struct ServerState {
    base_url: String,
    clock: Arc<dyn Clock>,
    metadata_path: Mutex<&'static str>,
    device_reply: Mutex<Option<Reply>>,
    token_script: Mutex<VecDeque<Reply>>,
    token_delay: Mutex<Duration>,
    revoke_reply: Mutex<Reply>,
    userinfo_reply: Mutex<Reply>,
    requests: Mutex<Vec<Recorded>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// The fake server. Its task ends with the test's runtime.
pub struct FakeServer {
    pub base_url: String,
    state: Arc<ServerState>,
}

pub const DEVICE_CODE: &str = "dc_fake_device_code_secret";
pub const USER_CODE: &str = "WDJB-MJHT";

impl FakeServer {
    /// Starts a server on 127.0.0.1 with a free port, timing requests on the real clock.
    pub async fn start() -> Self {
        Self::start_with_clock(Arc::new(SystemClock)).await
    }

    /// Starts a server that records arrival times on `clock`.
    pub async fn start_with_clock(clock: Arc<dyn Clock>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(ServerState {
            base_url: base_url.clone(),
            clock,
            metadata_path: Mutex::new("/.well-known/oauth-authorization-server"),
            device_reply: Mutex::new(None),
            token_script: Mutex::new(VecDeque::new()),
            token_delay: Mutex::new(Duration::ZERO),
            revoke_reply: Mutex::new(Reply::raw(200, None, "")),
            userinfo_reply: Mutex::new(Reply::json(
                200,
                json!({"sub": "u-1", "username": "alice", "client_id": "devauth", "scope": "profile offline_access"}),
            )),
            requests: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let router = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self { base_url, state }
    }

    /// Builds the default device authorization response, with `interval` as given (`None` omits it).
    pub fn device_response(&self, interval: Option<Value>, expires_in: Value) -> Value {
        let mut body = json!({
            "device_code": DEVICE_CODE,
            "user_code": USER_CODE,
            "verification_uri": format!("{}/device", self.base_url),
            "verification_uri_complete": format!("{}/device?user_code={USER_CODE}", self.base_url),
            "expires_in": expires_in,
        });
        if let Some(interval) = interval {
            body["interval"] = interval;
        }
        body
    }

    pub fn set_device_reply(&self, reply: Reply) {
        *self.state.device_reply.lock().unwrap() = Some(reply);
    }

    /// Serves a device authorization response with this interval and expiry.
    pub fn set_interval(&self, interval: Option<Value>, expires_in: u64) {
        let body = self.device_response(interval, json!(expires_in));
        self.set_device_reply(Reply::json(200, body));
    }

    pub fn push_token_replies(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.token_script.lock().unwrap().extend(replies);
    }

    /// Makes every token response wait this long in real time before it is sent.
    pub fn set_token_delay(&self, delay: Duration) {
        *self.state.token_delay.lock().unwrap() = delay;
    }

    pub fn set_revoke_reply(&self, reply: Reply) {
        *self.state.revoke_reply.lock().unwrap() = reply;
    }

    pub fn set_userinfo_reply(&self, reply: Reply) {
        *self.state.userinfo_reply.lock().unwrap() = reply;
    }

    /// Serves the metadata only at `path`.
    pub fn set_metadata_path(&self, path: &'static str) {
        *self.state.metadata_path.lock().unwrap() = path;
    }

    pub fn requests(&self, path: &str) -> Vec<Recorded> {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|request| request.path == path)
            .cloned()
            .collect()
    }

    pub fn token_requests(&self) -> Vec<Recorded> {
        self.requests("/oauth/device/token")
    }

    /// Gaps between consecutive token requests, in arrival order.
    pub fn token_request_gaps(&self) -> Vec<Duration> {
        let requests = self.token_requests();
        requests
            .windows(2)
            .map(|pair| pair[1].at - pair[0].at)
            .collect()
    }

    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

async fn handle(
    State(state): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response<Body> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let path = uri.path().to_owned();
    state.requests.lock().unwrap().push(Recorded {
        at: state.clock.now(),
        method: method.to_string(),
        path: path.clone(),
        form: serde_urlencoded::from_str(&body).unwrap_or_default(),
        authorization: header("authorization"),
        accept: header("accept"),
    });

    let reply = match path.as_str() {
        "/oauth/device/code" => state
            .device_reply
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(|| Reply::json(200, default_device_response(&state.base_url))),
        "/oauth/device/token" => {
            let in_flight = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            state.max_in_flight.fetch_max(in_flight, Ordering::SeqCst);
            let delay = *state.token_delay.lock().unwrap();
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            state.in_flight.fetch_sub(1, Ordering::SeqCst);
            state
                .token_script
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| Reply::error("test_script_exhausted"))
        }
        "/oauth/revoke" => state.revoke_reply.lock().unwrap().clone(),
        "/oauth/userinfo" => {
            if header("authorization").is_some_and(|value| value.starts_with("Bearer ")) {
                state.userinfo_reply.lock().unwrap().clone()
            } else {
                Reply::json(401, json!({"error": "invalid_token"}))
            }
        }
        other if other == *state.metadata_path.lock().unwrap() => {
            Reply::json(200, metadata(&state.base_url))
        }
        _ => Reply::raw(
            404,
            Some("text/html"),
            "<html><body>Not Found</body></html>",
        ),
    };

    let mut response = Response::builder().status(reply.status);
    if let Some(content_type) = reply.content_type {
        response = response.header("content-type", content_type);
    }
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    response.body(Body::from(reply.body)).unwrap()
}

fn default_device_response(base_url: &str) -> Value {
    json!({
        "device_code": DEVICE_CODE,
        "user_code": USER_CODE,
        "verification_uri": format!("{base_url}/device"),
        "verification_uri_complete": format!("{base_url}/device?user_code={USER_CODE}"),
        "expires_in": 600,
        "interval": 1,
    })
}

fn metadata(base_url: &str) -> Value {
    json!({
        "issuer": base_url,
        "device_authorization_endpoint": format!("{base_url}/oauth/device/code"),
        "token_endpoint": format!("{base_url}/oauth/device/token"),
        "revocation_endpoint": format!("{base_url}/oauth/revoke"),
        "userinfo_endpoint": format!("{base_url}/oauth/userinfo"),
        "grant_types_supported": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
    })
}
