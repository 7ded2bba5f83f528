//! Client authentication on every endpoint, and scope handling from request to token.

mod common;

use common::{TestServer, DEVICE_CODE_GRANT};
use reqwest::StatusCode;

#[tokio::test]
async fn confidential_client_authenticates_by_basic_or_post() {
    let server = TestServer::start().await;
    let secret = server.add_client("backend", "profile", true).await.unwrap();
    assert!(secret.starts_with("dvs_"));

    let basic = common::read(
        server
            .http
            .post(server.url("/oauth/device/code"))
            .basic_auth("backend", Some(&secret))
            .form(&[("scope", "profile")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(basic.status, StatusCode::OK, "{}", basic.text);

    let post = server
        .post_form(
            "/oauth/device/code",
            &[("client_id", "backend"), ("client_secret", &secret)],
        )
        .await;
    assert_eq!(post.status, StatusCode::OK, "{}", post.text);

    // The token endpoint applies the same rule.
    let device_code = post.json()["device_code"].as_str().unwrap().to_owned();
    let poll = server
        .post_form(
            "/oauth/device/token",
            &[
                ("grant_type", DEVICE_CODE_GRANT),
                ("device_code", &device_code),
                ("client_id", "backend"),
                ("client_secret", &secret),
            ],
        )
        .await;
    assert_eq!(poll.error(), "authorization_pending");
    let unauthenticated = server.poll("backend", &device_code).await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unauthenticated.error(), "invalid_client");
}

#[tokio::test]
async fn bad_client_credentials_get_401_with_challenge() {
    let server = TestServer::start().await;
    let secret = server.add_client("backend", "profile", true).await.unwrap();

    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "wrong secret",
            vec![
                ("client_id", "backend".into()),
                ("client_secret", "dvs_wrong".into()),
            ],
        ),
        ("missing secret", vec![("client_id", "backend".into())]),
        ("unknown client", vec![("client_id", "nobody".into())]),
        (
            "secret for public client",
            vec![
                ("client_id", "devauth".into()),
                ("client_secret", secret.clone()),
            ],
        ),
    ];
    for (case, form) in cases {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for path in ["/oauth/device/code", "/oauth/revoke"] {
            let answer = server.post_form(path, &form).await;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{case} at {path}: {}",
                answer.text
            );
            assert_eq!(answer.error(), "invalid_client", "{case} at {path}");
            assert!(
                answer.header("www-authenticate").starts_with("Basic"),
                "{case} at {path}"
            );
        }
    }

    let both = common::read(
        server
            .http
            .post(server.url("/oauth/device/code"))
            .basic_auth("backend", Some(&secret))
            .form(&[("client_secret", secret.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (both.status, both.error().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

#[tokio::test]
async fn unknown_or_disallowed_scope_is_invalid_scope() {
    let server = TestServer::start().await;
    for scope in ["profile bogus", "admin", "profile \"quoted\""] {
        let answer = server
            .post_form(
                "/oauth/device/code",
                &[("client_id", "devauth"), ("scope", scope)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{scope}");
        assert_eq!(answer.error(), "invalid_scope", "{scope}");
    }
}

#[tokio::test]
async fn absent_or_empty_scope_means_client_default() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let tokens = server.tokens("devauth", None, "alice").await;
    assert_eq!(tokens["scope"], "offline_access profile");

    let empty = server
        .post_form(
            "/oauth/device/code",
            &[("client_id", "devauth"), ("scope", "")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.text);
    let browser = server.signed_in_browser("alice").await;
    let confirm = browser
        .enter_code(empty.json()["user_code"].as_str().unwrap())
        .await;
    assert_eq!(
        common::checkbox_values(&confirm.text),
        ["offline_access", "profile"]
    );
}

#[tokio::test]
async fn partly_approved_scope_reaches_token_and_introspection() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    server
        .add_client("editor", "read write offline_access", false)
        .await;
    let secret = server.add_client("api", "introspect", true).await.unwrap();
    let grant = server.authorize("editor", Some("read write")).await;

    let page = server
        .approve(
            "alice",
            grant["user_code"].as_str().unwrap(),
            Some(&["read"]),
        )
        .await;
    assert!(page.text.contains("Device approved"), "{}", page.text);
    let tokens = server
        .poll("editor", grant["device_code"].as_str().unwrap())
        .await
        .json();
    assert_eq!(tokens["scope"], "read");
    assert!(tokens.get("refresh_token").is_none());

    let introspection = common::read(
        server
            .http
            .post(server.url("/oauth/introspect"))
            .basic_auth("api", Some(&secret))
            .form(&[("token", tokens["access_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap(),
    )
    .await
    .json();
    assert_eq!(introspection["scope"], "read");
}

#[tokio::test]
async fn ticking_a_scope_that_was_not_requested_grants_nothing_extra() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    server.add_client("editor", "read write", false).await;
    let grant = server.authorize("editor", Some("read")).await;
    server
        .approve(
            "alice",
            grant["user_code"].as_str().unwrap(),
            Some(&["read", "write"]),
        )
        .await;
    let tokens = server
        .poll("editor", grant["device_code"].as_str().unwrap())
        .await
        .json();
    assert_eq!(tokens["scope"], "read");
}

#[tokio::test]
async fn missing_client_authentication_is_invalid_client() {
    let server = TestServer::start().await;
    for path in [
        "/oauth/device/code",
        "/oauth/device/token",
        "/oauth/revoke",
        "/oauth/introspect",
    ] {
        let form = [
            ("grant_type", common::DEVICE_CODE_GRANT),
            ("device_code", "dvc_x"),
            ("token", "dva_x"),
        ];
        let answer = server.post_form(path, &form).await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{path}: {}",
            answer.text
        );
        assert_eq!(answer.error(), "invalid_client", "{path}");
        assert!(
            answer.header("www-authenticate").starts_with("Basic"),
            "{path}"
        );
    }
}
