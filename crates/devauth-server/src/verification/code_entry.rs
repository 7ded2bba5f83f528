//! Entering a user code and the confirm screen it leads to.

use axum::http::StatusCode;
use axum::response::Response;
use devauth_protocol::UserCode;

use super::pages::{self, ConfirmView, Notice};
use super::session::Session;
use super::{format_time, html};
use crate::attempt_limit::{self, CODE_ENTRY, GUESSING_ALARM_PER_MINUTE};
use crate::audit::{self, AuditContext, AuditEvent};
use crate::metrics;
use crate::store::{GrantRecord, GrantStatus, StoreError, UserRecord};
use crate::App;

/// Shows the confirm screen for typed or prefilled input, or a message naming what is wrong.
pub(super) async fn show_code(
    app: &App,
    session: &Session,
    user: &UserRecord,
    input: &str,
    address: &str,
) -> Result<Response, StoreError> {
    match find_pending(app, session, user, input, address).await? {
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

pub(super) async fn confirm_page(
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

/// The reason a code cannot be confirmed.
pub(super) enum CodeProblem {
    Limited,
    Malformed,
    NotFound,
    Expired,
    AlreadyApproved,
    AlreadyUsed,
    Denied,
}

impl CodeProblem {
    pub(super) fn of(app: &App, grant: &GrantRecord) -> Self {
        match grant.status {
            GrantStatus::Redeemed => CodeProblem::AlreadyUsed,
            _ if app.clock.now_ms() >= grant.expires_at => CodeProblem::Expired,
            GrantStatus::Approved => CodeProblem::AlreadyApproved,
            GrantStatus::Denied => CodeProblem::Denied,
            GrantStatus::Pending => CodeProblem::NotFound,
        }
    }

    pub(super) fn page(&self, session: &Session, user: &UserRecord) -> Response {
        let (status, title, text) = match self {
            CodeProblem::Limited => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many wrong codes",
                "Too many wrong codes were entered. Wait 15 minutes, then try again.",
            ),
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

/// Finds the pending, unexpired grant for typed input. A code that matches no grant counts
/// against the account, the session and the address. Once any of them is over the limit, every
/// entry is rejected, the right code included.
pub(super) async fn find_pending(
    app: &App,
    session: &Session,
    user: &UserRecord,
    input: &str,
    address: &str,
) -> Result<Result<GrantRecord, CodeProblem>, StoreError> {
    let keys = attempt_limit::code_entry_keys(&user.id, session.id_hash(), address);
    if attempt_limit::is_limited(app, CODE_ENTRY, &keys).await? {
        metrics::RATE_LIMITED.increment();
        let context = AuditContext {
            user_id: Some(&user.id),
            address: Some(address),
            detail: Some("code entry refused: too many wrong codes".into()),
            ..AuditContext::default()
        };
        audit::record(app, AuditEvent::RateLimited, context).await;
        return Ok(Err(CodeProblem::Limited));
    }

    // A malformed code cannot match a live one, so it costs no attempt.
    let Ok(code) = UserCode::parse(input) else {
        return Ok(Err(CodeProblem::Malformed));
    };
    let Some(grant) = app.store.grant_by_user_code(code.as_str()).await? else {
        metrics::CODE_ENTRY_FAILURES.increment();
        let alarm = attempt_limit::record_code_entry_failure(app, &keys).await?;
        let context = AuditContext {
            user_id: Some(&user.id),
            address: Some(address),
            ..AuditContext::default()
        };
        audit::record(app, AuditEvent::CodeEntryFailed, context).await;
        if alarm {
            metrics::GUESSING_ALARMS.increment();
            let context = AuditContext {
                detail: Some(format!(
                    "more than {GUESSING_ALARM_PER_MINUTE} wrong user codes in the last minute"
                )),
                ..AuditContext::default()
            };
            audit::record(app, AuditEvent::GuessingAlarm, context).await;
        }
        return Ok(Err(CodeProblem::NotFound));
    };
    if grant.status == GrantStatus::Pending && app.clock.now_ms() < grant.expires_at {
        return Ok(Ok(grant));
    }
    Ok(Err(CodeProblem::of(app, &grant)))
}
