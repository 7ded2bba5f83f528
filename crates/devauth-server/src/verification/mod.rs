//! The verification page (RFC 8628 section 3.3): the person signs in, enters or confirms the
//! user code, sees who asks for what, and approves or denies. GET never changes a grant;
//! every POST carries the session's CSRF token and is checked against the issuer's origin.

mod pages;
mod session;

use std::sync::OnceLock;

use axum::body::Bytes;
use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use devauth_protocol::{Scope, UserCode};
use maud::Markup;
use time::OffsetDateTime;

use crate::crypto;
use crate::store::{Decision, GrantRecord, GrantStatus, StoreError, UserRecord};
use crate::App;
use pages::{ConfirmView, Notice};
use session::Session;

/// The headers every page carries: no framing, no inline script, no referrer, no caching.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /device/style.css`.
pub async fn stylesheet() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        )],
        include_str!("style.css"),
    )
        .into_response()
}

/// `GET /device[?user_code=…]`: the sign-in form, the code entry form, or the confirm screen
/// for a prefilled code. Never approves anything.
pub async fn show(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let prefilled = if app.config.verification_uri_complete {
        query_param(query.as_deref(), "user_code")
    } else {
        None
    };
    respond(async {
        let session = Session::load_or_start(&app, &headers).await?;
        let Some(user) = session.user(&app).await? else {
            let page = pages::sign_in(&session.csrf_token(), prefilled.as_deref(), None);
            return Ok(html(StatusCode::OK, page, &session));
        };
        match prefilled {
            Some(input) => Ok(show_code(&app, &session, &user, &input).await?),
            None => Ok(html(
                StatusCode::OK,
                pages::enter_code(&session.csrf_token(), &user.username, None, None),
                &session,
            )),
        }
    })
    .await
}

/// `POST /device/sign-in`.
pub async fn sign_in(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    respond(async {
        let Some(session) = Session::load(&app, &headers).await? else {
            return Ok(session_expired());
        };
        let form = match checked_form(&app, &headers, &session, &body) {
            Ok(form) => form,
            Err(reason) => return Ok(forbidden(&session, reason)),
        };
        let user_code = form
            .get("user_code")
            .and_then(|input| UserCode::parse(input).ok());
        let username = form.get("username").unwrap_or_default();
        let password = form.get("password").unwrap_or_default();

        let Some(user) = verify_credentials(&app, username, password).await? else {
            tracing::warn!(username_len = username.len(), "sign-in failed");
            let message = Notice {
                text: "Invalid username or password.",
                is_error: true,
            };
            let code_text = user_code.as_ref().map(ToString::to_string);
            let page = pages::sign_in(&session.csrf_token(), code_text.as_deref(), Some(&message));
            return Ok(html(StatusCode::UNAUTHORIZED, page, &session));
        };

        // A new session id at sign-in, so a cookie planted before it is worth nothing after.
        session.end(&app).await?;
        let signed_in = Session::start(&app, Some(user.id.clone())).await?;
        tracing::info!(user_id = %user.id, "signed in");
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

/// `POST /device/sign-out`.
pub async fn sign_out(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    respond(async {
        let Some(session) = Session::load(&app, &headers).await? else {
            return Ok(Redirect::to("/device").into_response());
        };
        if let Err(reason) = checked_form(&app, &headers, &session, &body) {
            return Ok(forbidden(&session, reason));
        }
        session.end(&app).await?;
        Ok(Redirect::to("/device").into_response())
    })
    .await
}

/// `POST /device`: a typed code, answered with the confirm screen or a message.
pub async fn enter_code(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    respond(async {
        let Some(session) = Session::load(&app, &headers).await? else {
            return Ok(session_expired());
        };
        let form = match checked_form(&app, &headers, &session, &body) {
            Ok(form) => form,
            Err(reason) => return Ok(forbidden(&session, reason)),
        };
        let Some(user) = session.user(&app).await? else {
            return Ok(html(
                StatusCode::OK,
                pages::sign_in(&session.csrf_token(), None, None),
                &session,
            ));
        };
        let input = form.get("user_code").unwrap_or_default();
        show_code(&app, &session, &user, input).await
    })
    .await
}

/// `POST /device/decision`: approve (with the ticked scopes) or deny.
pub async fn decide(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    respond(async {
        let Some(session) = Session::load(&app, &headers).await? else {
            return Ok(session_expired());
        };
        let form = match checked_form(&app, &headers, &session, &body) {
            Ok(form) => form,
            Err(reason) => return Ok(forbidden(&session, reason)),
        };
        let Some(user) = session.user(&app).await? else {
            return Ok(html(StatusCode::OK, pages::sign_in(&session.csrf_token(), None, None), &session));
        };
        let csrf_token = session.csrf_token();
        let grant = match find_pending(&app, form.get("user_code").unwrap_or_default()).await? {
            Ok(grant) => grant,
            Err(problem) => return Ok(problem.page(&session, &user)),
        };

        let decision = match form.get("decision") {
            Some("approve") => {
                // The person may untick scopes; anything not requested is ignored.
                let requested = Scope::parse(&grant.requested_scope).unwrap_or_default();
                let ticked: Scope = form.all("scope").map(str::to_owned).collect();
                let granted = ticked.intersection(&requested);
                if granted.is_empty() && !requested.is_empty() {
                    let message = Notice { text: "Tick at least one permission, or deny the request.", is_error: true };
                    return confirm_page(&app, &session, &user, &grant, Some(&message)).await;
                }
                Decision::Approve { grant_id: grant.id.clone(), user_id: user.id.clone(), granted_scope: granted.to_string() }
            }
            Some("deny") => Decision::Deny { grant_id: grant.id.clone(), user_id: user.id.clone() },
            _ => {
                let message = Notice { text: "Choose Approve or Deny.", is_error: true };
                return confirm_page(&app, &session, &user, &grant, Some(&message)).await;
            }
        };

        // The conditional update makes the first decision final: a second one (Back, then the
        // other button) finds the grant no longer pending and changes nothing.
        if !app.store.decide_grant(&decision, app.clock.now_ms()).await? {
            let current = app.store.grant_by_user_code(&grant.user_code).await?;
            let problem = current.map_or(CodeProblem::NotFound, |grant| CodeProblem::of(&app, &grant));
            return Ok(problem.page(&session, &user));
        }
        let (title, text) = match &decision {
            Decision::Approve { granted_scope, .. } => {
                tracing::info!(grant_id = %grant.id, user_id = %user.id, client_id = %grant.client_id, scope = %granted_scope, "device approved");
                ("Device approved", "You can return to your device; it will finish signing in on its own.")
            }
            Decision::Deny { .. } => {
                tracing::info!(grant_id = %grant.id, user_id = %user.id, client_id = %grant.client_id, "device denied");
                ("Request denied", "The device will not be signed in.")
            }
        };
        let message = Notice { text, is_error: false };
        Ok(html(StatusCode::OK, pages::outcome(title, Some(&user.username), &csrf_token, &message, false), &session))
    })
    .await
}

/// Shows the confirm screen for typed or prefilled input, or says what is wrong with it.
async fn show_code(
    app: &App,
    session: &Session,
    user: &UserRecord,
    input: &str,
) -> Result<Response, StoreError> {
    match find_pending(app, input).await? {
        Ok(grant) => confirm_page(app, session, user, &grant, None).await,
        Err(CodeProblem::Malformed) => {
            let message = Notice {
                text: "That is not a valid code. A code has 8 letters, like WDJB-MJHT.",
                is_error: true,
            };
            let page = pages::enter_code(
                &session.csrf_token(),
                &user.username,
                Some(input),
                Some(&message),
            );
            Ok(html(StatusCode::BAD_REQUEST, page, session))
        }
        Err(CodeProblem::NotFound) => {
            let message = Notice {
                text: "Code not found. Check the code shown on your device and try again.",
                is_error: true,
            };
            let page = pages::enter_code(
                &session.csrf_token(),
                &user.username,
                Some(input),
                Some(&message),
            );
            Ok(html(StatusCode::NOT_FOUND, page, session))
        }
        Err(problem) => Ok(problem.page(session, user)),
    }
}

async fn confirm_page(
    app: &App,
    session: &Session,
    user: &UserRecord,
    grant: &GrantRecord,
    message: Option<&Notice<'_>>,
) -> Result<Response, StoreError> {
    let client = app.store.client(&grant.client_id).await?;
    let client_name = client
        .as_ref()
        .map_or("Unknown application", |client| client.name.as_str());
    let user_code = UserCode::parse(&grant.user_code)
        .map(|code| code.to_string())
        .unwrap_or_default();
    let view = ConfirmView {
        user_code: &user_code,
        client_name,
        client_id: &grant.client_id,
        scopes: grant
            .requested_scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .collect(),
        requested_at: format_time(grant.created_at),
        request_ip: &grant.request_ip,
    };
    let page = pages::confirm(&session.csrf_token(), &user.username, &view, message);
    Ok(html(StatusCode::OK, page, session))
}

/// Why a code cannot be confirmed.
enum CodeProblem {
    Malformed,
    NotFound,
    Expired,
    AlreadyApproved,
    AlreadyUsed,
    Denied,
}

impl CodeProblem {
    fn of(app: &App, grant: &GrantRecord) -> Self {
        match grant.status {
            GrantStatus::Redeemed => CodeProblem::AlreadyUsed,
            _ if app.clock.now_ms() >= grant.expires_at => CodeProblem::Expired,
            GrantStatus::Approved => CodeProblem::AlreadyApproved,
            GrantStatus::Denied => CodeProblem::Denied,
            GrantStatus::Pending => CodeProblem::NotFound,
        }
    }

    fn page(&self, session: &Session, user: &UserRecord) -> Response {
        let (status, title, text) = match self {
            CodeProblem::Malformed | CodeProblem::NotFound => (
                StatusCode::NOT_FOUND,
                "Code not found",
                "Check the code shown on your device and try again.",
            ),
            CodeProblem::Expired => (
                StatusCode::GONE,
                "Code expired",
                "This code has expired. Start the sign-in again on your device to get a new code.",
            ),
            CodeProblem::AlreadyApproved => (
                StatusCode::CONFLICT,
                "Already approved",
                "This code was already approved. Return to your device.",
            ),
            CodeProblem::AlreadyUsed => (
                StatusCode::GONE,
                "Code already used",
                "This code was already used to sign in a device. Each code works once.",
            ),
            CodeProblem::Denied => (
                StatusCode::CONFLICT,
                "Request denied",
                "This request was denied and cannot be approved any more. Start again on your device if that was a mistake.",
            ),
        };
        let message = Notice {
            text,
            is_error: true,
        };
        html(
            status,
            pages::outcome(
                title,
                Some(&user.username),
                &session.csrf_token(),
                &message,
                true,
            ),
            session,
        )
    }
}

/// Finds the pending, unexpired grant for typed input.
async fn find_pending(
    app: &App,
    input: &str,
) -> Result<Result<GrantRecord, CodeProblem>, StoreError> {
    let Ok(code) = UserCode::parse(input) else {
        return Ok(Err(CodeProblem::Malformed));
    };
    let Some(grant) = app.store.grant_by_user_code(code.as_str()).await? else {
        return Ok(Err(CodeProblem::NotFound));
    };
    if grant.status == GrantStatus::Pending && app.clock.now_ms() < grant.expires_at {
        return Ok(Ok(grant));
    }
    Ok(Err(CodeProblem::of(app, &grant)))
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
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || crypto::verify_password(&password, &phc))
        .await
        .unwrap_or(false);
    Ok(user.filter(|user| matches && !user.disabled))
}

/// Decoded form fields of a page POST. Unlike the protocol endpoints, the page repeats
/// `scope` once per ticked box.
struct PageForm(Vec<(String, String)>);

impl PageForm {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Parses a POST body and checks its origin and CSRF token. On failure, returns the reason to
/// show with [`forbidden`].
fn checked_form(
    app: &App,
    headers: &HeaderMap,
    session: &Session,
    body: &[u8],
) -> Result<PageForm, &'static str> {
    // Browsers send Origin with every form POST; a different one means another site submitted
    // the form.
    if let Some(origin) = headers.get(header::ORIGIN) {
        if origin.as_bytes() != app.config.issuer_origin().as_bytes() {
            return Err(
                "This form was sent from another site. Open this page directly and try again.",
            );
        }
    }
    let Some(pairs) = crate::form::decode_pairs(body) else {
        return Err("The form could not be read. Reload the page and try again.");
    };
    let form = PageForm(pairs);
    if !session.csrf_matches(form.get("csrf_token")) {
        return Err("This form has expired. Reload the page and try again.");
    }
    Ok(form)
}

/// Answers a rejected POST with 403; nothing was changed.
fn forbidden(session: &Session, reason: &'static str) -> Response {
    tracing::warn!(reason, "page request rejected");
    let message = Notice {
        text: reason,
        is_error: true,
    };
    html(
        StatusCode::FORBIDDEN,
        pages::outcome(
            "Request rejected",
            None,
            &session.csrf_token(),
            &message,
            true,
        ),
        session,
    )
}

/// Runs a page handler; a storage failure becomes an error page, with the cause in the log.
async fn respond(
    handler: impl std::future::Future<Output = Result<Response, StoreError>>,
) -> Response {
    match handler.await {
        Ok(response) => response,
        Err(error) => {
            let status = match error {
                StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            tracing::error!(error = ?error, "page failed");
            let message = Notice {
                text: "Something went wrong on our side. Try again in a moment.",
                is_error: true,
            };
            (
                status,
                Html(pages::outcome("Temporary problem", None, "", &message, false).into_string()),
            )
                .into_response()
        }
    }
}

fn html(status: StatusCode, page: Markup, session: &Session) -> Response {
    with_cookie((status, Html(page.into_string())).into_response(), session)
}

fn with_cookie(mut response: Response, session: &Session) -> Response {
    if let Some(cookie) = session
        .set_cookie
        .as_deref()
        .and_then(|value| HeaderValue::from_str(value).ok())
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn session_expired() -> Response {
    let message = Notice {
        text: "Your session has expired. Open the page again.",
        is_error: true,
    };
    (
        StatusCode::FORBIDDEN,
        Html(pages::outcome("Session expired", None, "", &message, true).into_string()),
    )
        .into_response()
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    let pairs = crate::form::decode_pairs(query?.as_bytes())?;
    pairs
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

fn format_time(millis: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    OffsetDateTime::from_unix_timestamp(millis / 1000)
        .ok()
        .and_then(|time| time.format(&format).ok())
        .unwrap_or_else(|| "unknown".to_owned())
}
