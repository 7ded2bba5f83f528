//! Storage behaviour that protocol tests do not reach: the sweeper, and what a database outage
//! looks like to clients.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use devauth_server::store::NewGrant;
use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

fn grant(index: usize, now: i64, lifetime_ms: i64) -> NewGrant {
    NewGrant {
        id: format!("grant-{index}"),
        device_code_hash: format!("hash-{index}"),
        user_code: format!("CODE{index:06}"),
        client_id: "devauth".into(),
        requested_scope: "profile".into(),
        request_ip: "127.0.0.1".into(),
        created_at: now,
        expires_at: now + lifetime_ms,
        interval_ms: 5000,
    }
}

#[tokio::test]
async fn sweep_deletes_expired_rows_in_batches_and_keeps_live_ones() {
    let server = TestServer::start().await;
    let store = &server.app.store;
    let now = 1_000_000;
    for index in 0..1_203 {
        store.insert_grant(&grant(index, now, 1_000)).await.unwrap();
    }
    store
        .insert_grant(&grant(9_999, now, 60_000))
        .await
        .unwrap();

    let deleted = store.sweep(now + 2_000).await.unwrap();
    assert_eq!(deleted, Some(1_203));
    assert!(store
        .grant_by_user_code("CODE000000")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .grant_by_user_code("CODE009999")
        .await
        .unwrap()
        .is_some());
    assert_eq!(store.sweep(now + 2_000).await.unwrap(), Some(0));
}

#[tokio::test]
async fn sweep_skips_while_another_replica_sweeps() {
    if !common::database::postgres_selected() {
        eprintln!("PostgreSQL only: set DEVAUTH_TEST_DATABASE=postgres");
        return;
    }
    use sqlx::Connection;
    let server = TestServer::start().await;
    let mut other = sqlx::PgConnection::connect(&server.app.config.database_url)
        .await
        .unwrap();
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(8628)")
        .fetch_one(&mut other)
        .await
        .unwrap();
    assert!(locked);

    assert_eq!(server.app.store.sweep(i64::MAX).await.unwrap(), None);
    sqlx::query("SELECT pg_advisory_unlock(8628)")
        .execute(&mut other)
        .await
        .unwrap();
    assert!(server.app.store.sweep(0).await.unwrap().is_some());
}

/// A TCP forwarder to PostgreSQL that a test can cut and restore, standing in for a database
/// server that goes away and comes back.
struct Proxy {
    port: u16,
    accept: Option<JoinHandle<()>>,
    connections: Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(std::sync::Mutex::new(Vec::new()));
        let tracked = connections.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect("127.0.0.1:5432").await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tracked.lock().unwrap().push(task);
            }
        });
        Self {
            port,
            accept: Some(accept),
            connections,
        }
    }

    /// Drops every connection and stops listening.
    async fn cut(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            let _ = accept.await;
        }
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[tokio::test]
async fn database_outage_answers_503_and_recovers() {
    if !common::database::postgres_selected() {
        eprintln!("PostgreSQL only: set DEVAUTH_TEST_DATABASE=postgres");
        return;
    }
    let mut proxy = Proxy::start(0).await;
    let port = proxy.port;
    let server = TestServer::start_via(devauth_server::ConfigLayer::default(), |url| {
        let mut url = url::Url::parse(url).unwrap();
        url.set_port(Some(port)).unwrap();
        url.to_string()
    })
    .await;
    let grant = server.authorize("devauth", None).await;
    let device_code = grant["device_code"].as_str().unwrap().to_owned();
    assert_eq!(
        server.poll("devauth", &device_code).await.error(),
        "authorization_pending"
    );

    proxy.cut().await;
    let down = server
        .post_form("/oauth/device/code", &[("client_id", "devauth")])
        .await;
    assert_eq!(
        down.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        down.text
    );
    assert_eq!(down.error(), "temporarily_unavailable");
    assert_eq!(down.header("content-type"), "application/json");
    let page = common::read(server.http.get(server.url("/device")).send().await.unwrap()).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.text.contains("Try again in a moment"), "{}", page.text);

    let _restored = Proxy::start(port).await;
    let mut recovered = None;
    for _ in 0..50 {
        let answer = server
            .post_form("/oauth/device/code", &[("client_id", "devauth")])
            .await;
        if answer.status == StatusCode::OK {
            recovered = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        recovered.is_some(),
        "the server did not recover within 10 s"
    );
    server.clock.advance_ms(5_000);
    assert_eq!(
        server.poll("devauth", &device_code).await.error(),
        "authorization_pending"
    );
}

#[tokio::test]
async fn checkpoint_empties_the_write_ahead_log() {
    let server = TestServer::start().await;
    let store = &server.app.store;
    for index in 0..200 {
        store
            .insert_grant(&grant(index, 1_000_000, 60_000))
            .await
            .unwrap();
    }
    store.checkpoint().await.unwrap();

    let Some(path) = server.app.config.database_url.strip_prefix("sqlite://") else {
        return;
    };
    let wal = std::fs::metadata(format!("{path}-wal"))
        .map(|meta| meta.len())
        .unwrap_or(0);
    assert_eq!(wal, 0, "the write-ahead log is empty after a checkpoint");
    assert!(store
        .grant_by_user_code("CODE000199")
        .await
        .unwrap()
        .is_some());
}
