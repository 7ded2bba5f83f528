//! Process-wide counters served at `GET /metrics` in the Prometheus text format. Each replica
//! counts its own requests; the scraper adds them up.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// A monotonically increasing counter.
#[derive(Debug)]
pub struct Counter {
    name: &'static str,
    help: &'static str,
    value: AtomicU64,
}

impl Counter {
    const fn new(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            value: AtomicU64::new(0),
        }
    }

    /// Adds one.
    pub fn increment(&self) {
        self.value.fetch_add(1, Ordering::Relaxed);
    }

    /// Returns the current value.
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}

/// Device authorizations started.
pub static DEVICE_AUTHORIZATIONS: Counter = Counter::new(
    "devauth_device_authorizations_total",
    "Device authorizations started.",
);
/// Polls that received authorization_pending.
pub static POLLS_PENDING: Counter = Counter::new(
    "devauth_polls_pending_total",
    "Token requests answered authorization_pending.",
);
/// Polls that received slow_down.
pub static POLLS_SLOW_DOWN: Counter = Counter::new(
    "devauth_polls_slow_down_total",
    "Token requests answered slow_down.",
);
/// Token responses with new tokens, from either grant.
pub static TOKENS_ISSUED: Counter = Counter::new(
    "devauth_tokens_issued_total",
    "Token responses that issued tokens.",
);
/// Wrong user codes entered on the page.
pub static CODE_ENTRY_FAILURES: Counter = Counter::new(
    "devauth_code_entry_failures_total",
    "Wrong user codes entered on the page.",
);
/// Requests refused by an attempt limit.
pub static RATE_LIMITED: Counter = Counter::new(
    "devauth_rate_limited_total",
    "Requests refused by an attempt limit.",
);
/// Times the user-code guessing alarm fired.
pub static GUESSING_ALARMS: Counter = Counter::new(
    "devauth_guessing_alarms_total",
    "Times the user-code guessing alarm fired.",
);

const ALL: [&Counter; 7] = [
    &DEVICE_AUTHORIZATIONS,
    &POLLS_PENDING,
    &POLLS_SLOW_DOWN,
    &TOKENS_ISSUED,
    &CODE_ENTRY_FAILURES,
    &RATE_LIMITED,
    &GUESSING_ALARMS,
];

/// `GET /metrics`.
pub async fn metrics() -> Response {
    let mut body = String::new();
    for counter in ALL {
        body.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n",
            name = counter.name,
            help = counter.help,
            value = counter.get()
        ));
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        body,
    )
        .into_response()
}
