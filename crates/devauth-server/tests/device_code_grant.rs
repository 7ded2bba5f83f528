//! The token endpoint's device code grant: every state, the interval rule, expiry, single
//! redemption and client binding.

mod common;

use common::{TestServer, DEVICE_CODE_GRANT};
use devauth_server::admin::NewClient;
use devauth_server::ConfigLayer;
use reqwest::StatusCode;

fn code(grant: &serde_json::Value, field: &str) -> String {
    grant[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {grant}"))
        .to_owned()
}

#[tokio::test]
async fn device_authorization_response_has_rfc_fields() {
    let server = TestServer::start().await;
    let grant = server.authorize("devauth", None).await;

    assert!(code(&grant, "device_code").starts_with("dvc_"));
    let user_code = code(&grant, "user_code");
    assert_eq!(user_code.len(), 9, "{user_code}");
    assert_eq!(&user_code[4..5], "-");
    assert_eq!(grant["verification_uri"], format!("{}/device", server.base));
    assert_eq!(
        grant["verification_uri_complete"],
        format!("{}/device?user_code={user_code}", server.base)
    );
    assert!(
        grant["expires_in"].is_u64(),
        "expires_in is a JSON integer: {grant}"
    );
    assert_eq!(grant["expires_in"], 600);
    assert!(
        grant["interval"].is_u64(),
        "interval is a JSON integer: {grant}"
    );
    assert_eq!(grant["interval"], 5);
}

#[tokio::test]
async fn pending_poll_is_400_authorization_pending_with_no_store() {
    let server = TestServer::start().await;
    let grant = server.authorize("devauth", None).await;
    let answer = server.poll("devauth", &code(&grant, "device_code")).await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.header("content-type"), "application/json");
    assert_eq!(answer.header("cache-control"), "no-store");
    assert_eq!(answer.header("pragma"), "no-cache");
    assert_eq!(answer.text, r#"{"error":"authorization_pending"}"#);
}

#[tokio::test]
async fn immediate_second_poll_gets_slow_down_plus_five_seconds() {
    let server = TestServer::start().await;
    let grant = server.authorize("devauth", None).await;
    let device_code = code(&grant, "device_code");

    assert_eq!(
        server.poll("devauth", &device_code).await.error(),
        "authorization_pending"
    );
    let answer = server.poll("devauth", &device_code).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error(), "slow_down");
    assert_eq!(answer.json()["interval"], 10);

    // Still early against the raised interval: it rises again.
    server.clock.advance_ms(9_999);
    let answer = server.poll("devauth", &device_code).await;
    assert_eq!(answer.error(), "slow_down");
    assert_eq!(answer.json()["interval"], 15);

    // Waiting the whole new interval recovers.
    server.clock.advance_ms(15_000);
    assert_eq!(
        server.poll("devauth", &device_code).await.error(),
        "authorization_pending"
    );
    server.clock.advance_ms(15_000);
    assert_eq!(
        server.poll("devauth", &device_code).await.error(),
        "authorization_pending"
    );
}

#[tokio::test]
async fn polls_at_the_advertised_interval_never_slow_down() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    let device_code = code(&grant, "device_code");
    let interval_ms = grant["interval"].as_i64().unwrap() * 1000;

    for _ in 0..11 {
        let answer = server.poll("devauth", &device_code).await;
        assert_eq!(answer.error(), "authorization_pending", "{}", answer.text);
        server.clock.advance_ms(interval_ms + 500);
    }
    server
        .approve("alice", &code(&grant, "user_code"), None)
        .await;
    let answer = server.poll("devauth", &device_code).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

#[tokio::test]
async fn poll_one_millisecond_early_is_slow_down() {
    let server = TestServer::start().await;
    let grant = server.authorize("devauth", None).await;
    let device_code = code(&grant, "device_code");

    server.poll("devauth", &device_code).await;
    server.clock.advance_ms(4_999);
    assert_eq!(
        server.poll("devauth", &device_code).await.error(),
        "slow_down"
    );
}

#[tokio::test]
async fn expired_device_code_stays_expired() {
    let server = TestServer::start_with(ConfigLayer {
        device_code_lifetime_secs: Some(30),
        ..ConfigLayer::default()
    })
    .await;
    let grant = server.authorize("devauth", None).await;
    let device_code = code(&grant, "device_code");
    assert_eq!(grant["expires_in"], 30);

    server.clock.advance_ms(29_000);
    assert_eq!(
        server.poll("devauth", &device_code).await.error(),
        "authorization_pending"
    );
    server.clock.advance_ms(1_000);
    let answer = server.poll("devauth", &device_code).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error(), "expired_token");
    server.clock.advance_ms(60_000);
    assert_eq!(
        server.poll("devauth", &device_code).await.error(),
        "expired_token"
    );
}

#[tokio::test]
async fn approval_does_not_extend_lifetime() {
    let server = TestServer::start_with(ConfigLayer {
        device_code_lifetime_secs: Some(30),
        ..ConfigLayer::default()
    })
    .await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;

    server.clock.advance_ms(10_000);
    let page = server
        .approve("alice", &code(&grant, "user_code"), None)
        .await;
    assert!(page.text.contains("Device approved"), "{}", page.text);
    server.clock.advance_ms(20_000);
    assert_eq!(
        server
            .poll("devauth", &code(&grant, "device_code"))
            .await
            .error(),
        "expired_token"
    );
}

#[tokio::test]
async fn approved_grant_redeems_once_even_on_early_poll() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    let device_code = code(&grant, "device_code");

    server.poll("devauth", &device_code).await;
    server
        .approve("alice", &code(&grant, "user_code"), None)
        .await;
    let answer = server.poll("devauth", &device_code).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.header("cache-control"), "no-store");
    let tokens = answer.json();
    assert!(tokens["access_token"].as_str().unwrap().starts_with("dva_"));
    assert!(tokens["refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("dvr_"));
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "offline_access profile");

    let again = server.poll("devauth", &device_code).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.error(), "invalid_grant");
    server.clock.advance_ms(30_000);
    assert_eq!(
        server.poll("devauth", &device_code).await.error(),
        "invalid_grant"
    );

    // Replaying the redeemed code leaves the issued tokens alone.
    let info = server
        .userinfo(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_redemptions_yield_one_token() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    let device_code = code(&grant, "device_code");
    server
        .approve("alice", &code(&grant, "user_code"), None)
        .await;

    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (http, url, device_code) = (
            server.http.clone(),
            server.url("/oauth/device/token"),
            device_code.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let form = [
                ("grant_type", DEVICE_CODE_GRANT),
                ("device_code", device_code.as_str()),
                ("client_id", "devauth"),
            ];
            common::read(http.post(url).form(&form).send().await.expect("send")).await
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("poll task"));
    }
    let successes = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK)
        .count();
    assert_eq!(successes, 1, "exactly one redemption succeeds");
    for answer in answers.iter().filter(|a| a.status != StatusCode::OK) {
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
        assert_eq!(answer.error(), "invalid_grant", "{}", answer.text);
    }
    let stored = server
        .app
        .store
        .grant_by_user_code(&code(&grant, "user_code").replace('-', ""))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, devauth_server::store::GrantStatus::Redeemed);
}

#[tokio::test]
async fn denial_is_final() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    let user_code = code(&grant, "user_code");
    let browser = server.signed_in_browser("alice").await;

    let confirm = browser.enter_code(&user_code).await;
    let csrf = common::csrf(&confirm.text);
    let denied = browser
        .post(
            "/device/decision",
            &[
                ("csrf_token", &csrf),
                ("user_code", &user_code),
                ("decision", "deny"),
            ],
        )
        .await;
    assert!(denied.text.contains("Request denied"), "{}", denied.text);

    // The browser's Back button shows the old confirm screen; its Approve button posts again.
    let approve_after = browser
        .post(
            "/device/decision",
            &[
                ("csrf_token", &csrf),
                ("user_code", &user_code),
                ("decision", "approve"),
                ("scope", "profile"),
            ],
        )
        .await;
    assert!(
        approve_after.text.contains("denied"),
        "{}",
        approve_after.text
    );
    assert!(!approve_after.text.contains("Device approved"));

    let answer = server.poll("devauth", &code(&grant, "device_code")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error(), "access_denied");
    server.clock.advance_ms(6_000);
    assert_eq!(
        server
            .poll("devauth", &code(&grant, "device_code"))
            .await
            .error(),
        "access_denied"
    );
}

#[tokio::test]
async fn device_code_is_bound_to_its_client() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    server
        .add_client("other", "profile offline_access", false)
        .await;
    let grant = server.authorize("devauth", None).await;
    let device_code = code(&grant, "device_code");
    server
        .approve("alice", &code(&grant, "user_code"), None)
        .await;

    let stolen = server.poll("other", &device_code).await;
    assert_eq!(stolen.status, StatusCode::BAD_REQUEST);
    assert_eq!(stolen.error(), "invalid_grant");

    // The attempt does not burn the owner's grant.
    let answer = server.poll("devauth", &device_code).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

#[tokio::test]
async fn unknown_device_code_is_invalid_grant() {
    let server = TestServer::start().await;
    let answer = server.poll("devauth", "dvc_doesnotexist").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error(), "invalid_grant");
}

#[tokio::test]
async fn disabled_user_after_approval_gets_no_token() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    server
        .approve("alice", &code(&grant, "user_code"), None)
        .await;
    devauth_server::admin::disable_user(server.app.store.as_ref(), "alice")
        .await
        .unwrap();

    let answer = server.poll("devauth", &code(&grant, "device_code")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error(), "invalid_grant");
}

#[tokio::test]
async fn client_settings_override_server_defaults() {
    let server = TestServer::start().await;
    server
        .add_client_with(NewClient {
            client_id: "tv".into(),
            name: "TV app".into(),
            scope: "profile".into(),
            device_code_lifetime_secs: Some(120),
            interval_secs: Some(2),
            access_token_lifetime_secs: Some(60),
            ..NewClient::default()
        })
        .await;
    server.add_user("alice").await;
    let grant = server.authorize("tv", None).await;
    assert_eq!(grant["expires_in"], 120);
    assert_eq!(grant["interval"], 2);

    let device_code = code(&grant, "device_code");
    server.poll("tv", &device_code).await;
    server.clock.advance_ms(2_000);
    assert_eq!(
        server.poll("tv", &device_code).await.error(),
        "authorization_pending"
    );

    server
        .approve("alice", &code(&grant, "user_code"), None)
        .await;
    let tokens = server.poll("tv", &device_code).await.json();
    assert_eq!(tokens["expires_in"], 60);
    assert_eq!(tokens["scope"], "profile");
    assert!(
        tokens.get("refresh_token").is_none(),
        "no offline_access, no refresh token: {tokens}"
    );
}

#[tokio::test]
async fn grant_type_check_comes_first() {
    let server = TestServer::start().await;
    let answer = server
        .post_form(
            "/oauth/device/token",
            &[("grant_type", "password"), ("client_id", "devauth")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error(), "unsupported_grant_type");

    let answer = server
        .post_form(
            "/oauth/device/token",
            &[("client_id", "devauth"), ("device_code", "x")],
        )
        .await;
    assert_eq!(answer.error(), "invalid_request");

    let answer = server
        .post_form(
            "/oauth/device/token",
            &[("grant_type", DEVICE_CODE_GRANT), ("client_id", "devauth")],
        )
        .await;
    assert_eq!(answer.error(), "invalid_request");
    assert!(answer.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("device_code"));
}
