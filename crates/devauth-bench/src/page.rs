//! The verification page as a browser uses it: a session cookie, the CSRF token from the
//! form's hidden field, and the issuer's origin in `Origin` on every POST.

use std::net::SocketAddr;

use anyhow::Context as _;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::StatusCode;

use crate::http::{form, Connection, Response};

/// The session cookie's name.
const COOKIE_NAME: &str = "devauth_session";

/// A signed-in page session on its own connection.
pub(crate) struct PageSession {
    connection: Connection,
    cookie: HeaderValue,
    origin: HeaderValue,
    csrf_token: String,
}

impl PageSession {
    /// Opens `/device`, signs in with the password form, and reads the signed-in session's
    /// CSRF token.
    pub(crate) async fn sign_in(
        addr: SocketAddr,
        issuer: &str,
        username: &str,
        password: &str,
    ) -> anyhow::Result<Self> {
        let mut connection = Connection::new(addr);
        let origin = HeaderValue::from_str(issuer).context("invalid issuer")?;

        let page = connection.get("/device", &[]).await?;
        page.expect_status(StatusCode::OK)?;
        let cookie = session_cookie(&page.headers)?;
        let csrf_token = read_csrf_token(&page)?;

        let signed_in = connection
            .post_form(
                "/device/sign-in",
                &[
                    (header::COOKIE, cookie.clone()),
                    (header::ORIGIN, origin.clone()),
                ],
                form(&[
                    ("csrf_token", &csrf_token),
                    ("username", username),
                    ("password", password),
                ]),
            )
            .await?;
        signed_in
            .expect_status(StatusCode::SEE_OTHER)
            .context("sign-in on the verification page failed")?;
        // Signing in starts a new session, and with it a new CSRF token.
        let cookie = session_cookie(&signed_in.headers)?;
        let page = connection
            .get("/device", &[(header::COOKIE, cookie.clone())])
            .await?;
        page.expect_status(StatusCode::OK)?;
        if !page.body_contains("name=\"user_code\"") {
            anyhow::bail!(
                "after sign-in, /device shows no code form: {}",
                page.body_excerpt()
            );
        }
        let csrf_token = read_csrf_token(&page)?;
        Ok(Self {
            connection,
            cookie,
            origin,
            csrf_token,
        })
    }

    fn headers(&self) -> [(HeaderName, HeaderValue); 2] {
        [
            (header::COOKIE, self.cookie.clone()),
            (header::ORIGIN, self.origin.clone()),
        ]
    }

    /// Enters `user_code` (`POST /device`), then approves every requested scope on the confirm
    /// screen (`POST /device/decision`).
    pub(crate) async fn approve(&mut self, user_code: &str, scopes: &[&str]) -> anyhow::Result<()> {
        let headers = self.headers();
        let confirm = self
            .connection
            .post_form(
                "/device",
                &headers,
                form(&[("csrf_token", &self.csrf_token), ("user_code", user_code)]),
            )
            .await?;
        confirm
            .expect_status(StatusCode::OK)
            .context("entering the user code failed")?;
        if !confirm.body_contains("value=\"approve\"") {
            anyhow::bail!(
                "entering the user code showed no confirm screen: {}",
                confirm.body_excerpt()
            );
        }

        let mut fields = vec![
            ("csrf_token", self.csrf_token.as_str()),
            ("user_code", user_code),
            ("decision", "approve"),
        ];
        fields.extend(scopes.iter().map(|scope| ("scope", *scope)));
        let decided = self
            .connection
            .post_form("/device/decision", &headers, form(&fields))
            .await?;
        decided
            .expect_status(StatusCode::OK)
            .context("approving on the verification page failed")?;
        if !decided.body_contains("Device approved") {
            anyhow::bail!("approval was not confirmed: {}", decided.body_excerpt());
        }
        Ok(())
    }
}

/// Returns `devauth_session=VALUE` from a response's `Set-Cookie`, ready for a `Cookie`
/// header.
fn session_cookie(headers: &HeaderMap) -> anyhow::Result<HeaderValue> {
    let prefix = format!("{COOKIE_NAME}=");
    let pair = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&prefix))
        .and_then(|value| value.split(';').next())
        .with_context(|| format!("the response sets no {COOKIE_NAME} cookie"))?;
    Ok(HeaderValue::from_str(pair)?)
}

/// Returns the value of the page form's hidden `csrf_token` field.
fn read_csrf_token(page: &Response) -> anyhow::Result<String> {
    const FIELD: &str = "name=\"csrf_token\" value=\"";
    let text = std::str::from_utf8(&page.body).context("the page is not UTF-8")?;
    let start = text
        .find(FIELD)
        .map(|index| index + FIELD.len())
        .context("the page has no csrf_token field")?;
    let rest = text.get(start..).unwrap_or_default();
    let end = rest
        .find('"')
        .context("the csrf_token field is not closed")?;
    Ok(rest.get(..end).unwrap_or_default().to_owned())
}
