//! Page form bodies and the checks every POST passes: same origin and the session's CSRF
//! token.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;

use super::pages::{self, Notice};
use super::session::Session;
use super::{html, session_expired};
use crate::audit::{self, AuditContext, AuditEvent};
use crate::store::{StoreError, UserRecord};
use crate::App;

/// Decoded form fields of a page POST. Unlike the protocol endpoints, the page repeats
/// `scope` once per ticked box.
pub(super) struct PageForm(Vec<(String, String)>);

impl PageForm {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub(super) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Parses a POST body and checks its origin and CSRF token. On failure, returns the reason to
/// show with [`forbidden`].
pub(super) fn checked_form(
    app: &App,
    headers: &HeaderMap,
    session: &Session,
    body: &[u8],
) -> Result<PageForm, &'static str> {
    if !same_site(app, headers) {
        return Err("This form was sent from another site. Open this page directly and try again.");
    }
    let Some(pairs) = crate::form::decode_pairs(body) else {
        return Err("The form could not be read. Reload the page and try again.");
    };
    // Only `scope` repeats, once per ticked box. A repeated `decision` or `csrf_token` would
    // otherwise be read as its first value, whatever the others contain.
    let mut seen = std::collections::HashSet::new();
    if pairs
        .iter()
        .any(|(name, _)| name != "scope" && !seen.insert(name.as_str()))
    {
        return Err("The form could not be read. Reload the page and try again.");
    }
    let form = PageForm(pairs);
    if !session.csrf_matches(form.get("csrf_token")) {
        return Err("This form has expired. Reload the page and try again.");
    }
    Ok(form)
}

/// Returns whether a POST's fetch metadata shows it came from the issuer's own pages.
///
/// Browsers send `Origin` with form POSTs, but a page served with `Referrer-Policy:
/// no-referrer` makes Chromium send `Origin: null` even for its own forms. `null` is therefore
/// accepted only together with `Sec-Fetch-Site: same-origin`, which pages cannot forge. A
/// request without either header (not from a browser) is left to the CSRF token.
fn same_site(app: &App, headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").map(|value| value.as_bytes());
    if matches!(fetch_site, Some(b"cross-site" | b"same-site")) {
        return false;
    }
    match headers.get(header::ORIGIN).map(|value| value.as_bytes()) {
        None => true,
        Some(b"null") => fetch_site == Some(b"same-origin"),
        Some(origin) => origin == app.config.issuer_origin().as_bytes(),
    }
}

/// Builds the 403 page for a rejected POST, which changed nothing, and audits it.
pub(super) async fn forbidden(
    app: &App,
    session: &Session,
    reason: &'static str,
    address: &str,
) -> Response {
    let context = AuditContext {
        address: Some(address),
        detail: Some(reason.to_owned()),
        ..AuditContext::default()
    };
    audit::record(app, AuditEvent::RequestRejected, context).await;
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

/// Loads the session of a page POST and checks its form. On failure, returns the page to send
/// instead: "session expired" without a session, 403 when a check fails.
pub(super) async fn accept_post(
    app: &App,
    headers: &HeaderMap,
    body: &[u8],
    address: &str,
) -> Result<Result<(Session, PageForm), Response>, StoreError> {
    let Some(session) = Session::load(app, headers).await? else {
        return Ok(Err(session_expired()));
    };
    match checked_form(app, headers, &session, body) {
        Ok(form) => Ok(Ok((session, form))),
        Err(reason) => Ok(Err(forbidden(app, &session, reason, address).await)),
    }
}

/// Like [`accept_post`], and also requires a signed-in, enabled user; otherwise returns the
/// sign-in page.
pub(super) async fn accept_signed_in_post(
    app: &App,
    headers: &HeaderMap,
    body: &[u8],
    address: &str,
) -> Result<Result<(Session, PageForm, UserRecord), Response>, StoreError> {
    let (session, form) = match accept_post(app, headers, body, address).await? {
        Ok(accepted) => accepted,
        Err(page) => return Ok(Err(page)),
    };
    let Some(user) = session.user(app).await? else {
        let page = pages::sign_in(&session.csrf_token(), None, None);
        return Ok(Err(html(StatusCode::OK, page, &session)));
    };
    Ok(Ok((session, form, user)))
}
