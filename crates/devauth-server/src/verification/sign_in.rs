//! Signing in on the page with a built-in account.

use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use devauth_protocol::UserCode;
use tokio::sync::{mpsc, oneshot};

use super::form::accept_post;
use super::pages::{self, Notice};
use super::session::Session;
use super::{html, respond, with_cookie};
use crate::attempt_limit::{self, SIGN_IN};
use crate::audit::{self, AuditContext, AuditEvent};
use crate::crypto;
use crate::metrics;
use crate::request::ClientAddr;
use crate::store::{StoreError, UserRecord};
use crate::App;

/// `POST /device/sign-in`.
pub async fn sign_in(
    State(app): State<App>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(async {
        let (session, form) = match accept_post(&app, &headers, &body, &address).await? {
            Ok(accepted) => accepted,
            Err(page) => return Ok(page),
        };
        let user_code = form
            .get("user_code")
            .and_then(|input| UserCode::parse(input).ok());
        let username = form.get("username").unwrap_or_default();
        let password = form.get("password").unwrap_or_default();
        let code_text = user_code.as_ref().map(ToString::to_string);

        // Checked before the password, so a right password sent while locked out is refused.
        let keys = attempt_limit::sign_in_keys(username, &address);
        if attempt_limit::is_limited(&app, SIGN_IN, &keys).await? {
            metrics::RATE_LIMITED.increment();
            let context = AuditContext {
                address: Some(&address),
                detail: Some("sign-in refused: too many failed sign-ins".into()),
                ..AuditContext::default()
            };
            audit::record(&app, AuditEvent::RateLimited, context).await;
            let message = Notice {
                text: "Too many failed sign-ins. Wait 15 minutes, then try again.",
                is_error: true,
            };
            let page = pages::sign_in(&session.csrf_token(), code_text.as_deref(), Some(&message));
            return Ok(html(StatusCode::TOO_MANY_REQUESTS, page, &session));
        }

        let Some(user) = verify_credentials(&app, username, password).await? else {
            attempt_limit::record_failure(&app, &keys).await?;
            let context = AuditContext {
                address: Some(&address),
                detail: Some(format!(
                    "username of {} characters",
                    username.chars().count()
                )),
                ..AuditContext::default()
            };
            audit::record(&app, AuditEvent::SignInFailed, context).await;
            let message = Notice {
                text: "Invalid username or password.",
                is_error: true,
            };
            let page = pages::sign_in(&session.csrf_token(), code_text.as_deref(), Some(&message));
            return Ok(html(StatusCode::UNAUTHORIZED, page, &session));
        };

        // A new session id at sign-in, so a cookie planted before it is worth nothing after.
        session.end(&app).await?;
        let signed_in = Session::start(&app, Some(user.id.clone())).await?;
        let context = AuditContext {
            user_id: Some(&user.id),
            address: Some(&address),
            ..AuditContext::default()
        };
        audit::record(&app, AuditEvent::SignInSucceeded, context).await;
        let target = match user_code {
            Some(code) => format!("/device?user_code={code}"),
            None => "/device".to_owned(),
        };
        Ok(with_cookie(
            Redirect::to(&target).into_response(),
            &signed_in,
        ))
    })
    .await
}

/// Checks a user's password off the async workers. Unknown users cost the same time as known
/// ones, so response times do not reveal which usernames exist.
async fn verify_credentials(
    app: &App,
    username: &str,
    password: &str,
) -> Result<Option<UserRecord>, StoreError> {
    static DUMMY_HASH: OnceLock<String> = OnceLock::new();
    let user = app.store.user_by_name(username).await?;
    let phc = match &user {
        Some(user) => user.password_hash.clone(),
        None => DUMMY_HASH
            .get_or_init(|| crypto::hash_password("devauth timing equalizer").unwrap_or_default())
            .clone(),
    };
    let matches = check_password(password, &phc).await;
    Ok(user.filter(|user| matches && !user.disabled))
}

/// A password check waiting for a worker thread.
struct PasswordCheck {
    password: String,
    phc: String,
    reply: oneshot::Sender<bool>,
}

/// Checks a password on one of a few dedicated threads, one per core. Each argon2id check
/// allocates about 19 MiB; on tokio's blocking pool a burst of sign-ins would spread those over
/// dozens of threads whose allocator arenas keep the memory afterwards (measured: 64 sign-ins at
/// once took the server from 39 MiB to 495 MiB). A fixed set of threads bounds both.
async fn check_password(password: &str, phc: &str) -> bool {
    static QUEUE: OnceLock<mpsc::Sender<PasswordCheck>> = OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<PasswordCheck>(256);
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = std::thread::available_parallelism().map_or(2, usize::from);
        for index in 0..workers {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("devauth-password-{index}"))
                .spawn(move || loop {
                    let next = receiver
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .blocking_recv();
                    let Some(check) = next else { return };
                    let matches = crypto::verify_password(&check.password, &check.phc);
                    let _ = check.reply.send(matches);
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a password check thread");
            }
        }
        sender
    });

    let (reply, answer) = oneshot::channel();
    let check = PasswordCheck {
        password: password.to_owned(),
        phc: phc.to_owned(),
        reply,
    };
    if queue.send(check).await.is_err() {
        return false;
    }
    answer.await.unwrap_or(false)
}
