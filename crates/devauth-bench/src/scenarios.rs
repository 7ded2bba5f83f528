//! The load workers of each scenario, and the seeding of pending grants. devauthd and
//! oidc-provider share the device authorization and pending-poll workers; only the paths
//! differ.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::StatusCode;
use tokio::time::Instant;

use crate::devauthd::{BENCH_PASSWORD, BENCH_USER};
use crate::http::{form, Connection, Response};
use crate::load::Worker;
use crate::page::PageSession;

/// The device code grant type (RFC 8628 section 3.4).
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// How much longer than the client's interval the pool waits before it polls a device code
/// again. The wait starts when the previous response arrived, which is after the server read
/// its clock for that poll, so any margin above zero keeps polls out of slow_down.
const POLL_MARGIN: Duration = Duration::from_millis(10);

/// Maximum duration of one seeding call.
const SEED_TIMEOUT: Duration = Duration::from_secs(600);

/// The paths of a server's device authorization and token endpoints.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoints {
    pub(crate) device_authorization: &'static str,
    pub(crate) token: &'static str,
}

/// devauthd's endpoints.
pub(crate) const DEVAUTHD_ENDPOINTS: Endpoints = Endpoints {
    device_authorization: "/oauth/device/code",
    token: "/oauth/device/token",
};

/// oidc-provider's default routes.
pub(crate) const PEER_ENDPOINTS: Endpoints = Endpoints {
    device_authorization: "/device/auth",
    token: "/token",
};

/// A device authorization response's codes.
struct DeviceCodes {
    device_code: String,
    user_code: String,
}

fn device_codes(response: &Response) -> anyhow::Result<DeviceCodes> {
    response.expect_status(StatusCode::OK)?;
    let json = response.json()?;
    let field = |name: &str| {
        json.get(name)
            .and_then(|value| value.as_str())
            .map(str::to_owned)
            .with_context(|| format!("the device authorization response has no {name}"))
    };
    Ok(DeviceCodes {
        device_code: field("device_code")?,
        user_code: field("user_code")?,
    })
}

/// Device authorization requests: `POST` with `client_id`, expecting 200 with a device code.
pub(crate) struct DeviceAuthorizationWorker {
    connection: Connection,
    path: &'static str,
    body: Bytes,
}

impl DeviceAuthorizationWorker {
    pub(crate) fn new(addr: SocketAddr, endpoints: Endpoints, client_id: &str) -> Self {
        Self {
            connection: Connection::new(addr),
            path: endpoints.device_authorization,
            body: form(&[("client_id", client_id)]),
        }
    }
}

impl Worker for DeviceAuthorizationWorker {
    async fn step(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let response = self
            .connection
            .post_form(self.path, &[], self.body.clone())
            .await?;
        let latency = started.elapsed();
        response.expect_status(StatusCode::OK)?;
        if !response.body_contains("\"device_code\"") {
            anyhow::bail!("200 without a device code: {}", response.body_excerpt());
        }
        Ok(latency)
    }
}

/// Starts `count` device authorizations with `concurrency` connections and returns their
/// device codes (only when `keep_codes`, to spare memory for large counts).
pub(crate) async fn seed(
    addr: SocketAddr,
    endpoints: Endpoints,
    client_id: &str,
    count: u64,
    concurrency: usize,
    keep_codes: bool,
) -> anyhow::Result<Vec<String>> {
    let claimed = Arc::new(AtomicU64::new(0));
    let body = form(&[("client_id", client_id)]);
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let claimed = Arc::clone(&claimed);
            let body = body.clone();
            tokio::spawn(async move {
                let mut connection = Connection::new(addr);
                let mut codes = Vec::new();
                while claimed.fetch_add(1, Ordering::Relaxed) < count {
                    let response = connection
                        .post_form(endpoints.device_authorization, &[], body.clone())
                        .await?;
                    let issued =
                        device_codes(&response).context("seeding pending grants failed")?;
                    if keep_codes {
                        codes.push(issued.device_code);
                    }
                }
                anyhow::Ok(codes)
            })
        })
        .collect();

    let joined = tokio::time::timeout(SEED_TIMEOUT, async {
        let mut codes = Vec::new();
        for task in tasks {
            codes.extend(task.await??);
        }
        anyhow::Ok(codes)
    })
    .await;
    match joined {
        Ok(codes) => codes,
        Err(_) => anyhow::bail!(
            "seeding {count} pending grants took longer than {} s",
            SEED_TIMEOUT.as_secs()
        ),
    }
}

/// Device codes of pending grants, handed out oldest-polled first. No code is polled again
/// sooner than the client's interval, so the server returns authorization_pending to every poll,
/// at whatever rate it sustains.
pub(crate) struct CodePool {
    codes: Mutex<VecDeque<(String, Option<Instant>)>>,
    gap: Duration,
    /// Polls that had to wait for a code to become pollable: the pool is too small for the
    /// rate.
    pub(crate) stalls: AtomicU64,
}

impl CodePool {
    pub(crate) fn new(codes: Vec<String>, interval: Duration) -> Arc<Self> {
        Arc::new(Self {
            codes: Mutex::new(codes.into_iter().map(|code| (code, None)).collect()),
            gap: interval + POLL_MARGIN,
            stalls: AtomicU64::new(0),
        })
    }

    /// Takes the code polled longest ago, waiting until its interval has passed.
    async fn take(&self) -> anyhow::Result<String> {
        let (code, last_poll) = self
            .codes
            .lock()
            .map_err(|_| anyhow::anyhow!("the code pool lock is poisoned"))?
            .pop_front()
            .context("the code pool is empty: use a pool larger than the concurrency")?;
        if let Some(ready) = last_poll.map(|last| last + self.gap) {
            if ready > Instant::now() {
                self.stalls.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep_until(ready).await;
            }
        }
        Ok(code)
    }

    /// Waits until the code polled last may be polled again, and with it every other code.
    pub(crate) async fn wait_until_all_pollable(&self) {
        let last_poll = self
            .codes
            .lock()
            .ok()
            .and_then(|codes| codes.iter().filter_map(|(_, last)| *last).max());
        if let Some(last_poll) = last_poll {
            tokio::time::sleep_until(last_poll + self.gap).await;
        }
    }

    fn give_back(&self, code: String, answered_at: Instant) {
        if let Ok(mut codes) = self.codes.lock() {
            codes.push_back((code, Some(answered_at)));
        }
    }
}

/// Token requests for pending grants, each with the next pollable code from a shared pool,
/// expecting `authorization_pending`.
pub(crate) struct PendingPollWorker {
    connection: Connection,
    path: &'static str,
    client_id: String,
    pool: Arc<CodePool>,
}

impl PendingPollWorker {
    pub(crate) fn new(
        addr: SocketAddr,
        endpoints: Endpoints,
        client_id: &str,
        pool: Arc<CodePool>,
    ) -> Self {
        Self {
            connection: Connection::new(addr),
            path: endpoints.token,
            client_id: client_id.to_owned(),
            pool,
        }
    }
}

impl Worker for PendingPollWorker {
    async fn step(&mut self) -> anyhow::Result<Duration> {
        let code = self.pool.take().await?;
        let body = form(&[
            ("grant_type", DEVICE_CODE_GRANT),
            ("device_code", &code),
            ("client_id", &self.client_id),
        ]);
        let started = Instant::now();
        let response = self.connection.post_form(self.path, &[], body).await;
        let answered_at = Instant::now();
        self.pool.give_back(code, answered_at);
        let response = response?;
        response.expect_status(StatusCode::BAD_REQUEST)?;
        if !response.body_contains("authorization_pending") {
            anyhow::bail!(
                "expected authorization_pending: {}",
                response.body_excerpt()
            );
        }
        Ok(answered_at - started)
    }
}

/// Token requests that each worker sends for its own device code as fast as it can, so that
/// every poll after its first is too soon and gets `slow_down`.
pub(crate) struct SlowDownWorker {
    connection: Connection,
    path: &'static str,
    body: Bytes,
    /// Polls that returned authorization_pending: the first of each code.
    pub(crate) pending: u64,
}

impl SlowDownWorker {
    pub(crate) fn new(
        addr: SocketAddr,
        endpoints: Endpoints,
        client_id: &str,
        device_code: &str,
    ) -> Self {
        Self {
            connection: Connection::new(addr),
            path: endpoints.token,
            body: form(&[
                ("grant_type", DEVICE_CODE_GRANT),
                ("device_code", device_code),
                ("client_id", client_id),
            ]),
            pending: 0,
        }
    }
}

impl Worker for SlowDownWorker {
    async fn step(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let response = self
            .connection
            .post_form(self.path, &[], self.body.clone())
            .await?;
        let latency = started.elapsed();
        response.expect_status(StatusCode::BAD_REQUEST)?;
        if response.body_contains("slow_down") {
            Ok(latency)
        } else if response.body_contains("authorization_pending") {
            // The first poll of a code is never too soon.
            self.pending += 1;
            Ok(latency)
        } else {
            anyhow::bail!(
                "expected slow_down or authorization_pending: {}",
                response.body_excerpt()
            )
        }
    }
}

/// An access token and the refresh token issued with it.
#[derive(Clone)]
pub(crate) struct Tokens {
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
}

fn tokens(response: &Response) -> anyhow::Result<Tokens> {
    response.expect_status(StatusCode::OK)?;
    let json = response.json()?;
    let field = |name: &str| {
        json.get(name)
            .and_then(|value| value.as_str())
            .map(str::to_owned)
            .with_context(|| format!("the token response has no {name}"))
    };
    Ok(Tokens {
        access_token: field("access_token")?,
        refresh_token: field("refresh_token")?,
    })
}

/// Whole device logins: device authorization, the code entered and approved on the page by a
/// signed-in person, then the token request that redeems the grant. Four requests per step.
pub(crate) struct FlowWorker {
    api: Connection,
    page: PageSession,
    client_id: String,
    scopes: Vec<String>,
    authorization_body: Bytes,
    /// The tokens of the last completed flow.
    pub(crate) last_tokens: Option<Tokens>,
}

impl FlowWorker {
    /// Signs in on the page (once per worker: argon2 makes sign-in slow on purpose), then
    /// returns a worker ready to run flows.
    pub(crate) async fn sign_in(
        addr: SocketAddr,
        issuer: &str,
        client_id: &str,
        scope: &str,
    ) -> anyhow::Result<Self> {
        let page = PageSession::sign_in(addr, issuer, BENCH_USER, BENCH_PASSWORD).await?;
        Ok(Self {
            api: Connection::new(addr),
            page,
            client_id: client_id.to_owned(),
            scopes: scope.split(' ').map(str::to_owned).collect(),
            authorization_body: form(&[("client_id", client_id), ("scope", scope)]),
            last_tokens: None,
        })
    }
}

impl Worker for FlowWorker {
    async fn step(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let response = self
            .api
            .post_form(
                DEVAUTHD_ENDPOINTS.device_authorization,
                &[],
                self.authorization_body.clone(),
            )
            .await?;
        let codes = device_codes(&response)?;

        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        self.page.approve(&codes.user_code, &scopes).await?;

        let body = form(&[
            ("grant_type", DEVICE_CODE_GRANT),
            ("device_code", &codes.device_code),
            ("client_id", &self.client_id),
        ]);
        let response = self
            .api
            .post_form(DEVAUTHD_ENDPOINTS.token, &[], body)
            .await?;
        let issued = tokens(&response).context("redeeming the approved grant failed")?;
        let latency = started.elapsed();
        self.last_tokens = Some(issued);
        Ok(latency)
    }
}

/// Refresh token grants, each presenting the refresh token the previous one returned.
pub(crate) struct RefreshWorker {
    connection: Connection,
    client_id: String,
    /// The current tokens.
    pub(crate) tokens: Tokens,
}

impl RefreshWorker {
    pub(crate) fn new(addr: SocketAddr, client_id: &str, tokens: Tokens) -> Self {
        Self {
            connection: Connection::new(addr),
            client_id: client_id.to_owned(),
            tokens,
        }
    }
}

impl Worker for RefreshWorker {
    async fn step(&mut self) -> anyhow::Result<Duration> {
        let body = form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &self.tokens.refresh_token),
            ("client_id", &self.client_id),
        ]);
        let started = Instant::now();
        let response = self
            .connection
            .post_form(DEVAUTHD_ENDPOINTS.token, &[], body)
            .await?;
        let latency = started.elapsed();
        self.tokens = tokens(&response).context("refresh failed")?;
        Ok(latency)
    }
}

/// `GET /oauth/userinfo` with a bearer access token, expecting 200.
pub(crate) struct UserinfoWorker {
    connection: Connection,
    authorization: HeaderValue,
}

impl UserinfoWorker {
    pub(crate) fn new(addr: SocketAddr, access_token: &str) -> anyhow::Result<Self> {
        Ok(Self {
            connection: Connection::new(addr),
            authorization: HeaderValue::from_str(&format!("Bearer {access_token}"))?,
        })
    }
}

impl Worker for UserinfoWorker {
    async fn step(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let response = self
            .connection
            .get(
                "/oauth/userinfo",
                &[(header::AUTHORIZATION, self.authorization.clone())],
            )
            .await?;
        let latency = started.elapsed();
        response.expect_status(StatusCode::OK)?;
        Ok(latency)
    }
}
