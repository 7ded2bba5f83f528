//! Refresh rotation and reuse detection, revocation, introspection and userinfo.

mod common;

use common::TestServer;
use reqwest::StatusCode;
use serde_json::Value;

fn field(tokens: &Value, name: &str) -> String {
    tokens[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {tokens}"))
        .to_owned()
}

async fn introspect(server: &TestServer, client_id: &str, secret: &str, token: &str) -> Value {
    let answer = common::read(
        server
            .http
            .post(server.url("/oauth/introspect"))
            .basic_auth(client_id, Some(secret))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json()
}

#[tokio::test]
async fn refresh_rotates_and_keeps_scope() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let tokens = server.tokens("devauth", None, "alice").await;

    let answer = server
        .refresh("devauth", &field(&tokens, "refresh_token"), None)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.header("cache-control"), "no-store");
    let rotated = answer.json();
    assert_eq!(rotated["scope"], tokens["scope"]);
    assert_ne!(rotated["refresh_token"], tokens["refresh_token"]);
    assert_ne!(rotated["access_token"], tokens["access_token"]);
    assert_eq!(
        server
            .userinfo(&field(&rotated, "access_token"))
            .await
            .status,
        StatusCode::OK
    );

    // The successor refreshes in turn.
    let again = server
        .refresh("devauth", &field(&rotated, "refresh_token"), None)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
}

#[tokio::test]
async fn reused_refresh_token_revokes_its_successor() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let tokens = server.tokens("devauth", None, "alice").await;
    let original = field(&tokens, "refresh_token");
    let rotated = server.refresh("devauth", &original, None).await.json();

    let reuse = server.refresh("devauth", &original, None).await;
    assert_eq!(reuse.status, StatusCode::BAD_REQUEST);
    assert_eq!(reuse.error(), "invalid_grant");

    let successor = server
        .refresh("devauth", &field(&rotated, "refresh_token"), None)
        .await;
    assert_eq!(
        successor.error(),
        "invalid_grant",
        "successor is revoked too"
    );
    let info = server.userinfo(&field(&rotated, "access_token")).await;
    assert_eq!(
        info.status,
        StatusCode::UNAUTHORIZED,
        "successor's access token is revoked too"
    );
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_rotate_once() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let refresh_token = field(
        &server.tokens("devauth", None, "alice").await,
        "refresh_token",
    );

    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (http, url, token) = (
            server.http.clone(),
            server.url("/oauth/device/token"),
            refresh_token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
                ("client_id", "devauth"),
            ];
            common::read(http.post(url).form(&form).send().await.unwrap()).await
        }));
    }
    let mut successes = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        if answer.status == StatusCode::OK {
            successes += 1;
        } else {
            assert_eq!(answer.error(), "invalid_grant", "{}", answer.text);
        }
    }
    assert!(
        successes <= 1,
        "at most one rotation of one token, got {successes}"
    );
}

#[tokio::test]
async fn refresh_errors_are_rfc_errors() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    server
        .add_client("other", "profile offline_access", false)
        .await;
    let tokens = server
        .tokens("devauth", Some("profile offline_access"), "alice")
        .await;
    let refresh_token = field(&tokens, "refresh_token");

    let garbage = server.refresh("devauth", "dvr_garbage", None).await;
    assert_eq!(
        (garbage.status, garbage.error().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );

    let foreign = server.refresh("other", &refresh_token, None).await;
    assert_eq!(
        (foreign.status, foreign.error().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );

    let wider = server
        .refresh(
            "devauth",
            &refresh_token,
            Some("profile offline_access admin"),
        )
        .await;
    assert_eq!(
        (wider.status, wider.error().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );

    // None of the failures above consumed the token.
    let narrower = server
        .refresh("devauth", &refresh_token, Some("profile"))
        .await;
    assert_eq!(narrower.status, StatusCode::OK, "{}", narrower.text);
    assert_eq!(narrower.json()["scope"], "profile");
}

#[tokio::test]
async fn access_token_is_not_a_refresh_token() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let tokens = server.tokens("devauth", None, "alice").await;
    let answer = server
        .refresh("devauth", &field(&tokens, "access_token"), None)
        .await;
    assert_eq!(answer.error(), "invalid_grant");
}

#[tokio::test]
async fn expired_refresh_token_is_invalid_grant() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let tokens = server.tokens("devauth", None, "alice").await;
    server.clock.advance_ms(31 * 24 * 3600 * 1000);
    let answer = server
        .refresh("devauth", &field(&tokens, "refresh_token"), None)
        .await;
    assert_eq!(answer.error(), "invalid_grant");
}

#[tokio::test]
async fn public_client_revokes_refresh_token_and_its_access_tokens() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let tokens = server.tokens("devauth", None, "alice").await;

    let answer = server
        .post_form(
            "/oauth/revoke",
            &[
                ("token", &field(&tokens, "refresh_token")),
                ("token_type_hint", "refresh_token"),
                ("client_id", "devauth"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(
        server
            .refresh("devauth", &field(&tokens, "refresh_token"), None)
            .await
            .error(),
        "invalid_grant"
    );
    assert_eq!(
        server
            .userinfo(&field(&tokens, "access_token"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn revoking_access_token_keeps_refresh_token() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let tokens = server.tokens("devauth", None, "alice").await;

    let answer = server
        .post_form(
            "/oauth/revoke",
            &[
                ("token", &field(&tokens, "access_token")),
                ("client_id", "devauth"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        server
            .userinfo(&field(&tokens, "access_token"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        server
            .refresh("devauth", &field(&tokens, "refresh_token"), None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn revoking_another_clients_token_answers_200_and_changes_nothing() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    server.add_client("other", "profile", false).await;
    let tokens = server.tokens("devauth", None, "alice").await;

    let answer = server
        .post_form(
            "/oauth/revoke",
            &[
                ("token", &field(&tokens, "access_token")),
                ("client_id", "other"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        server
            .userinfo(&field(&tokens, "access_token"))
            .await
            .status,
        StatusCode::OK
    );

    let unknown = server
        .post_form(
            "/oauth/revoke",
            &[("token", "dva_unknown"), ("client_id", "devauth")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::OK);
    let missing = server
        .post_form("/oauth/revoke", &[("client_id", "devauth")])
        .await;
    assert_eq!(
        (missing.status, missing.error().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

#[tokio::test]
async fn introspection_requires_a_confidential_client() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let tokens = server.tokens("devauth", None, "alice").await;

    let answer = server
        .post_form(
            "/oauth/introspect",
            &[
                ("token", &field(&tokens, "access_token")),
                ("client_id", "devauth"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error(), "invalid_client");
    assert!(
        answer.header("www-authenticate").starts_with("Basic"),
        "{:?}",
        answer.headers
    );
}

#[tokio::test]
async fn introspection_reports_active_and_inactive_tokens() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let secret = server.add_client("api", "introspect", true).await.unwrap();
    let tokens = server
        .tokens("devauth", Some("profile offline_access"), "alice")
        .await;

    let active = introspect(&server, "api", &secret, &field(&tokens, "access_token")).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["scope"], "offline_access profile");
    assert_eq!(active["client_id"], "devauth");
    assert_eq!(active["username"], "alice");
    assert_eq!(active["token_type"], "access_token");
    assert_eq!(active["iss"], server.base);
    assert!(active["exp"].as_i64().unwrap() > active["iat"].as_i64().unwrap());

    let garbage = introspect(&server, "api", &secret, "dva_nothing").await;
    assert_eq!(garbage, serde_json::json!({ "active": false }));

    server.clock.advance_ms(3_600_000);
    let expired = introspect(&server, "api", &secret, &field(&tokens, "access_token")).await;
    assert_eq!(expired, serde_json::json!({ "active": false }));
}

#[tokio::test]
async fn userinfo_names_the_user_and_rejects_other_tokens() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let tokens = server.tokens("devauth", None, "alice").await;

    let info = server.userinfo(&field(&tokens, "access_token")).await;
    assert_eq!(info.status, StatusCode::OK);
    let body = info.json();
    assert_eq!(body["username"], "alice");
    assert_eq!(body["client_id"], "devauth");
    assert_eq!(body["scope"], "offline_access profile");
    let user = server
        .app
        .store
        .user_by_name("alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(body["sub"], user.id);

    let refresh = server.userinfo(&field(&tokens, "refresh_token")).await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    assert!(refresh.header("www-authenticate").contains("invalid_token"));

    let missing = common::read(
        server
            .http
            .get(server.url("/oauth/userinfo"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert!(missing.header("www-authenticate").starts_with("Bearer"));

    devauth_server::admin::disable_user(server.app.store.as_ref(), "alice")
        .await
        .unwrap();
    assert_eq!(
        server
            .userinfo(&field(&tokens, "access_token"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        server
            .refresh("devauth", &field(&tokens, "refresh_token"), None)
            .await
            .error(),
        "invalid_grant"
    );
}

#[tokio::test]
async fn userinfo_requires_the_profile_scope() {
    let server = TestServer::start().await;
    server.add_user("alice").await;
    let grant = server.authorize("devauth", None).await;
    server
        .approve(
            "alice",
            grant["user_code"].as_str().unwrap(),
            Some(&["offline_access"]),
        )
        .await;
    let tokens = server
        .poll("devauth", grant["device_code"].as_str().unwrap())
        .await
        .json();
    assert_eq!(tokens["scope"], "offline_access");

    let info = server.userinfo(&field(&tokens, "access_token")).await;
    assert_eq!(info.status, StatusCode::FORBIDDEN, "{}", info.text);
    assert_eq!(info.error(), "insufficient_scope");
    assert!(info
        .header("www-authenticate")
        .contains("insufficient_scope"));
    assert!(
        !info.text.contains("alice"),
        "no username without the profile scope"
    );
}
