//! Polling rules of RFC 8628 sections 3.4 and 3.5, against the scripted fake server, timed on a
//! manual clock so every gap is exact and no test sleeps.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use devauth_client::{
    default_transport, Cancellation, DeviceClient, Endpoints, Error, ErrorCode, FixedJitter,
    HttpRequest, HttpResponse, HttpTransport, ManualClock, PollEvent, RetryReason, TransportError,
    WaitOptions,
};
use serde_json::json;
use support::{FakeServer, Reply, DEVICE_CODE};

const SECOND: Duration = Duration::from_secs(1);

fn secs(values: &[u64]) -> Vec<Duration> {
    values
        .iter()
        .map(|value| Duration::from_secs(*value))
        .collect()
}

/// Starts a fake server and a client that share one manual clock.
async fn setup() -> (FakeServer, DeviceClient, ManualClock) {
    let clock = ManualClock::new();
    let server = FakeServer::start_with_clock(Arc::new(clock.clone())).await;
    let client = client_for(&server, &clock, default_transport().unwrap()).await;
    (server, client, clock)
}

async fn client_for(
    server: &FakeServer,
    clock: &ManualClock,
    transport: Arc<dyn HttpTransport>,
) -> DeviceClient {
    let endpoints = Endpoints::discover(transport.as_ref(), &server.base_url)
        .await
        .unwrap();
    DeviceClient::builder(endpoints, "devauth")
        .transport(transport)
        .clock(Arc::new(clock.clone()))
        .sleeper(Arc::new(clock.clone()))
        .jitter(Arc::new(FixedJitter(0.0)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn slow_down_adds_five_seconds_for_good() {
    let (server, client, _clock) = setup().await;
    server.set_interval(Some(json!(1)), 600);
    server.push_token_replies([
        Reply::error("authorization_pending"),
        Reply::error("slow_down"),
        Reply::error("authorization_pending"),
        Reply::error("slow_down"),
        Reply::tokens("dva_k11", Some("dvr_k11")),
    ]);

    let pending = client.start("profile").await.unwrap();
    let mut events = Vec::new();
    let tokens = client
        .wait_with(&pending, WaitOptions::default(), |event| {
            events.push(event.clone())
        })
        .await
        .unwrap();

    assert_eq!(tokens.access_token.expose(), "dva_k11");
    assert_eq!(server.token_request_gaps(), secs(&[1, 6, 6, 11]));
    assert_eq!(server.max_in_flight(), 1);
    let slowed: Vec<&PollEvent> = events
        .iter()
        .filter(|event| matches!(event, PollEvent::SlowedDown { .. }))
        .collect();
    assert_eq!(
        slowed,
        [
            &PollEvent::SlowedDown {
                interval: 6 * SECOND
            },
            &PollEvent::SlowedDown {
                interval: 11 * SECOND
            }
        ]
    );
}

#[tokio::test]
async fn first_poll_waits_one_interval() {
    let (server, client, clock) = setup().await;
    server.set_interval(Some(json!(3)), 600);
    server.push_token_replies([Reply::tokens("dva_a", None)]);

    let started = clock.elapsed();
    let pending = client.start("").await.unwrap();
    client.wait(&pending).await.unwrap();

    let poll = &server.token_requests()[0];
    assert_eq!(clock.elapsed() - started, 3 * SECOND);
    assert_eq!(poll.param("device_code"), Some(DEVICE_CODE));
    assert_eq!(
        poll.param("grant_type"),
        Some("urn:ietf:params:oauth:grant-type:device_code")
    );
    assert_eq!(poll.param("client_id"), Some("devauth"));
    assert_eq!(poll.accept.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn larger_server_interval_on_slow_down_wins() {
    let (server, client, _clock) = setup().await;
    server.set_interval(Some(json!(2)), 600);
    server.push_token_replies([
        Reply::json(400, json!({"error": "slow_down", "interval": 20})),
        Reply::error("authorization_pending"),
        Reply::json(400, json!({"error": "slow_down", "interval": 3})),
        Reply::tokens("dva_a", None),
    ]);

    let pending = client.start("").await.unwrap();
    client.wait(&pending).await.unwrap();

    // 2 + 5 < 20, so 20 wins; then 20 + 5 > 3, so the increment wins.
    assert_eq!(server.token_request_gaps(), secs(&[20, 20, 25]));
}

#[tokio::test]
async fn unusable_interval_defaults_to_five_seconds() {
    let cases = [
        ("missing", None, 5),
        ("zero", Some(json!(0)), 5),
        ("negative", Some(json!(-3)), 5),
        ("unparsable string", Some(json!("soon")), 5),
        ("null", Some(json!(null)), 5),
        ("numeric string", Some(json!("3")), 3),
        ("fraction rounds up", Some(json!(1.5)), 2),
    ];
    for (case, interval, expected) in cases {
        let (server, client, _clock) = setup().await;
        server.set_interval(interval, 600);
        server.push_token_replies([
            Reply::error("authorization_pending"),
            Reply::tokens("dva_a", None),
        ]);

        let pending = client.start("").await.unwrap();
        assert_eq!(
            pending.interval,
            Duration::from_secs(expected),
            "case {case}"
        );
        client.wait(&pending).await.unwrap();
        assert_eq!(
            server.token_request_gaps(),
            secs(&[expected]),
            "case {case}"
        );
    }
}

#[tokio::test]
async fn terminal_errors_stop_polling_at_once() {
    type IsExpected = fn(&Error) -> bool;
    let cases: [(&str, IsExpected); 5] = [
        ("access_denied", |error| {
            matches!(error, Error::AccessDenied)
        }),
        ("expired_token", |error| {
            matches!(error, Error::ExpiredToken)
        }),
        ("invalid_grant", |error| error.is_invalid_grant()),
        ("invalid_client", |error| {
            matches!(
                error,
                Error::Rejected {
                    code: ErrorCode::InvalidClient,
                    ..
                }
            )
        }),
        (
            "made_up_code",
            |error| matches!(error, Error::Rejected { code: ErrorCode::Other(code), .. } if code == "made_up_code"),
        ),
    ];
    for (code, is_expected) in cases {
        let (server, client, _clock) = setup().await;
        server.push_token_replies([
            Reply::error("authorization_pending"),
            Reply::error(code),
            Reply::error("authorization_pending"),
            Reply::tokens("dva_never", None),
        ]);

        let pending = client.start("").await.unwrap();
        let error = client.wait(&pending).await.unwrap_err();

        assert!(is_expected(&error), "code {code} gave {error:?}");
        assert_eq!(server.token_requests().len(), 2, "code {code}");
    }
}

#[tokio::test]
async fn error_with_status_200_is_honored() {
    let (server, client, _clock) = setup().await;
    server.push_token_replies([
        Reply::json(200, json!({"error": "authorization_pending"})),
        Reply::json(
            200,
            json!({"error": "slow_down", "error_description": "too fast"}),
        ),
        Reply::json(200, json!({"error": "access_denied"})),
    ]);

    let pending = client.start("").await.unwrap();
    let error = client.wait(&pending).await.unwrap_err();

    assert!(matches!(error, Error::AccessDenied), "got {error:?}");
    assert_eq!(server.token_request_gaps(), secs(&[1, 6]));
}

#[tokio::test]
async fn form_encoded_responses_are_parsed() {
    let (server, client, _clock) = setup().await;
    let form = "application/x-www-form-urlencoded";
    let device_body = format!(
        "device_code={DEVICE_CODE}&user_code=ABCD-EFGH&verification_url={}%2Fdevice&expires_in=900&interval=2",
        server.base_url.replace(':', "%3A").replace('/', "%2F")
    );
    server.set_device_reply(Reply::raw(200, Some(form), device_body));
    server.push_token_replies([
        Reply::raw(200, Some(form), "error=authorization_pending"),
        Reply::raw(
            200,
            Some(form),
            "access_token=gho_form&token_type=bearer&scope=repo%2Cgist",
        ),
    ]);

    let pending = client.start("repo").await.unwrap();
    assert_eq!(pending.user_code, "ABCD-EFGH");
    assert_eq!(pending.verification_uri, server.url("/device"));
    assert_eq!(pending.interval, 2 * SECOND);
    assert_eq!(pending.expires_in, 900 * SECOND);

    let tokens = client.wait(&pending).await.unwrap();
    assert_eq!(tokens.access_token.expose(), "gho_form");
    assert_eq!(tokens.token_type, "bearer");
    assert_eq!(tokens.scope.as_deref(), Some("repo,gist"));
    assert_eq!(tokens.expires_in, None);
    assert_eq!(server.token_request_gaps(), secs(&[2]));
}

#[tokio::test]
async fn retry_after_on_429_delays_next_poll() {
    let (server, client, _clock) = setup().await;
    server.set_interval(Some(json!(5)), 600);
    server.push_token_replies([
        Reply::raw(429, Some("text/plain"), "Too Many Requests").with_header("retry-after", "17"),
        Reply::raw(429, None, "").with_header("retry-after", "1"),
        Reply::tokens("dva_a", None),
    ]);

    let pending = client.start("").await.unwrap();
    let mut retries = Vec::new();
    client
        .wait_with(&pending, WaitOptions::default(), |event| {
            if let PollEvent::Retrying { after, reason } = event {
                retries.push((*after, reason.clone()));
            }
        })
        .await
        .unwrap();

    // Retry-After 17 is longer than the back-off; Retry-After 1 is shorter than the 10 s
    // back-off of a second failure, which wins.
    assert_eq!(server.token_request_gaps(), secs(&[17, 10]));
    assert_eq!(retries[0], (17 * SECOND, RetryReason::Status(429)));
}

#[tokio::test]
async fn server_errors_back_off_exponentially() {
    let (server, client, _clock) = setup().await;
    server.set_interval(Some(json!(5)), 3600);
    server.push_token_replies([
        Reply::raw(
            502,
            Some("text/html"),
            "<html><body>Bad Gateway</body></html>",
        ),
        Reply::json(500, json!({"error": "server_error"})),
        Reply::raw(503, None, ""),
        Reply::error("authorization_pending"),
        Reply::raw(503, None, ""),
        Reply::tokens("dva_a", None),
    ]);

    let pending = client.start("").await.unwrap();
    client.wait(&pending).await.unwrap();

    // 5, 10, 20 after three failures; a pending response resets the count.
    assert_eq!(server.token_request_gaps(), secs(&[5, 10, 20, 5, 5]));
}

#[tokio::test]
async fn back_off_jitter_never_goes_below_interval() {
    let clock = ManualClock::new();
    let server = FakeServer::start_with_clock(Arc::new(clock.clone())).await;
    server.set_interval(Some(json!(8)), 3600);
    server.push_token_replies([Reply::raw(503, None, ""), Reply::tokens("dva_a", None)]);
    let transport = default_transport().unwrap();
    let endpoints = Endpoints::discover(transport.as_ref(), &server.base_url)
        .await
        .unwrap();
    let client = DeviceClient::builder(endpoints, "devauth")
        .transport(transport)
        .clock(Arc::new(clock.clone()))
        .sleeper(Arc::new(clock.clone()))
        .jitter(Arc::new(FixedJitter(0.999)))
        .build()
        .unwrap();

    let pending = client.start("").await.unwrap();
    client.wait(&pending).await.unwrap();

    let gap = server.token_request_gaps()[0];
    assert!(gap >= 8 * SECOND, "gap {gap:?}");
    assert!(gap <= 10 * SECOND, "gap {gap:?}");
}

/// Fails the first `failures` token requests without sending them, as a refused connection
/// would, and passes everything else to the real transport.
struct FlakyTransport {
    inner: Arc<dyn HttpTransport>,
    failures: AtomicUsize,
    log: Mutex<Vec<String>>,
}

#[async_trait]
impl HttpTransport for FlakyTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let is_token = request.url.path().ends_with("/token");
        if is_token && self.failures.load(Ordering::SeqCst) > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            self.log.lock().unwrap().push("refused".into());
            return Err(TransportError("connection refused".into()));
        }
        self.inner.send(request).await
    }
}

#[tokio::test]
async fn connection_failures_are_retried() {
    let clock = ManualClock::new();
    let server = FakeServer::start_with_clock(Arc::new(clock.clone())).await;
    server.set_interval(Some(json!(4)), 600);
    server.push_token_replies([Reply::tokens("dva_a", None)]);
    let flaky = Arc::new(FlakyTransport {
        inner: default_transport().unwrap(),
        failures: AtomicUsize::new(2),
        log: Mutex::new(Vec::new()),
    });
    let client = client_for(&server, &clock, flaky.clone()).await;

    let pending = client.start("").await.unwrap();
    let mut reasons = Vec::new();
    let tokens = client
        .wait_with(&pending, WaitOptions::default(), |event| {
            if let PollEvent::Retrying { reason, .. } = event {
                reasons.push(reason.clone());
            }
        })
        .await
        .unwrap();

    assert_eq!(tokens.access_token.expose(), "dva_a");
    assert_eq!(flaky.log.lock().unwrap().len(), 2);
    assert_eq!(
        reasons,
        [
            RetryReason::Transport("connection refused".into()),
            RetryReason::Transport("connection refused".into())
        ]
    );
    // First poll after 4 s, retries after 4 s and 8 s: the one real request comes at 16 s.
    assert_eq!(clock.sleeps(), secs(&[4, 4, 8]));
}

#[tokio::test]
async fn html_error_page_stops_polling() {
    let (server, client, _clock) = setup().await;
    server.push_token_replies([
        Reply::raw(
            404,
            Some("text/html"),
            "<html><body>Not Found</body></html>",
        ),
        Reply::tokens("dva_never", None),
    ]);

    let pending = client.start("").await.unwrap();
    let error = client.wait(&pending).await.unwrap_err();

    assert!(
        matches!(error, Error::UnexpectedResponse { status: 404, .. }),
        "got {error:?}"
    );
    assert_eq!(server.token_requests().len(), 1);
}

#[tokio::test]
async fn expiry_deadline_stops_polling() {
    let (server, client, clock) = setup().await;
    server.set_interval(Some(json!(4)), 10);
    server.push_token_replies((0..10).map(|_| Reply::error("authorization_pending")));

    let started = clock.elapsed();
    let pending = client.start("").await.unwrap();
    let error = client.wait(&pending).await.unwrap_err();

    assert!(matches!(error, Error::ExpiredToken), "got {error:?}");
    // Polls at 4 and 8 s; the next would be at 12 s, after the 10 s deadline.
    assert_eq!(server.token_requests().len(), 2);
    assert_eq!(clock.elapsed() - started, 10 * SECOND);
}

#[tokio::test]
async fn timeout_ends_wait_while_pending() {
    let (server, client, clock) = setup().await;
    server.set_interval(Some(json!(5)), 600);
    server.push_token_replies((0..10).map(|_| Reply::error("authorization_pending")));

    let pending = client.start("").await.unwrap();
    let started = clock.elapsed();
    let options = WaitOptions {
        timeout: Some(12 * SECOND),
        ..WaitOptions::default()
    };
    let error = client
        .wait_with(&pending, options, |_| {})
        .await
        .unwrap_err();

    assert!(matches!(error, Error::TimedOut(_)), "got {error:?}");
    assert_eq!(server.token_requests().len(), 2);
    assert_eq!(clock.elapsed() - started, 12 * SECOND);
}

#[tokio::test]
async fn cancellation_ends_wait_promptly() {
    let server = FakeServer::start().await;
    server.set_interval(Some(json!(30)), 600);
    let transport = default_transport().unwrap();
    let endpoints = Endpoints::discover(transport.as_ref(), &server.base_url)
        .await
        .unwrap();
    let client = DeviceClient::builder(endpoints, "devauth")
        .transport(transport)
        .build()
        .unwrap();
    let pending = client.start("").await.unwrap();

    let cancellation = Cancellation::new();
    let trigger = cancellation.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        trigger.cancel();
    });
    let options = WaitOptions {
        cancellation: Some(cancellation),
        ..WaitOptions::default()
    };
    let started = std::time::Instant::now();
    let error = client
        .wait_with(&pending, options, |_| {})
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Cancelled), "got {error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(server.token_requests().is_empty());
}

#[tokio::test]
async fn slow_responses_never_overlap_polls() {
    let server = FakeServer::start().await;
    server.set_interval(Some(json!(1)), 600);
    server.set_token_delay(Duration::from_millis(1500));
    server.push_token_replies([
        Reply::error("authorization_pending"),
        Reply::tokens("dva_a", None),
    ]);
    let transport = default_transport().unwrap();
    let endpoints = Endpoints::discover(transport.as_ref(), &server.base_url)
        .await
        .unwrap();
    let client = DeviceClient::builder(endpoints, "devauth")
        .transport(transport)
        .build()
        .unwrap();

    let pending = client.start("").await.unwrap();
    client.wait(&pending).await.unwrap();

    // The next poll waits one interval after the slow response arrived: 1.5 s + 1 s.
    assert_eq!(server.max_in_flight(), 1);
    let gap = server.token_request_gaps()[0];
    assert!(gap >= Duration::from_millis(2500), "gap {gap:?}");
}
