//! The audit trail: one structured event per security-relevant step, written to the log and
//! to the store, with the client, user and address involved and never a secret.

use crate::crypto;
use crate::store::AuditRecord;
use crate::App;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    /// A person signed in on the page.
    SignInSucceeded,
    /// A sign-in failed: unknown user, wrong password or disabled account.
    SignInFailed,
    /// A signed-in person entered a user code that matches no grant.
    CodeEntryFailed,
    /// A request was refused because its account, session or address is over a limit.
    RateLimited,
    /// A page POST was rejected: missing or foreign CSRF token, or a foreign `Origin`.
    RequestRejected,
    /// Tokens were refused because the account behind the grant is disabled or gone.
    TokenRefused,
    /// Wrong user codes from all sources passed the alarm threshold.
    GuessingAlarm,
    /// A person approved a device.
    Approved,
    /// A person denied a device.
    Denied,
    /// The token endpoint issued tokens for a device code.
    TokenIssued,
    /// A refresh token was rotated.
    TokenRefreshed,
    /// A rotated refresh token was presented again; its family was revoked.
    RefreshReuseDetected,
    /// A client revoked a token.
    TokenRevoked,
}

impl AuditEvent {
    /// Returns the stored name of the event.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::SignInSucceeded => "sign_in_succeeded",
            AuditEvent::SignInFailed => "sign_in_failed",
            AuditEvent::CodeEntryFailed => "code_entry_failed",
            AuditEvent::RateLimited => "rate_limited",
            AuditEvent::RequestRejected => "request_rejected",
            AuditEvent::TokenRefused => "token_refused",
            AuditEvent::GuessingAlarm => "guessing_alarm",
            AuditEvent::Approved => "approved",
            AuditEvent::Denied => "denied",
            AuditEvent::TokenIssued => "token_issued",
            AuditEvent::TokenRefreshed => "token_refreshed",
            AuditEvent::RefreshReuseDetected => "refresh_reuse_detected",
            AuditEvent::TokenRevoked => "token_revoked",
        }
    }

    /// Returns whether the event suggests an attack or a misbehaving client.
    fn is_warning(self) -> bool {
        matches!(
            self,
            AuditEvent::SignInFailed
                | AuditEvent::CodeEntryFailed
                | AuditEvent::RateLimited
                | AuditEvent::RequestRejected
                | AuditEvent::TokenRefused
                | AuditEvent::GuessingAlarm
                | AuditEvent::RefreshReuseDetected
        )
    }
}

/// The client, user and address an event concerns. `detail` contains record ids and names,
/// never a secret.
#[derive(Debug, Default, Clone)]
pub struct AuditContext<'a> {
    /// The client.
    pub client_id: Option<&'a str>,
    /// The user.
    pub user_id: Option<&'a str>,
    /// The address the request came from.
    pub address: Option<&'a str>,
    /// Further facts.
    pub detail: Option<String>,
}

/// Logs an event and stores it. A storage failure is logged and does not fail the request that
/// caused the event.
pub async fn record(app: &App, event: AuditEvent, context: AuditContext<'_>) {
    let AuditContext {
        client_id,
        user_id,
        address,
        detail,
    } = context;
    if event.is_warning() {
        tracing::warn!(
            event = event.as_str(),
            client_id,
            user_id,
            address,
            detail,
            "audit"
        );
    } else {
        tracing::info!(
            event = event.as_str(),
            client_id,
            user_id,
            address,
            detail,
            "audit"
        );
    }
    let record = AuditRecord {
        id: crypto::random_id(),
        at: app.clock.now_ms(),
        event: event.as_str().to_owned(),
        client_id: client_id.map(str::to_owned),
        user_id: user_id.map(str::to_owned),
        address: address.map(str::to_owned),
        detail,
    };
    if let Err(error) = app.store.insert_audit(&record).await {
        tracing::error!(error = ?error, event = event.as_str(), "cannot store audit event");
    }
}
