//! Rows of the store, as plain data.

use std::str::FromStr;

use super::StoreError;

/// A registered client.
#[derive(Debug, Clone)]
pub struct ClientRecord {
    /// The public client identifier.
    pub client_id: String,
    /// The name shown to people on the confirm screen.
    pub name: String,
    /// SHA-256 digest of the client secret; `None` for a public client.
    pub secret_hash: Option<String>,
    /// Space-delimited scopes the client may request; also its default scope.
    pub allowed_scope: String,
    /// Overrides the server's device code lifetime, in seconds.
    pub device_code_lifetime_secs: Option<i64>,
    /// Overrides the server's polling interval, in seconds.
    pub interval_secs: Option<i64>,
    /// Overrides the server's access token lifetime, in seconds.
    pub access_token_lifetime_secs: Option<i64>,
    /// Overrides the server's refresh token lifetime, in seconds.
    pub refresh_token_lifetime_secs: Option<i64>,
    /// Creation time.
    pub created_at: i64,
}

/// A built-in account.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// The stable identifier, sent as `sub`.
    pub id: String,
    /// The sign-in name.
    pub username: String,
    /// The argon2id PHC string of the password.
    pub password_hash: String,
    /// Whether the account may no longer sign in or receive tokens.
    pub disabled: bool,
    /// Creation time.
    pub created_at: i64,
}

/// The stage of a device grant's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantStatus {
    /// Waiting for the person.
    Pending,
    /// The person approved; the device may redeem it once.
    Approved,
    /// The person denied; final.
    Denied,
    /// Tokens were issued; final.
    Redeemed,
}

impl GrantStatus {
    /// Returns the stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantStatus::Pending => "pending",
            GrantStatus::Approved => "approved",
            GrantStatus::Denied => "denied",
            GrantStatus::Redeemed => "redeemed",
        }
    }
}

impl FromStr for GrantStatus {
    type Err = StoreError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "pending" => Ok(GrantStatus::Pending),
            "approved" => Ok(GrantStatus::Approved),
            "denied" => Ok(GrantStatus::Denied),
            "redeemed" => Ok(GrantStatus::Redeemed),
            other => Err(StoreError::Corrupt(format!("grant status {other:?}"))),
        }
    }
}

/// A grant to insert, in the pending state.
#[derive(Debug, Clone)]
pub struct NewGrant {
    /// Record id, used in logs instead of any code.
    pub id: String,
    /// SHA-256 digest of the device code.
    pub device_code_hash: String,
    /// The normalized user code.
    pub user_code: String,
    /// The requesting client.
    pub client_id: String,
    /// The requested scope.
    pub requested_scope: String,
    /// The address the request came from, shown on the confirm screen.
    pub request_ip: String,
    /// Creation time.
    pub created_at: i64,
    /// Expiry of both codes.
    pub expires_at: i64,
    /// The polling interval, in milliseconds.
    pub interval_ms: i64,
}

/// A stored device grant.
#[derive(Debug, Clone)]
pub struct GrantRecord {
    /// Record id.
    pub id: String,
    /// The normalized user code.
    pub user_code: String,
    /// The requesting client.
    pub client_id: String,
    /// The requested scope.
    pub requested_scope: String,
    /// The scope the person approved.
    pub granted_scope: Option<String>,
    /// The stage of the grant's life.
    pub status: GrantStatus,
    /// The person who decided.
    pub user_id: Option<String>,
    /// The address the request came from.
    pub request_ip: String,
    /// Creation time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// The current polling interval, in milliseconds; slow_down raises it.
    pub interval_ms: i64,
    /// When the device last polled.
    pub last_poll_at: Option<i64>,
}

/// A person's decision on a pending grant.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Approve with the given scope.
    Approve {
        /// The grant.
        grant_id: String,
        /// The approving person.
        user_id: String,
        /// The approved scope, a subset of the requested one.
        granted_scope: String,
    },
    /// Deny.
    Deny {
        /// The grant.
        grant_id: String,
        /// The denying person.
        user_id: String,
    },
}

/// The kind of an issued token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An access token.
    Access,
    /// A refresh token.
    Refresh,
}

impl TokenKind {
    /// Returns the stored value, which is also the RFC 7009 token type hint.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access_token",
            TokenKind::Refresh => "refresh_token",
        }
    }
}

impl FromStr for TokenKind {
    type Err = StoreError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "access_token" => Ok(TokenKind::Access),
            "refresh_token" => Ok(TokenKind::Refresh),
            other => Err(StoreError::Corrupt(format!("token kind {other:?}"))),
        }
    }
}

/// A token to insert.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Record id.
    pub id: String,
    /// SHA-256 digest of the token.
    pub token_hash: String,
    /// Access or refresh.
    pub kind: TokenKind,
    /// The client it was issued to.
    pub client_id: String,
    /// The person it acts for.
    pub user_id: String,
    /// Its scope.
    pub scope: String,
    /// The family: every token descended from one device grant shares it.
    pub family_id: String,
    /// Issue time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
}

/// A stored token.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    /// Record id.
    pub id: String,
    /// Access or refresh.
    pub kind: TokenKind,
    /// The client it was issued to.
    pub client_id: String,
    /// The person it acts for.
    pub user_id: String,
    /// Its scope.
    pub scope: String,
    /// Its family.
    pub family_id: String,
    /// Issue time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
    /// Whether it was revoked.
    pub revoked: bool,
    /// When a refresh token was exchanged for its successor.
    pub rotated_at: Option<i64>,
}

/// A verification page session.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// SHA-256 digest of the session cookie value.
    pub id_hash: String,
    /// The signed-in person; `None` before sign-in.
    pub user_id: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Expiry.
    pub expires_at: i64,
}

/// A security-relevant event, as stored for the audit trail.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    /// Record id.
    pub id: String,
    /// When it happened.
    pub at: i64,
    /// The event name, such as `approved` or `sign_in_failed`.
    pub event: String,
    /// The client involved.
    pub client_id: Option<String>,
    /// The user involved.
    pub user_id: Option<String>,
    /// The address the request came from.
    pub address: Option<String>,
    /// Further facts, never a secret.
    pub detail: Option<String>,
}
