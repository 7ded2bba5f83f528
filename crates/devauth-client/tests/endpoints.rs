//! Discovery, refresh, revocation, userinfo and the blocking wrapper against the scripted fake
//! server.

mod support;

use devauth_client::{
    default_transport, BlockingDeviceClient, DeviceClient, Endpoints, Error, ErrorCode, Secret,
    TokenTypeHint,
};
use serde_json::json;
use support::{FakeServer, Reply};

async fn discovered_client(server: &FakeServer) -> DeviceClient {
    DeviceClient::discover(&server.base_url, "devauth")
        .await
        .unwrap()
}

#[tokio::test]
async fn discovery_reads_rfc8414_metadata() {
    let server = FakeServer::start().await;

    let client = discovered_client(&server).await;

    let endpoints = client.endpoints();
    assert_eq!(endpoints.issuer.as_deref(), Some(server.base_url.as_str()));
    assert_eq!(
        endpoints.device_authorization_endpoint.as_str(),
        server.url("/oauth/device/code")
    );
    assert_eq!(
        endpoints.token_endpoint.as_str(),
        server.url("/oauth/device/token")
    );
    assert_eq!(
        endpoints.revocation_endpoint.as_ref().unwrap().as_str(),
        server.url("/oauth/revoke")
    );
    assert_eq!(
        server.requests("/.well-known/openid-configuration").len(),
        0
    );
}

#[tokio::test]
async fn discovery_falls_back_to_openid_configuration() {
    let server = FakeServer::start().await;
    server.set_metadata_path("/.well-known/openid-configuration");

    let client = discovered_client(&server).await;

    assert_eq!(
        client.endpoints().token_endpoint.as_str(),
        server.url("/oauth/device/token")
    );
    assert_eq!(
        server
            .requests("/.well-known/oauth-authorization-server")
            .len(),
        1
    );
}

#[tokio::test]
async fn discovery_without_metadata_names_last_location() {
    let server = FakeServer::start().await;
    server.set_metadata_path("/nowhere");

    let error = DeviceClient::discover(&server.base_url, "devauth")
        .await
        .unwrap_err();

    match error {
        Error::Discovery { reason, .. } => {
            assert!(reason.contains("openid-configuration"), "reason {reason}");
            assert!(reason.contains("404"), "reason {reason}");
        }
        other => panic!("expected a discovery error, got {other:?}"),
    }
}

#[tokio::test]
async fn discovery_of_closed_port_is_transport_error() {
    // Bind and drop a listener to find a port that refuses connections.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);

    let error = DeviceClient::discover(&format!("http://{address}"), "devauth")
        .await
        .unwrap_err();

    assert!(matches!(error, Error::Transport { .. }), "got {error:?}");
}

#[tokio::test]
async fn device_authorization_error_is_typed() {
    let server = FakeServer::start().await;
    server.set_device_reply(Reply::json(
        400,
        json!({"error": "invalid_scope", "error_description": "bogus\u{1b}[2J is unknown"}),
    ));
    let client = discovered_client(&server).await;

    let error = client.start("bogus").await.unwrap_err();

    match error {
        Error::Rejected {
            code, description, ..
        } => {
            assert_eq!(code, ErrorCode::InvalidScope);
            assert_eq!(description.as_deref(), Some("bogus[2J is unknown"));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let request = &server.requests("/oauth/device/code")[0];
    assert_eq!(request.param("scope"), Some("bogus"));
    assert_eq!(request.param("client_id"), Some("devauth"));
}

#[tokio::test]
async fn refresh_keeps_old_refresh_token_when_none_returned() {
    let server = FakeServer::start().await;
    server.push_token_replies([Reply::json(
        200,
        json!({"access_token": "dva_new", "token_type": "Bearer", "expires_in": "60"}),
    )]);
    let client = discovered_client(&server).await;

    let tokens = client
        .refresh(&Secret::new("dvr_old"), Some("profile"))
        .await
        .unwrap();

    assert_eq!(tokens.access_token.expose(), "dva_new");
    assert_eq!(tokens.refresh_token.unwrap().expose(), "dvr_old");
    assert_eq!(tokens.expires_in, Some(60));
    let request = &server.token_requests()[0];
    assert_eq!(request.param("grant_type"), Some("refresh_token"));
    assert_eq!(request.param("refresh_token"), Some("dvr_old"));
    assert_eq!(request.param("scope"), Some("profile"));
}

#[tokio::test]
async fn refresh_returns_rotated_refresh_token() {
    let server = FakeServer::start().await;
    server.push_token_replies([Reply::tokens("dva_new", Some("dvr_new"))]);
    let client = discovered_client(&server).await;

    let tokens = client.refresh(&Secret::new("dvr_old"), None).await.unwrap();

    assert_eq!(tokens.refresh_token.unwrap().expose(), "dvr_new");
    assert_eq!(server.token_requests()[0].param("scope"), None);
}

#[tokio::test]
async fn refresh_invalid_grant_is_typed() {
    let server = FakeServer::start().await;
    server.push_token_replies([Reply::error("invalid_grant")]);
    let client = discovered_client(&server).await;

    let error = client
        .refresh(&Secret::new("dvr_old"), None)
        .await
        .unwrap_err();

    assert!(error.is_invalid_grant(), "got {error:?}");
    assert!(!error.to_string().contains("dvr_old"));
}

#[tokio::test]
async fn refresh_on_503_is_unavailable() {
    let server = FakeServer::start().await;
    server.push_token_replies([Reply::raw(503, Some("text/html"), "<html>down</html>")]);
    let client = discovered_client(&server).await;

    let error = client
        .refresh(&Secret::new("dvr_old"), None)
        .await
        .unwrap_err();

    assert!(
        matches!(error, Error::Unavailable { status: 503, .. }),
        "got {error:?}"
    );
}

#[tokio::test]
async fn revoke_sends_token_and_hint() {
    let server = FakeServer::start().await;
    let client = discovered_client(&server).await;

    client
        .revoke(&Secret::new("dvr_gone"), TokenTypeHint::RefreshToken)
        .await
        .unwrap();

    let request = &server.requests("/oauth/revoke")[0];
    assert_eq!(request.param("token"), Some("dvr_gone"));
    assert_eq!(request.param("token_type_hint"), Some("refresh_token"));
    assert_eq!(request.param("client_id"), Some("devauth"));
}

#[tokio::test]
async fn revoke_without_endpoint_is_missing_endpoint() {
    let client = DeviceClient::builder(Endpoints::github(), "client")
        .build()
        .unwrap();

    let error = client
        .revoke(&Secret::new("t"), TokenTypeHint::AccessToken)
        .await
        .unwrap_err();

    assert!(matches!(error, Error::MissingEndpoint(_)), "got {error:?}");
}

#[tokio::test]
async fn userinfo_sends_bearer_token() {
    let server = FakeServer::start().await;
    let client = discovered_client(&server).await;

    let info = client.userinfo(&Secret::new("dva_a")).await.unwrap();

    assert_eq!(info.username.as_deref(), Some("alice"));
    assert_eq!(info.sub.as_deref(), Some("u-1"));
    assert_eq!(info.scope.as_deref(), Some("profile offline_access"));
    let request = &server.requests("/oauth/userinfo")[0];
    assert_eq!(request.authorization.as_deref(), Some("Bearer dva_a"));
}

#[tokio::test]
async fn userinfo_401_is_invalid_token() {
    let server = FakeServer::start().await;
    server.set_userinfo_reply(Reply::json(401, json!({"error": "invalid_token"})));
    let client = discovered_client(&server).await;

    let error = client.userinfo(&Secret::new("dva_a")).await.unwrap_err();

    assert!(matches!(error, Error::InvalidToken { .. }), "got {error:?}");
}

#[test]
fn blocking_client_logs_in_without_runtime() {
    // The fake server runs on its own runtime thread; the blocking client must not.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(FakeServer::start());
    server.push_token_replies([Reply::tokens("dva_blocking", None)]);

    let client = BlockingDeviceClient::discover(&server.base_url, "devauth").unwrap();
    let pending = client.start("profile").unwrap();
    let tokens = client.wait(&pending).unwrap();

    assert_eq!(tokens.access_token.expose(), "dva_blocking");
    assert_eq!(server.token_requests().len(), 1);
}

#[tokio::test]
async fn debug_output_hides_secrets() {
    let server = FakeServer::start().await;
    let client = DeviceClient::builder(
        Endpoints::discover(default_transport().unwrap().as_ref(), &server.base_url)
            .await
            .unwrap(),
        "devauth",
    )
    .client_secret(Secret::new("client_secret_value"))
    .transport(default_transport().unwrap())
    .build()
    .unwrap();
    let pending = client.start("").await.unwrap();

    let text = format!("{client:?} {pending:?}");

    assert!(!text.contains("client_secret_value"), "debug: {text}");
    assert!(!text.contains(support::DEVICE_CODE), "debug: {text}");
    let request = &server.requests("/oauth/device/code")[0];
    assert_eq!(request.param("client_secret"), Some("client_secret_value"));
}
