//! Page sessions: a random cookie whose digest keys a stored row, so that any replica can
//! serve the next request. The CSRF token is derived from the cookie value, so it needs no
//! storage and a database leak does not reveal it.

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use devauth_protocol::Secret;
use sha2::{Digest, Sha256};

use crate::crypto;
use crate::store::{SessionRecord, StoreError, UserRecord};
use crate::App;

/// Name of the session cookie.
pub(super) const COOKIE_NAME: &str = "devauth_session";

/// Lifetime of a session before sign-in, in seconds.
const ANONYMOUS_SESSION_SECS: u64 = 3600;

/// Length of a session cookie value: 256 bits in unpadded base64url.
const COOKIE_VALUE_LEN: usize = 43;

/// The browser's session, loaded or just created.
pub(super) struct Session {
    cookie_value: Secret,
    record: SessionRecord,
    /// `Set-Cookie` value to send, when the session is new.
    pub(super) set_cookie: Option<String>,
}

impl Session {
    /// Loads the session named by the request's cookie, or starts an anonymous one.
    pub(super) async fn load_or_start(app: &App, headers: &HeaderMap) -> Result<Self, StoreError> {
        if let Some(session) = Self::load(app, headers).await? {
            return Ok(session);
        }
        Self::start(app, None).await
    }

    /// Loads the session named by the request's cookie, if it exists and has not expired.
    pub(super) async fn load(app: &App, headers: &HeaderMap) -> Result<Option<Self>, StoreError> {
        let Some(value) = cookie_value(headers) else {
            return Ok(None);
        };
        let record = app
            .store
            .session(&crypto::digest(&value), app.clock.now_ms())
            .await?;
        Ok(record.map(|record| Session {
            cookie_value: Secret::new(value),
            record,
            set_cookie: None,
        }))
    }

    /// Starts a new session, signed in as `user_id` when given.
    pub(super) async fn start(app: &App, user_id: Option<String>) -> Result<Self, StoreError> {
        let cookie_value = crypto::random_secret("");
        let now = app.clock.now_ms();
        // A session before sign-in only carries the CSRF token of the sign-in form; keeping it
        // short bounds the rows that cookie-less visitors can create.
        let lifetime_secs = match user_id {
            Some(_) => app.config.session_lifetime_secs,
            None => app.config.session_lifetime_secs.min(ANONYMOUS_SESSION_SECS),
        };
        let record = SessionRecord {
            id_hash: crypto::digest(cookie_value.expose()),
            user_id,
            created_at: now,
            expires_at: now.saturating_add(crate::device_authorization::secs_to_ms(lifetime_secs)),
        };
        app.store.insert_session(&record).await?;
        let secure = if app.config.issuer_is_https() {
            "; Secure"
        } else {
            ""
        };
        let set_cookie = format!(
            "{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={lifetime_secs}{secure}",
            cookie_value.expose()
        );
        Ok(Session {
            cookie_value,
            record,
            set_cookie: Some(set_cookie),
        })
    }

    /// Ends the session.
    pub(super) async fn end(self, app: &App) -> Result<(), StoreError> {
        app.store.delete_session(&self.record.id_hash).await
    }

    /// Returns the signed-in user, if the account still exists and is enabled.
    pub(super) async fn user(&self, app: &App) -> Result<Option<UserRecord>, StoreError> {
        let Some(user_id) = &self.record.user_id else {
            return Ok(None);
        };
        Ok(app.store.user(user_id).await?.filter(|user| !user.disabled))
    }

    /// Returns the digest that keys the session in the store; safe to log and to use as a
    /// limit key.
    pub(super) fn id_hash(&self) -> &str {
        &self.record.id_hash
    }

    /// Returns the CSRF token that every form of this session carries.
    pub(super) fn csrf_token(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"devauth csrf\0");
        hasher.update(self.cookie_value.expose().as_bytes());
        URL_SAFE_NO_PAD.encode(hasher.finalize())
    }

    /// Checks a submitted CSRF token in constant time.
    pub(super) fn csrf_matches(&self, submitted: Option<&str>) -> bool {
        submitted.is_some_and(|submitted| crypto::digests_match(&self.csrf_token(), submitted))
    }
}

/// Returns the session cookie's value, when it has the shape of one.
fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|value| {
            value.len() == COOKIE_VALUE_LEN
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}
