//! The verification page (RFC 8628 section 3.3): the person signs in, enters or confirms the
//! user code, sees who asks for what, and approves or denies. GET never changes a grant;
//! every POST carries the session's CSRF token and is checked against the issuer's origin.

mod code_entry;
mod form;
mod pages;
mod session;
mod sign_in;

use axum::body::Bytes;
use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use devauth_protocol::Scope;
use maud::Markup;
use time::OffsetDateTime;

use crate::audit::{self, AuditContext, AuditEvent};
use crate::request::ClientAddr;
use crate::store::{Decision, StoreError};
use crate::App;
use code_entry::{confirm_page, find_pending, show_code, CodeProblem};
use form::{accept_signed_in_post, checked_form, forbidden};
use pages::Notice;
use session::Session;

pub use sign_in::sign_in;

/// Adds the headers every page carries: no framing, no inline script, no referrer, no caching.
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
    ClientAddr(address): ClientAddr,
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
            Some(input) => Ok(show_code(&app, &session, &user, &input, &address).await?),
            None => Ok(html(
                StatusCode::OK,
                pages::enter_code(&session.csrf_token(), &user.username, None, None),
                &session,
            )),
        }
    })
    .await
}

/// `POST /device/sign-out`.
pub async fn sign_out(
    State(app): State<App>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(async {
        let Some(session) = Session::load(&app, &headers).await? else {
            return Ok(Redirect::to("/device").into_response());
        };
        if let Err(reason) = checked_form(&app, &headers, &session, &body) {
            return Ok(forbidden(&app, &session, reason, &address).await);
        }
        session.end(&app).await?;
        Ok(Redirect::to("/device").into_response())
    })
    .await
}

/// `POST /device`: shows the confirm screen for a typed code, or a message.
pub async fn enter_code(
    State(app): State<App>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(async {
        let (session, form, user) =
            match accept_signed_in_post(&app, &headers, &body, &address).await? {
                Ok(accepted) => accepted,
                Err(page) => return Ok(page),
            };
        let input = form.get("user_code").unwrap_or_default();
        show_code(&app, &session, &user, input, &address).await
    })
    .await
}

/// `POST /device/decision`: approve (with the ticked scopes) or deny.
pub async fn decide(
    State(app): State<App>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(async {
        let (session, form, user) =
            match accept_signed_in_post(&app, &headers, &body, &address).await? {
                Ok(accepted) => accepted,
                Err(page) => return Ok(page),
            };
        let csrf_token = session.csrf_token();
        let input = form.get("user_code").unwrap_or_default();
        let grant = match find_pending(&app, &session, &user, input, &address).await? {
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
                    let message = Notice {
                        text: "Tick at least one permission, or deny the request.",
                        is_error: true,
                    };
                    return confirm_page(&app, &session, &user, &grant, Some(&message)).await;
                }
                Decision::Approve {
                    grant_id: grant.id.clone(),
                    user_id: user.id.clone(),
                    granted_scope: granted.to_string(),
                }
            }
            Some("deny") => Decision::Deny {
                grant_id: grant.id.clone(),
                user_id: user.id.clone(),
            },
            _ => {
                let message = Notice {
                    text: "Choose Approve or Deny.",
                    is_error: true,
                };
                return confirm_page(&app, &session, &user, &grant, Some(&message)).await;
            }
        };

        // The conditional update makes the first decision final: a second one (Back, then the
        // other button) finds the grant no longer pending and changes nothing.
        if !app
            .store
            .decide_grant(&decision, app.clock.now_ms())
            .await?
        {
            let current = app.store.grant_by_user_code(&grant.user_code).await?;
            let problem =
                current.map_or(CodeProblem::NotFound, |grant| CodeProblem::of(&app, &grant));
            return Ok(problem.page(&session, &user));
        }
        let (event, title, text) = match &decision {
            Decision::Approve { .. } => (
                AuditEvent::Approved,
                "Device approved",
                "You can return to your device; it will finish signing in on its own.",
            ),
            Decision::Deny { .. } => (
                AuditEvent::Denied,
                "Request denied",
                "The device will not be signed in.",
            ),
        };
        let detail = match &decision {
            Decision::Approve { granted_scope, .. } => {
                format!("grant {} scope {granted_scope}", grant.id)
            }
            Decision::Deny { .. } => format!("grant {}", grant.id),
        };
        let context = AuditContext {
            client_id: Some(&grant.client_id),
            user_id: Some(&user.id),
            address: Some(&address),
            detail: Some(detail),
        };
        audit::record(&app, event, context).await;
        let message = Notice {
            text,
            is_error: false,
        };
        Ok(html(
            StatusCode::OK,
            pages::outcome(title, Some(&user.username), &csrf_token, &message, false),
            &session,
        ))
    })
    .await
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
