//! Three `devauthd` replicas on one PostgreSQL database: every rule holds whichever replica
//! serves a request, and a killed replica loses nothing.

mod support;

use reqwest::StatusCode;
use support::{Browser, Replica, TestDatabase, PASSWORD};

async fn replicas() -> Option<(TestDatabase, Vec<Replica>)> {
    if !support::postgres_required() {
        eprintln!("PostgreSQL only: set DEVAUTH_TEST_DATABASE=postgres (CI always runs it)");
        return None;
    }
    let database = TestDatabase::create_postgres().await;
    support::admin(&database.url, &["migrate"], "").await;
    support::admin(
        &database.url,
        &["user", "add", "alice"],
        &format!("{PASSWORD}\n"),
    )
    .await;
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(Replica::start(&database.url, support::free_port()).await);
    }
    Some((database, replicas))
}

async fn approve(base: &str, user_code: &str) {
    let browser = Browser::at(base, "127.0.0.1");
    let signed_in = browser.sign_in("alice", PASSWORD).await;
    assert!(
        signed_in.text.contains("Enter the code"),
        "{}",
        signed_in.text
    );
    let done = browser.decide(user_code, "approve", None).await;
    assert!(done.text.contains("Device approved"), "{}", done.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flow_crosses_replicas_and_redeems_once_in_a_hundred() {
    let Some((_database, replicas)) = replicas().await else {
        return;
    };
    let http = support::device_http();

    // Started on replica 1, approved through replica 2's page, polled on replica 3.
    let grant = support::authorize(&http, &replicas[0].base, "devauth")
        .await
        .unwrap();
    let device_code = grant["device_code"].as_str().unwrap().to_owned();
    let pending = support::poll(&http, &replicas[2].base, "devauth", &device_code)
        .await
        .unwrap();
    assert_eq!(pending.error(), "authorization_pending");
    approve(&replicas[1].base, grant["user_code"].as_str().unwrap()).await;

    // 100 concurrent redemptions spread over the three replicas.
    let mut tasks = Vec::new();
    for index in 0..100 {
        let (http, base, device_code) = (
            http.clone(),
            replicas[index % 3].base.clone(),
            device_code.clone(),
        );
        tasks.push(tokio::spawn(async move {
            support::poll(&http, &base, "devauth", &device_code)
                .await
                .unwrap()
        }));
    }
    let mut successes = 0;
    let mut invalid_grant = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        match answer.status {
            StatusCode::OK => successes += 1,
            _ => {
                assert_eq!(answer.error(), "invalid_grant", "{}", answer.text);
                invalid_grant += 1;
            }
        }
    }
    support::report(
        "three-replica-race",
        &format!("three-replica race: {successes} token(s) and {invalid_grant} invalid_grant from 100 concurrent redemptions"),
    );
    assert_eq!(successes, 1);
    assert_eq!(invalid_grant, 99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_down_holds_across_replicas() {
    let Some((_database, replicas)) = replicas().await else {
        return;
    };
    let http = support::device_http();
    let grant = support::authorize(&http, &replicas[0].base, "devauth")
        .await
        .unwrap();
    let device_code = grant["device_code"].as_str().unwrap();

    let first = support::poll(&http, &replicas[0].base, "devauth", device_code)
        .await
        .unwrap();
    assert_eq!(first.error(), "authorization_pending");
    let second = support::poll(&http, &replicas[1].base, "devauth", device_code)
        .await
        .unwrap();
    assert_eq!(second.error(), "slow_down");
    assert_eq!(second.json()["interval"], 10);
    let third = support::poll(&http, &replicas[2].base, "devauth", device_code)
        .await
        .unwrap();
    assert_eq!(third.error(), "slow_down");
    assert_eq!(third.json()["interval"], 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_replica_loses_nothing() {
    let Some((_database, mut replicas)) = replicas().await else {
        return;
    };
    let http = support::device_http();
    let grant = support::authorize(&http, &replicas[0].base, "devauth")
        .await
        .unwrap();
    let device_code = grant["device_code"].as_str().unwrap();
    support::poll(&http, &replicas[0].base, "devauth", device_code)
        .await
        .unwrap();
    approve(&replicas[1].base, grant["user_code"].as_str().unwrap()).await;

    replicas[0].kill().await;
    assert!(
        support::poll(&http, &replicas[0].base, "devauth", device_code)
            .await
            .is_err(),
        "replica 1 is gone"
    );
    let answer = support::poll(&http, &replicas[2].base, "devauth", device_code)
        .await
        .unwrap();
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}
