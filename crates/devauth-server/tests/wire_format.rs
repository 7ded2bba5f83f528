//! Forms in, JSON out: content types, repeated and empty parameters, body limits and
//! metadata.

mod common;

use common::TestServer;
use reqwest::StatusCode;

#[tokio::test]
async fn metadata_advertises_every_endpoint_from_the_issuer() {
    let server = TestServer::start_with(devauth_server::ConfigLayer {
        issuer: Some("https://auth.example.com".into()),
        ..Default::default()
    })
    .await;
    let answer = common::read(
        server
            .http
            .get(server.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let metadata = answer.json();
    assert_eq!(metadata["issuer"], "https://auth.example.com");
    assert_eq!(
        metadata["device_authorization_endpoint"],
        "https://auth.example.com/oauth/device/code"
    );
    assert_eq!(
        metadata["token_endpoint"],
        "https://auth.example.com/oauth/device/token"
    );
    assert_eq!(
        metadata["revocation_endpoint"],
        "https://auth.example.com/oauth/revoke"
    );
    assert_eq!(
        metadata["introspection_endpoint"],
        "https://auth.example.com/oauth/introspect"
    );
    assert_eq!(
        metadata["userinfo_endpoint"],
        "https://auth.example.com/oauth/userinfo"
    );
    let grants = metadata["grant_types_supported"].as_array().unwrap();
    assert!(grants.iter().any(|g| g == common::DEVICE_CODE_GRANT));
    assert!(grants.iter().any(|g| g == "refresh_token"));

    let grant = server.authorize("devauth", None).await;
    assert_eq!(grant["verification_uri"], "https://auth.example.com/device");
}

#[tokio::test]
async fn responses_are_json_whatever_accept_says() {
    let server = TestServer::start().await;
    for accept in ["text/html", "application/xml", "*/*"] {
        for (path, form) in [
            ("/oauth/device/code", vec![("client_id", "devauth")]),
            ("/oauth/device/code", vec![("client_id", "nobody")]),
            ("/oauth/device/token", vec![("grant_type", "bogus")]),
        ] {
            let answer = common::read(
                server
                    .http
                    .post(server.url(path))
                    .header("Accept", accept)
                    .form(&form)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(
                answer.header("content-type"),
                "application/json",
                "{path} with Accept {accept}"
            );
            assert_eq!(
                answer.header("cache-control"),
                "no-store",
                "{path} with Accept {accept}"
            );
            answer.json();
        }
    }
}

#[tokio::test]
async fn repeated_parameter_is_invalid_request() {
    let server = TestServer::start().await;
    let answer = server
        .post_form(
            "/oauth/device/code",
            &[
                ("client_id", "devauth"),
                ("scope", "profile"),
                ("scope", "profile"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error(), "invalid_request");
    assert!(answer.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("scope"));
}

#[tokio::test]
async fn wrong_content_type_and_bad_bodies_are_invalid_request() {
    let server = TestServer::start().await;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", br#"{"client_id":"devauth"}"#.to_vec()),
        ("text/plain", b"client_id=devauth".to_vec()),
        (
            "application/x-www-form-urlencoded",
            b"client_id=%FF%FE".to_vec(),
        ),
        ("application/x-www-form-urlencoded", vec![0xff, 0x00, 0x3d]),
    ];
    for (content_type, body) in cases {
        for path in [
            "/oauth/device/code",
            "/oauth/device/token",
            "/oauth/revoke",
            "/oauth/introspect",
        ] {
            let answer = common::read(
                server
                    .http
                    .post(server.url(path))
                    .header("Content-Type", content_type)
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(
                answer.status,
                StatusCode::BAD_REQUEST,
                "{path} {content_type}: {}",
                answer.text
            );
            assert_eq!(answer.error(), "invalid_request", "{path} {content_type}");
            assert_eq!(answer.header("content-type"), "application/json");
        }
    }
    let no_type = common::read(
        server
            .http
            .post(server.url("/oauth/device/token"))
            .body("grant_type=x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(no_type.error(), "invalid_request");
}

#[tokio::test]
async fn oversized_body_is_413_with_rfc_error() {
    let server = TestServer::start().await;
    let big = "x".repeat(devauth_server::MAX_BODY_BYTES + 1);
    let answer = server
        .post_form(
            "/oauth/device/token",
            &[("grant_type", "refresh_token"), ("refresh_token", &big)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.error(), "invalid_request");
    assert_eq!(answer.header("content-type"), "application/json");
}

#[tokio::test]
async fn healthz_answers_ok() {
    let server = TestServer::start().await;
    let answer = common::read(
        server
            .http
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (answer.status, answer.text.as_str()),
        (StatusCode::OK, "ok")
    );
}

#[tokio::test]
async fn wrong_method_on_protocol_path_is_json_405() {
    let server = TestServer::start().await;
    for (method, path) in [
        (reqwest::Method::GET, "/oauth/device/token"),
        (reqwest::Method::PUT, "/oauth/revoke"),
        (reqwest::Method::GET, "/oauth/introspect"),
        (reqwest::Method::DELETE, "/oauth/device/code"),
    ] {
        let answer = common::read(
            server
                .http
                .request(method.clone(), server.url(path))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(answer.error(), "invalid_request", "{method} {path}");
        assert_eq!(
            answer.header("cache-control"),
            "no-store",
            "{method} {path}"
        );
        assert!(
            answer.header("allow").contains("POST"),
            "{method} {path}: {:?}",
            answer.headers
        );
    }
}
