//! The verification page driven over HTTP with a cookie jar: sign-in, code entry, CSRF and
//! origin checks, messages, escaping and headers.

mod common;

use common::{Browser, TestServer, PASSWORD};
use devauth_server::admin::NewClient;
use devauth_server::ConfigLayer;
use reqwest::StatusCode;

#[tokio::test]
async fn typed_code_variants_reach_the_same_confirm_screen() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    let user_code = grant["user_code"].as_str().unwrap().to_owned();
    let (head, tail) = user_code.split_at(4);
    let tail = &tail[1..];
    let browser = server.signed_in_browser("alice").await;

    for typed in [
        user_code.clone(),
        format!("{head}{tail}"),
        user_code.to_lowercase(),
        format!("  {head} {tail}  "),
        format!("{head}\u{2013}{tail}"),
    ] {
        let answer = browser.enter_code(&typed).await;
        assert_eq!(answer.status, StatusCode::OK, "{typed:?}: {}", answer.text);
        assert!(answer.text.contains("Approve this device?"), "{typed:?}");
        assert!(answer.text.contains(&user_code), "{typed:?}");
    }

    let prefilled = browser
        .get(&format!("/device?user_code={}", user_code.to_lowercase()))
        .await;
    assert!(
        prefilled.text.contains("Approve this device?"),
        "{}",
        prefilled.text
    );
}

#[tokio::test]
async fn wrong_and_malformed_codes_get_clear_messages() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let browser = server.signed_in_browser("alice").await;

    let not_found = browser.enter_code("WDJB-MJHX").await;
    assert_eq!(not_found.status, StatusCode::NOT_FOUND);
    assert!(
        not_found.text.contains("Code not found"),
        "{}",
        not_found.text
    );
    assert!(!not_found.text.contains("Approve"));

    for malformed in [
        "WDJB-MJH",
        "hello world",
        "\u{0}\u{7f}",
        "<script>",
        "ＷＤＪＢ-ＭＪＨＴ",
    ] {
        let answer = browser.enter_code(malformed).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{malformed:?}");
        assert!(
            answer.text.contains("not a valid code"),
            "{malformed:?}: {}",
            answer.text
        );
    }
}

#[tokio::test]
async fn opening_the_prefilled_link_approves_nothing() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    let browser = server.signed_in_browser("alice").await;

    let link = grant["verification_uri_complete"].as_str().unwrap();
    let page = common::read(browser.http.get(link).send().await.unwrap()).await;
    assert!(page.text.contains("Approve this device?"));
    assert!(
        page.text.contains("Client devauth") || page.text.contains("devauth CLI"),
        "{}",
        page.text
    );
    assert!(page.text.contains("offline_access"), "{}", page.text);
    assert!(page.text.contains("profile"), "{}", page.text);
    assert!(
        page.text.contains("someone sent you"),
        "phishing warning shown"
    );
    assert!(page.text.contains("127.0.0.1"), "request address shown");
    assert!(page.text.contains(r#"method="post""#));

    let answer = server
        .poll("devauth", grant["device_code"].as_str().unwrap())
        .await;
    assert_eq!(answer.error(), "authorization_pending");
}

#[tokio::test]
async fn prefilled_link_before_sign_in_lands_on_confirm() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    let browser = Browser::new(&server);

    let link = grant["verification_uri_complete"].as_str().unwrap();
    let sign_in = common::read(browser.http.get(link).send().await.unwrap()).await;
    assert!(sign_in.text.contains("Sign in"), "{}", sign_in.text);
    let answer = browser
        .post(
            "/device/sign-in",
            &[
                ("csrf_token", &common::csrf(&sign_in.text)),
                ("username", "alice"),
                ("password", PASSWORD),
                ("user_code", grant["user_code"].as_str().unwrap()),
            ],
        )
        .await;
    assert!(
        answer.text.contains("Approve this device?"),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn complete_link_can_be_turned_off() {
    let server = TestServer::start_with(ConfigLayer {
        verification_uri_complete: Some(false),
        ..Default::default()
    })
    .await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    assert!(grant.get("verification_uri_complete").is_none(), "{grant}");

    let browser = server.signed_in_browser("alice").await;
    let page = browser
        .get(&format!(
            "/device?user_code={}",
            grant["user_code"].as_str().unwrap()
        ))
        .await;
    assert!(
        page.text.contains("Enter the code"),
        "the person must type the code: {}",
        page.text
    );
    assert!(!page.text.contains("Approve this device?"));
}

#[tokio::test]
async fn wrong_password_is_rejected_without_a_session() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let browser = Browser::new(&server);
    let page = browser.get("/device").await;
    let csrf = common::csrf(&page.text);

    for (username, password) in [("alice", "wrong password"), ("nobody", PASSWORD), ("", "")] {
        let answer = browser
            .post(
                "/device/sign-in",
                &[
                    ("csrf_token", &csrf),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{username}");
        assert!(
            answer.text.contains("Invalid username or password."),
            "{username}"
        );
    }
    let still_anonymous = browser.get("/device").await;
    assert!(still_anonymous.text.contains("Sign in to connect a device"));

    devauth_server::admin::disable_user(server.app.store.as_ref(), "alice")
        .await
        .unwrap();
    let disabled = browser
        .post(
            "/device/sign-in",
            &[
                ("csrf_token", &csrf),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(disabled.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn missing_or_foreign_csrf_token_is_403_and_changes_nothing() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    server.add_user("mallory").await;
    let grant = server.authorize("devauth", None).await;
    let user_code = grant["user_code"].as_str().unwrap();
    let browser = server.signed_in_browser("alice").await;
    let attacker = server.signed_in_browser("mallory").await;
    let foreign_csrf = common::csrf(&attacker.get("/device").await.text);

    for csrf in [None, Some(foreign_csrf.as_str()), Some("")] {
        let mut form = vec![
            ("user_code", user_code),
            ("decision", "approve"),
            ("scope", "profile"),
        ];
        if let Some(csrf) = csrf {
            form.push(("csrf_token", csrf));
        }
        let answer = browser.post("/device/decision", &form).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{csrf:?}");
        assert!(answer.text.contains("Request rejected"));
    }
    assert_eq!(
        server
            .poll("devauth", grant["device_code"].as_str().unwrap())
            .await
            .error(),
        "authorization_pending"
    );
}

#[tokio::test]
async fn foreign_origin_is_403_and_changes_nothing() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    let user_code = grant["user_code"].as_str().unwrap();
    let browser = server.signed_in_browser("alice").await;
    let confirm = browser.enter_code(user_code).await;
    let csrf = common::csrf(&confirm.text);

    let cross_site = browser.with_origin(Some("https://evil.example"));
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
    assert_eq!(
        server
            .poll("devauth", grant["device_code"].as_str().unwrap())
            .await
            .error(),
        "authorization_pending"
    );
}

#[tokio::test]
async fn used_expired_and_denied_codes_show_no_confirm_screen() {
    let server = TestServer::start_with(ConfigLayer {
        device_code_lifetime_secs: Some(60),
        ..Default::default()
    })
    .await;
    server.add_user("alice").await;
    let browser = server.signed_in_browser("alice").await;

    let used = server.tokens("devauth", None, "alice").await;
    assert!(used.get("access_token").is_some());
    let used_grant = server.authorize("devauth", None).await;
    server
        .approve("alice", used_grant["user_code"].as_str().unwrap(), None)
        .await;
    server
        .poll("devauth", used_grant["device_code"].as_str().unwrap())
        .await;
    let answer = browser
        .enter_code(used_grant["user_code"].as_str().unwrap())
        .await;
    assert!(answer.text.contains("Code already used"), "{}", answer.text);
    assert!(!answer.text.contains("Approve this device?"));

    let approved = server.authorize("devauth", None).await;
    server
        .approve("alice", approved["user_code"].as_str().unwrap(), None)
        .await;
    let answer = browser
        .enter_code(approved["user_code"].as_str().unwrap())
        .await;
    assert!(answer.text.contains("Already approved"), "{}", answer.text);

    let denied = server.authorize("devauth", None).await;
    server
        .deny("alice", denied["user_code"].as_str().unwrap())
        .await;
    let answer = browser
        .enter_code(denied["user_code"].as_str().unwrap())
        .await;
    assert!(answer.text.contains("Request denied"), "{}", answer.text);
    assert!(!answer.text.contains("Approve this device?"));

    let expiring = server.authorize("devauth", None).await;
    server.clock.advance_ms(60_000);
    let answer = browser
        .enter_code(expiring["user_code"].as_str().unwrap())
        .await;
    assert_eq!(answer.status, StatusCode::GONE);
    assert!(answer.text.contains("Code expired"), "{}", answer.text);
}

#[tokio::test]
async fn decision_after_expiry_changes_nothing() {
    let server = TestServer::start_with(ConfigLayer {
        device_code_lifetime_secs: Some(60),
        ..Default::default()
    })
    .await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    let user_code = grant["user_code"].as_str().unwrap();
    let browser = server.signed_in_browser("alice").await;
    let confirm = browser.enter_code(user_code).await;

    server.clock.advance_ms(60_000);
    let answer = browser
        .post(
            "/device/decision",
            &[
                ("csrf_token", &common::csrf(&confirm.text)),
                ("user_code", user_code),
                ("decision", "approve"),
                ("scope", "profile"),
            ],
        )
        .await;
    assert!(answer.text.contains("Code expired"), "{}", answer.text);
    assert_eq!(
        server
            .poll("devauth", grant["device_code"].as_str().unwrap())
            .await
            .error(),
        "expired_token"
    );
}

#[tokio::test]
async fn hostile_client_name_and_query_render_as_text() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let hostile = "\"><script>alert(1)</script>";
    server
        .add_client_with(NewClient {
            client_id: "evil".into(),
            name: hostile.into(),
            scope: "profile".into(),
            ..NewClient::default()
        })
        .await;
    let grant = server.authorize("evil", None).await;
    let browser = server.signed_in_browser("alice").await;

    let confirm = browser
        .enter_code(grant["user_code"].as_str().unwrap())
        .await;
    assert!(!confirm.text.contains("<script>"), "{}", confirm.text);
    assert!(
        confirm
            .text
            .contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        confirm.text
    );

    let page = browser
        .get("/device?user_code=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert!(!page.text.contains("<script>"), "{}", page.text);
    assert_eq!(page.status, StatusCode::BAD_REQUEST);

    let anonymous = Browser::new(&server)
        .get("/device?user_code=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert!(!anonymous.text.contains("<script>"), "{}", anonymous.text);
}

#[tokio::test]
async fn pages_carry_security_headers_and_strict_cookies() {
    let server = TestServer::start().await;
    let answer = Browser::new(&server).get("/device").await;
    let csp = answer.header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(answer.header("x-frame-options"), "DENY");
    assert_eq!(answer.header("x-content-type-options"), "nosniff");
    assert_eq!(answer.header("referrer-policy"), "no-referrer");
    assert_eq!(answer.header("cache-control"), "no-store");
    let cookie = answer.header("set-cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "no Secure attribute on an http issuer: {cookie}"
    );
    assert!(
        cookie.contains("Max-Age=3600"),
        "a session before sign-in lasts an hour: {cookie}"
    );

    let https = TestServer::start_with(ConfigLayer {
        issuer: Some("https://auth.example.com".into()),
        ..Default::default()
    })
    .await;
    let answer = common::read(https.http.get(https.url("/device")).send().await.unwrap()).await;
    assert!(
        answer.header("set-cookie").contains("; Secure"),
        "{}",
        answer.header("set-cookie")
    );
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let browser = server.signed_in_browser("alice").await;
    let page = browser.get("/device").await;
    let answer = browser
        .post(
            "/device/sign-out",
            &[("csrf_token", &common::csrf(&page.text))],
        )
        .await;
    assert!(
        answer.text.contains("Sign in to connect a device"),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn disabled_user_session_is_signed_out() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    let browser = server.signed_in_browser("alice").await;
    let confirm = browser
        .enter_code(grant["user_code"].as_str().unwrap())
        .await;
    devauth_server::admin::disable_user(server.app.store.as_ref(), "alice")
        .await
        .unwrap();

    let answer = browser
        .post(
            "/device/decision",
            &[
                ("csrf_token", &common::csrf(&confirm.text)),
                ("user_code", grant["user_code"].as_str().unwrap()),
                ("decision", "approve"),
                ("scope", "profile"),
            ],
        )
        .await;
    assert!(answer.text.contains("Sign in"), "{}", answer.text);
    assert_eq!(
        server
            .poll("devauth", grant["device_code"].as_str().unwrap())
            .await
            .error(),
        "authorization_pending"
    );
}

#[tokio::test]
async fn browser_fetch_metadata_decides_null_origin() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    let user_code = grant["user_code"].as_str().unwrap();
    let browser = server.signed_in_browser("alice").await;
    let page = browser.get("/device").await;
    let csrf = common::csrf(&page.text);

    let cases = [
        // Chromium's own form under Referrer-Policy: no-referrer.
        (Some("null"), Some("same-origin"), StatusCode::OK),
        (Some("null"), Some("cross-site"), StatusCode::FORBIDDEN),
        (Some("null"), None, StatusCode::FORBIDDEN),
        (
            Some(server.base.as_str()),
            Some("cross-site"),
            StatusCode::FORBIDDEN,
        ),
        (
            Some(server.base.as_str()),
            Some("same-site"),
            StatusCode::FORBIDDEN,
        ),
        (None, Some("same-origin"), StatusCode::OK),
        (
            Some("http://127.0.0.1:1"),
            Some("same-origin"),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (origin, fetch_site, expected) in cases {
        let mut request = browser
            .http
            .post(server.url("/device"))
            .form(&[("csrf_token", csrf.as_str()), ("user_code", user_code)]);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        if let Some(fetch_site) = fetch_site {
            request = request.header("Sec-Fetch-Site", fetch_site);
        }
        let answer = common::read(request.send().await.unwrap()).await;
        assert_eq!(
            answer.status, expected,
            "Origin {origin:?}, Sec-Fetch-Site {fetch_site:?}"
        );
    }
}

#[tokio::test]
async fn repeated_page_fields_are_rejected() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    let user_code = grant["user_code"].as_str().unwrap();
    let browser = server.signed_in_browser("alice").await;
    let confirm = browser.enter_code(user_code).await;
    let csrf = common::csrf(&confirm.text);

    let answer = browser
        .post(
            "/device/decision",
            &[
                ("csrf_token", &csrf),
                ("user_code", user_code),
                ("decision", "approve"),
                ("decision", "deny"),
                ("scope", "profile"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        server
            .poll("devauth", grant["device_code"].as_str().unwrap())
            .await
            .error(),
        "authorization_pending"
    );

    // Several ticked scopes are the one field that repeats.
    let answer = browser
        .post(
            "/device/decision",
            &[
                ("csrf_token", &csrf),
                ("user_code", user_code),
                ("decision", "approve"),
                ("scope", "profile"),
                ("scope", "offline_access"),
            ],
        )
        .await;
    assert!(answer.text.contains("Device approved"), "{}", answer.text);
}
