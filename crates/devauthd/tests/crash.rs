//! A bounded crash loop: `devauthd` is killed with SIGKILL at random moments while devices
//! start flows, people approve, devices redeem and refresh, and is restarted each time. The
//! invariants are checked from the clients' answers and, at the end, from the database:
//!
//! - no approved grant is lost: every grant whose approval page said "approved" is either
//!   redeemed with tokens stored, or still redeemable;
//! - no device code is redeemed twice;
//! - no refresh token is accepted after its successor was issued;
//! - the database opens cleanly after the last kill.

mod support;

use std::time::Duration;

use rand::Rng;
use reqwest::StatusCode;
use sqlx::Connection;
use support::{Browser, Replica, TestDatabase, PASSWORD};
use tokio::sync::watch;

/// How many times the server is killed.
const KILLS: usize = 12;
/// Concurrent device-and-person pairs.
const WORKERS: usize = 4;

#[derive(Debug, Default)]
struct Outcome {
    flows: usize,
    approvals: usize,
    redemptions: usize,
    refreshes: usize,
    reuse_rejected: usize,
    /// Device codes of grants the page confirmed as approved but whose redemption answer was
    /// lost to a kill, to check against the database.
    unconfirmed_redemptions: Vec<(String, String)>,
    /// Grants confirmed approved and never redeemed by this worker: (user code, device code).
    approved_unredeemed: Vec<(String, String)>,
    violations: Vec<String>,
}

/// Retries `step` until it gets an answer from a live server, for at most 30 s. A kill shows
/// up as a transport error; the server comes back after a restart.
async fn retry<T, F, Fut>(mut step: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, reqwest::Error>>,
{
    for _ in 0..300 {
        match step().await {
            Ok(value) => return Some(value),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    None
}

/// One device with one person, running flows until `stop` turns true.
async fn worker(base: String, stop: watch::Receiver<bool>) -> Outcome {
    let http = support::device_http();
    let mut outcome = Outcome::default();
    while !*stop.borrow() && outcome.flows < 200 {
        outcome.flows += 1;
        let Some(grant) = retry(|| support::authorize(&http, &base, "crash")).await else {
            break;
        };
        let user_code = grant["user_code"].as_str().unwrap_or_default().to_owned();
        let device_code = grant["device_code"].as_str().unwrap_or_default().to_owned();

        // Approve. A lost answer is retried: the page then says the code is already approved.
        let approved = retry(|| async {
            let browser = Browser::at(&base, "127.0.0.1");
            let signed_in = browser.http.get(format!("{base}/device")).send().await?;
            let page = support::common::try_read(signed_in).await?;
            let csrf = support::common::csrf(&page.text);
            let response = browser
                .http
                .post(format!("{base}/device/sign-in"))
                .header("Origin", &base)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("username", "alice"),
                    ("password", PASSWORD),
                ])
                .send()
                .await?;
            let page = support::common::try_read(response).await?;
            let csrf = support::common::csrf(&page.text);
            let response = browser
                .http
                .post(format!("{base}/device/decision"))
                .header("Origin", &base)
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("user_code", user_code.as_str()),
                    ("decision", "approve"),
                    ("scope", "profile"),
                    ("scope", "offline_access"),
                ])
                .send()
                .await?;
            let page = support::common::try_read(response).await?;
            Ok(page.text.contains("Device approved") || page.text.contains("Already approved"))
        })
        .await;
        if approved != Some(true) {
            continue;
        }
        outcome.approvals += 1;

        // Redeem. A lost 200 leaves the grant redeemed with its tokens stored, and the retry
        // gets invalid_grant: checked against the database at the end.
        let transport_failed = std::sync::atomic::AtomicBool::new(false);
        let answer = retry(|| {
            let attempt = support::poll(&http, &base, "crash", &device_code);
            let failed = &transport_failed;
            async move {
                let result = attempt.await;
                if result.is_err() {
                    failed.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                result
            }
        })
        .await;
        let Some(answer) = answer else {
            outcome.approved_unredeemed.push((user_code, device_code));
            continue;
        };
        if answer.status != StatusCode::OK {
            if transport_failed.load(std::sync::atomic::Ordering::Relaxed)
                && answer.error() == "invalid_grant"
            {
                outcome
                    .unconfirmed_redemptions
                    .push((user_code, device_code));
            } else {
                outcome.violations.push(format!(
                    "approved grant answered {}: {}",
                    answer.status, answer.text
                ));
            }
            continue;
        }
        outcome.redemptions += 1;
        if let Some(again) = retry(|| support::poll(&http, &base, "crash", &device_code)).await {
            if again.status == StatusCode::OK {
                outcome.violations.push("device code redeemed twice".into());
            }
        }

        // Refresh twice, then present the first refresh token again.
        let tokens = answer.json();
        let first = tokens["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut current = first.clone();
        let mut rotated_once = false;
        for _ in 0..2 {
            let Some(answer) = retry(|| support::refresh(&http, &base, "crash", &current)).await
            else {
                break;
            };
            if answer.status != StatusCode::OK {
                // A rotation whose answer was lost makes the retry a reuse: the family is
                // revoked, which is the rule working, not a violation.
                break;
            }
            outcome.refreshes += 1;
            rotated_once = true;
            current = answer.json()["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
        }
        if rotated_once {
            match retry(|| support::refresh(&http, &base, "crash", &first)).await {
                Some(answer) if answer.status == StatusCode::OK => {
                    outcome
                        .violations
                        .push("refresh token accepted after its successor was issued".into());
                }
                Some(_) => outcome.reuse_rejected += 1,
                None => {}
            }
        }
    }
    outcome
}

async fn crash_loop(backend: &str, database: TestDatabase) {
    let url = database.url.clone();
    support::admin(&url, &["migrate"], "").await;
    support::admin(&url, &["user", "add", "alice"], &format!("{PASSWORD}\n")).await;
    support::admin(
        &url,
        &[
            "client",
            "add",
            "crash",
            "--name",
            "Crash test",
            "--scope",
            "profile offline_access",
            "--interval",
            "1",
        ],
        "",
    )
    .await;

    let port = support::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Replica::start(&url, port).await;
    let (stop, stopped) = watch::channel(false);
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| tokio::spawn(worker(base.clone(), stopped.clone())))
        .collect();

    for _ in 0..KILLS {
        let pause = rand::thread_rng().gen_range(100..600);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        server.kill().await;
        server = Replica::start(&url, port).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.send(true).unwrap();
    let mut total = Outcome::default();
    for worker in workers {
        let outcome = worker.await.unwrap();
        total.flows += outcome.flows;
        total.approvals += outcome.approvals;
        total.redemptions += outcome.redemptions;
        total.refreshes += outcome.refreshes;
        total.reuse_rejected += outcome.reuse_rejected;
        total
            .unconfirmed_redemptions
            .extend(outcome.unconfirmed_redemptions);
        total
            .approved_unredeemed
            .extend(outcome.approved_unredeemed);
        total.violations.extend(outcome.violations);
    }

    // Grants whose redemption answer was lost: redeemed in the database, with tokens stored.
    let http = support::device_http();
    for (user_code, _) in &total.unconfirmed_redemptions {
        let normalized = user_code.replace('-', "");
        let tokens = stored_tokens_for(&url, &normalized).await;
        if tokens == 0 {
            total.violations.push(format!(
                "grant {user_code} answered invalid_grant but holds no tokens"
            ));
        }
    }
    // Grants approved but never polled successfully must still redeem.
    for (user_code, device_code) in &total.approved_unredeemed {
        let answer = support::poll(&http, &base, "crash", device_code)
            .await
            .unwrap();
        if answer.status != StatusCode::OK
            && stored_tokens_for(&url, &user_code.replace('-', "")).await == 0
        {
            total.violations.push(format!(
                "approved grant {user_code} was lost: {}",
                answer.text
            ));
        }
    }
    server.kill().await;

    // The database opens cleanly after the last kill.
    let reopened = Replica::start(&url, port).await;
    drop(reopened);
    if backend == "sqlite" {
        let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        if check != "ok" {
            total.violations.push(format!("integrity_check: {check}"));
        }
    }

    support::report(
        &format!("crash-loop-{backend}"),
        &format!(
            "crash loop ({backend}): {KILLS} SIGKILLs, {} flows, {} approvals, {} redemptions \
             (lost to a kill and checked in the database: {}), {} refreshes, {} reuses \
             rejected, {} violations{}",
            total.flows,
            total.approvals,
            total.redemptions,
            total.unconfirmed_redemptions.len(),
            total.refreshes,
            total.reuse_rejected,
            total.violations.len(),
            if total.violations.is_empty() {
                String::new()
            } else {
                format!(": {:?}", total.violations)
            },
        ),
    );
    assert!(total.violations.is_empty(), "{:?}", total.violations);
    assert!(total.redemptions > 0, "the loop redeemed nothing");
    assert!(total.refreshes > 0, "the loop refreshed nothing");
}

/// Counts the tokens stored for the grant with this normalized user code.
async fn stored_tokens_for(database_url: &str, user_code: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM tokens t JOIN device_grants g ON t.family_id = g.id WHERE g.user_code = $1";
    if database_url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(database_url).await.unwrap();
        sqlx::query_scalar(sql)
            .bind(user_code)
            .fetch_one(&mut connection)
            .await
            .unwrap()
    } else {
        let mut connection = sqlx::PgConnection::connect(database_url).await.unwrap();
        sqlx::query_scalar(sql)
            .bind(user_code)
            .fetch_one(&mut connection)
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_loop_on_sqlite_keeps_invariants() {
    let folder = tempfile::tempdir().unwrap();
    let database = TestDatabase::at_sqlite(folder.path().join("devauth.db"));
    crash_loop("sqlite", database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_loop_on_postgres_keeps_invariants() {
    if !support::postgres_required() {
        eprintln!("PostgreSQL only: set DEVAUTH_TEST_DATABASE=postgres (CI always runs it)");
        return;
    }
    crash_loop("postgres", TestDatabase::create_postgres().await).await;
}
