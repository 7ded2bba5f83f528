//! Random and hostile input to every form, query string and parameter: every answer is a 4xx,
//! or a 200 page or JSON with a message, and never a 5xx or a dropped connection.

mod common;

use common::TestServer;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use tokio::runtime::Runtime;

const PROTOCOL_ENDPOINTS: [&str; 4] = [
    "/oauth/device/code",
    "/oauth/device/token",
    "/oauth/revoke",
    "/oauth/introspect",
];
const PAGE_POSTS: [&str; 4] = [
    "/device",
    "/device/sign-in",
    "/device/decision",
    "/device/sign-out",
];

fn runner() -> TestRunner {
    TestRunner::new(ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    })
}

/// Bytes that look like forms often enough to reach the handlers' logic.
fn form_bytes() -> impl Strategy<Value = Vec<u8>> {
    let names = prop_oneof![
        Just("grant_type"),
        Just("device_code"),
        Just("client_id"),
        Just("client_secret"),
        Just("scope"),
        Just("refresh_token"),
        Just("token"),
        Just("token_type_hint"),
        Just("user_code"),
        Just("csrf_token"),
        Just("username"),
        Just("password"),
        Just("decision"),
        Just("%00"),
        Just("")
    ];
    let values = prop_oneof![
        any::<String>(),
        Just("urn:ietf:params:oauth:grant-type:device_code".to_owned()),
        Just("refresh_token".to_owned()),
        Just("devauth".to_owned()),
        "[%+=&A-Za-z0-9\u{2013} ]{0,40}",
        Just("%FF%FE%00".to_owned()),
    ];
    let pairs = proptest::collection::vec((names, values), 0..8).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()
    });
    prop_oneof![pairs, proptest::collection::vec(any::<u8>(), 0..400)]
}

fn content_type() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("application/x-www-form-urlencoded"),
        Just("application/x-www-form-urlencoded; charset=utf-8"),
        Just("application/json"),
        Just("text/plain"),
        Just("multipart/form-data; boundary=x"),
    ]
}

fn assert_handled(status: reqwest::StatusCode, context: &str) -> Result<(), TestCaseError> {
    prop_assert!(!status.is_server_error(), "{status} for {context}");
    Ok(())
}

#[test]
fn protocol_endpoints_never_answer_5xx() {
    let runtime = Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::start());
    runner()
        .run(
            &(0..PROTOCOL_ENDPOINTS.len(), content_type(), form_bytes()),
            |(endpoint, content_type, body)| {
                let path = PROTOCOL_ENDPOINTS[endpoint];
                let answer = runtime.block_on(async {
                    let response = server
                        .http
                        .post(server.url(path))
                        .header("Content-Type", content_type)
                        .body(body.clone())
                        .send()
                        .await;
                    common::try_read(response.expect("connection kept"))
                        .await
                        .expect("body read")
                });
                assert_handled(
                    answer.status,
                    &format!("{path} {content_type} {:?}", String::from_utf8_lossy(&body)),
                )?;
                prop_assert_eq!(answer.header("content-type"), "application/json");
                let json: serde_json::Value =
                    serde_json::from_str(&answer.text).expect("JSON body");
                if !answer.status.is_success() {
                    prop_assert!(json["error"].is_string(), "{}", answer.text);
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn page_forms_and_queries_never_answer_5xx() {
    let runtime = Runtime::new().unwrap();
    let server = runtime.block_on(async {
        let server = TestServer::start().await;
        server.add_user("alice").await;
        server
    });
    let browser = runtime.block_on(server.signed_in_browser("alice"));
    let csrf = runtime.block_on(async { common::csrf(&browser.get("/device").await.text) });

    runner()
        .run(
            &(0..PAGE_POSTS.len(), form_bytes(), any::<bool>()),
            |(endpoint, body, with_csrf)| {
                let path = PAGE_POSTS[endpoint];
                let mut body = body;
                if with_csrf {
                    body.extend_from_slice(format!("&csrf_token={csrf}").as_bytes());
                }
                let answer = runtime.block_on(async {
                    let response = browser
                        .http
                        .post(server.url(path))
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .header("Origin", &server.base)
                        .body(body.clone())
                        .send()
                        .await;
                    common::try_read(response.expect("connection kept"))
                        .await
                        .expect("body read")
                });
                assert_handled(
                    answer.status,
                    &format!("{path} {:?}", String::from_utf8_lossy(&body)),
                )
            },
        )
        .unwrap();

    runner()
        .run(&any::<String>(), |code| {
            let query: String = url::form_urlencoded::byte_serialize(code.as_bytes()).collect();
            let answer = runtime.block_on(browser.get(&format!("/device?user_code={query}")));
            assert_handled(answer.status, &format!("user_code {code:?}"))?;
            prop_assert!(!answer.text.contains("<script"), "{}", answer.text);
            Ok(())
        })
        .unwrap();
}

#[test]
fn oversized_page_body_is_413() {
    let runtime = Runtime::new().unwrap();
    runtime.block_on(async {
        let server = TestServer::start().await;
        let body = "user_code=".to_owned() + &"B".repeat(devauth_server::MAX_BODY_BYTES);
        for path in PAGE_POSTS {
            let response = server
                .http
                .post(server.url(path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                reqwest::StatusCode::PAYLOAD_TOO_LARGE,
                "{path}"
            );
        }
    });
}
