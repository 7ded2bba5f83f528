//! Signing in on the page with a built-in account.

use std::sync::OnceLock;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use devauth_protocol::UserCode;
use tokio::sync::Semaphore;

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
    // Each argon2 check holds about 19 MiB for its duration. One check per core at a time
    // keeps memory bounded under a burst of sign-ins; the rest wait their turn.
    static CHECKS: OnceLock<Semaphore> = OnceLock::new();
    let checks = CHECKS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from))
    });
    let Ok(_permit) = checks.acquire().await else {
        return Ok(None);
    };
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || crypto::verify_password(&password, &phc))
        .await
        .unwrap_or(false);
    Ok(user.filter(|user| matches && !user.disabled))
}
