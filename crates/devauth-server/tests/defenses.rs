//! The page's and the token endpoint's defenses: attempt limits, the guessing alarm, the audit
//! trail and metrics. Browsers connect from distinct loopback addresses (127.0.0.x) so that
//! per-address limits can be told apart from per-account ones.

mod common;

use common::{Browser, TestServer, DEVICE_CODE_GRANT, PASSWORD};
use devauth_server::attempt_limit::{CODE_ENTRY, SIGN_IN, UNKNOWN_DEVICE_CODE};
use reqwest::StatusCode;

const WRONG_CODE: &str = "BBBB-BBBB";

async fn audit_events(server: &TestServer) -> Vec<devauth_server::store::AuditRecord> {
    server.app.store.audit_events(0, 10_000).await.unwrap()
}

#[tokio::test]
async fn wrong_codes_lock_out_even_the_right_code_until_the_window_passes() {
    let server = TestServer::start_with(devauth_server::ConfigLayer {
        device_code_lifetime_secs: Some(1800),
        ..Default::default()
    })
    .await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    let user_code = grant["user_code"].as_str().unwrap();
    let browser = server.signed_in_browser_at("alice", "127.0.0.2").await;

    for attempt in 0..CODE_ENTRY.max_failures {
        let answer = browser.enter_code(WRONG_CODE).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "attempt {attempt}");
    }
    let locked = browser.enter_code(user_code).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.text
    );
    assert!(locked.text.contains("Too many wrong codes"));
    assert!(!locked.text.contains("Approve this device?"));

    let events = audit_events(&server).await;
    let failures = events
        .iter()
        .filter(|e| e.event == "code_entry_failed")
        .count();
    assert_eq!(failures as u64, CODE_ENTRY.max_failures);
    let limited = events
        .iter()
        .find(|e| e.event == "rate_limited")
        .expect("rate_limited event");
    assert_eq!(limited.address.as_deref(), Some("127.0.0.2"));
    assert!(limited.user_id.is_some());

    server.clock.advance_ms(CODE_ENTRY.window_ms);
    let reset = browser.enter_code(user_code).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.text);
    assert!(reset.text.contains("Approve this device?"));
}

#[tokio::test]
async fn code_entry_limit_is_per_account_across_addresses() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    server.add_user("bob").await;
    let grant = server.authorize("devauth", None).await;
    let user_code = grant["user_code"].as_str().unwrap();

    let first = server.signed_in_browser_at("alice", "127.0.0.3").await;
    let second = server.signed_in_browser_at("alice", "127.0.0.4").await;
    for _ in 0..3 {
        first.enter_code(WRONG_CODE).await;
    }
    for _ in 3..CODE_ENTRY.max_failures {
        second.enter_code(WRONG_CODE).await;
    }
    let third = server.signed_in_browser_at("alice", "127.0.0.5").await;
    assert_eq!(
        third.enter_code(user_code).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    let bob = server.signed_in_browser_at("bob", "127.0.0.5").await;
    assert_eq!(
        bob.enter_code(user_code).await.status,
        StatusCode::OK,
        "another account from a clean address is unaffected"
    );
}

#[tokio::test]
async fn code_entry_limit_is_per_address_across_accounts() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    server.add_user("bob").await;
    let grant = server.authorize("devauth", None).await;
    let user_code = grant["user_code"].as_str().unwrap();

    let alice = server.signed_in_browser_at("alice", "127.0.0.6").await;
    for _ in 0..CODE_ENTRY.max_failures {
        alice.enter_code(WRONG_CODE).await;
    }
    let bob_same_address = server.signed_in_browser_at("bob", "127.0.0.6").await;
    assert_eq!(
        bob_same_address.enter_code(user_code).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let bob_elsewhere = server.signed_in_browser_at("bob", "127.0.0.7").await;
    assert_eq!(
        bob_elsewhere.enter_code(user_code).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn malformed_codes_cost_no_attempt() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    let browser = server.signed_in_browser_at("alice", "127.0.0.8").await;
    for _ in 0..(CODE_ENTRY.max_failures + 3) {
        assert_eq!(
            browser.enter_code("not a code").await.status,
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(
        browser
            .enter_code(grant["user_code"].as_str().unwrap())
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_passwords_lock_out_even_the_right_password() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let browser = Browser::from_address(&server, "127.0.0.9");
    for _ in 0..SIGN_IN.max_failures {
        assert_eq!(
            browser.sign_in("alice", "wrong password").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = browser.sign_in("alice", PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        locked.text.contains("Too many failed sign-ins"),
        "{}",
        locked.text
    );

    // The username is locked from every address, not only the one that guessed.
    let elsewhere = Browser::from_address(&server, "127.0.0.10");
    assert_eq!(
        elsewhere.sign_in("alice", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    server.clock.advance_ms(SIGN_IN.window_ms);
    let answer = browser.sign_in("alice", PASSWORD).await;
    assert!(answer.text.contains("Enter the code"), "{}", answer.text);

    let events = audit_events(&server).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event == "sign_in_failed")
            .count() as u64,
        SIGN_IN.max_failures
    );
    assert!(events
        .iter()
        .any(|e| e.event == "sign_in_succeeded" && e.address.as_deref() == Some("127.0.0.9")));
}

#[tokio::test]
async fn unknown_device_codes_block_the_address_not_others() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let local: std::net::IpAddr = "127.0.0.11".parse().unwrap();
    let attacker = reqwest::Client::builder()
        .local_address(local)
        .build()
        .unwrap();
    let poll = |client: &reqwest::Client, device_code: &str| {
        let request = client.post(server.url("/oauth/device/token")).form(&[
            ("grant_type", DEVICE_CODE_GRANT),
            ("device_code", device_code),
            ("client_id", "devauth"),
        ]);
        async move { common::read(request.send().await.unwrap()).await }
    };

    for attempt in 0..UNKNOWN_DEVICE_CODE.max_failures {
        let answer = poll(&attacker, &format!("dvc_guess{attempt}")).await;
        assert_eq!(answer.error(), "invalid_grant", "attempt {attempt}");
    }
    let grant = server.authorize("devauth", None).await;
    let device_code = grant["device_code"].as_str().unwrap();
    let blocked = poll(&attacker, device_code).await;
    assert_eq!(
        blocked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        blocked.text
    );
    assert_eq!(blocked.error(), "invalid_request");
    assert_eq!(blocked.header("content-type"), "application/json");
    assert!(blocked.header("retry-after").parse::<u64>().unwrap() > 0);

    // A legitimate flow from another address goes on.
    server
        .approve("alice", grant["user_code"].as_str().unwrap(), None)
        .await;
    let answer = server.poll("devauth", device_code).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);

    let events = audit_events(&server).await;
    assert!(events
        .iter()
        .any(|e| e.event == "rate_limited" && e.address.as_deref() == Some("127.0.0.11")));
}

#[tokio::test]
async fn many_wrong_codes_raise_the_guessing_alarm() {
    let server = TestServer::start().await;
    let mut wrong = 0;
    for index in 0..12 {
        let username = format!("user{index}");
        server.add_user(&username).await;
        let browser = server
            .signed_in_browser_at(&username, &format!("127.0.1.{}", index + 1))
            .await;
        for _ in 0..CODE_ENTRY.max_failures {
            browser.enter_code(WRONG_CODE).await;
            wrong += 1;
        }
    }
    assert!(wrong > devauth_server::attempt_limit::GUESSING_ALARM_PER_MINUTE);
    let events = audit_events(&server).await;
    assert!(
        events.iter().any(|e| e.event == "guessing_alarm"),
        "no guessing_alarm event"
    );

    let metrics = common::read(
        server
            .http
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        metrics.text.contains("devauth_guessing_alarms_total"),
        "{}",
        metrics.text
    );
    let line = metrics
        .text
        .lines()
        .find(|l| l.starts_with("devauth_code_entry_failures_total "))
        .unwrap();
    let count: u64 = line.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(count >= wrong, "{line}");
}

#[tokio::test]
async fn audit_trail_records_each_step_without_secrets() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let tokens = server.tokens("devauth", None, "alice").await;
    let refresh = server
        .refresh("devauth", tokens["refresh_token"].as_str().unwrap(), None)
        .await
        .json();
    server
        .refresh("devauth", tokens["refresh_token"].as_str().unwrap(), None)
        .await;
    server
        .post_form(
            "/oauth/revoke",
            &[
                ("token", refresh["access_token"].as_str().unwrap()),
                ("client_id", "devauth"),
            ],
        )
        .await;
    let denied = server.authorize("devauth", None).await;
    server
        .deny("alice", denied["user_code"].as_str().unwrap())
        .await;

    let events = audit_events(&server).await;
    let user = server
        .app
        .store
        .user_by_name("alice")
        .await
        .unwrap()
        .unwrap();
    for name in [
        "sign_in_succeeded",
        "approved",
        "token_issued",
        "token_refreshed",
        "refresh_reuse_detected",
        "token_revoked",
        "denied",
    ] {
        let event = events
            .iter()
            .find(|e| e.event == name)
            .unwrap_or_else(|| panic!("no {name} event in {events:?}"));
        assert_eq!(event.user_id.as_deref(), Some(user.id.as_str()), "{name}");
        assert_eq!(event.address.as_deref(), Some("127.0.0.1"), "{name}");
        if name != "sign_in_succeeded" {
            assert_eq!(event.client_id.as_deref(), Some("devauth"), "{name}");
        }
    }
    let secrets = [
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
        refresh["access_token"].as_str().unwrap(),
        denied["device_code"].as_str().unwrap(),
        PASSWORD,
    ];
    for event in &events {
        let text = format!("{event:?}");
        for secret in secrets {
            assert!(!text.contains(secret), "secret in audit event {text}");
        }
        assert!(
            !text.contains("dva_") && !text.contains("dvr_") && !text.contains("dvc_"),
            "{text}"
        );
    }
}

/// Asserts that exactly one `name` event was stored since the last call for that name, and
/// returns the name for the report.
async fn expect_new_event(
    seen: &mut std::collections::HashMap<String, usize>,
    server: &TestServer,
    name: &str,
) -> String {
    let now = audit_events(server)
        .await
        .iter()
        .filter(|e| e.event == name)
        .count();
    let previous = seen.insert(name.to_owned(), now).unwrap_or(0);
    assert_eq!(now, previous + 1, "one new {name} event");
    name.to_owned()
}

/// Each attack of the attempt matrix is refused, and the refusals the server can see leave an
/// audit event. Framing and script injection are refused in the browser (by headers and by
/// escaping), so they leave none.
#[tokio::test]
async fn attempt_matrix_is_refused_and_audited() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    server.add_user("bob").await;
    let mut rows = Vec::new();
    let mut seen = std::collections::HashMap::new();

    // Missing CSRF token.
    let grant = server.authorize("devauth", None).await;
    let user_code = grant["user_code"].as_str().unwrap();
    let browser = server.signed_in_browser_at("alice", "127.0.2.1").await;
    let answer = browser
        .post(
            "/device/decision",
            &[
                ("user_code", user_code),
                ("decision", "approve"),
                ("scope", "profile"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let event = expect_new_event(&mut seen, &server, "request_rejected").await;
    rows.push(("missing CSRF token", answer.status.as_u16(), event));

    // Foreign Origin with a valid token.
    let confirm = browser.enter_code(user_code).await;
    let csrf = common::csrf(&confirm.text);
    let cross_site = browser.with_other_origin(Some("https://evil.example"));
    let answer = cross_site
        .post(
            "/device/decision",
            &[
                ("csrf_token", &csrf),
                ("user_code", user_code),
                ("decision", "approve"),
                ("scope", "profile"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let event = expect_new_event(&mut seen, &server, "request_rejected").await;
    rows.push(("foreign Origin", answer.status.as_u16(), event));
    assert_eq!(
        server
            .poll("devauth", grant["device_code"].as_str().unwrap())
            .await
            .error(),
        "authorization_pending"
    );

    // Framing: the browser refuses to render the page in a frame.
    let page = browser.get("/device").await;
    assert!(page
        .header("content-security-policy")
        .contains("frame-ancestors 'none'"));
    assert_eq!(page.header("x-frame-options"), "DENY");
    rows.push((
        "framing",
        page.status.as_u16(),
        "none (frame-ancestors 'none', X-Frame-Options DENY)".into(),
    ));

    // Script injection through a client name and the code query.
    server
        .add_client_with(devauth_server::admin::NewClient {
            client_id: "inject".into(),
            name: "<script>alert(1)</script>".into(),
            scope: "profile".into(),
            ..Default::default()
        })
        .await;
    let injected = server.authorize("inject", None).await;
    let confirm = browser
        .enter_code(injected["user_code"].as_str().unwrap())
        .await;
    assert!(!confirm.text.contains("<script>"), "{}", confirm.text);
    assert!(confirm.text.contains("&lt;script&gt;"), "{}", confirm.text);
    rows.push((
        "script injection",
        confirm.status.as_u16(),
        "none (rendered as text)".into(),
    ));

    // A user disabled after approving gets no token.
    let disabled = server.authorize("devauth", None).await;
    server
        .approve("bob", disabled["user_code"].as_str().unwrap(), None)
        .await;
    devauth_server::admin::disable_user(server.app.store.as_ref(), "bob")
        .await
        .unwrap();
    let answer = server
        .poll("devauth", disabled["device_code"].as_str().unwrap())
        .await;
    assert_eq!(answer.error(), "invalid_grant");
    let event = expect_new_event(&mut seen, &server, "token_refused").await;
    rows.push(("disabled user redeems", answer.status.as_u16(), event));

    // Guessing past the limit.
    let guesser = server.signed_in_browser_at("alice", "127.0.2.2").await;
    for _ in 0..CODE_ENTRY.max_failures {
        guesser.enter_code(WRONG_CODE).await;
    }
    let answer = guesser.enter_code(user_code).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    let event = expect_new_event(&mut seen, &server, "rate_limited").await;
    rows.push(("guessing past the limit", answer.status.as_u16(), event));

    let mut table =
        String::from("attempt matrix:\n| attempt | status | audit event |\n| --- | --- | --- |\n");
    for (attempt, status, event) in rows {
        table.push_str(&format!("| {attempt} | {status} | {event} |\n"));
    }
    common::report("attempt-matrix", table.trim_end());
}
