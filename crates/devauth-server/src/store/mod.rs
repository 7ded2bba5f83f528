//! Storage behind one interface, with a SQLite and a PostgreSQL implementation.
//!
//! Every rule that must hold across replicas (single redemption, slow_down bookkeeping, final
//! decisions, refresh rotation) is a conditional update here, so it holds whatever process
//! runs the request. Times are milliseconds since the Unix epoch.

mod records;
mod sql;

use async_trait::async_trait;

pub use records::{
    AuditRecord, ClientRecord, Decision, GrantRecord, GrantStatus, NewGrant, NewToken,
    SessionRecord, TokenKind, TokenRecord, UserRecord,
};
pub use sql::{connect, PostgresStore, SqliteStore};

/// The error of a storage call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key already exists (client id, username, user code).
    #[error("the record already exists")]
    Conflict,
    /// The database cannot be reached or has no free connection.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database failure.
    #[error("database failure")]
    Database(#[source] sqlx::Error),
    /// A stored value does not parse (a corrupt row or a newer schema).
    #[error("stored value is invalid: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            sqlx::Error::Database(db) if db.code().as_deref().is_some_and(is_unavailable_code) => {
                StoreError::Unavailable(error)
            }
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error),
            _ => StoreError::Database(error),
        }
    }
}

/// Returns whether a database error code means the server is going away or overloaded, not
/// that the statement is wrong. These are PostgreSQL's classes 08 (connection exception), 53
/// (insufficient resources) and 57P (operator intervention, such as a shutdown), and SQLite's
/// SQLITE_BUSY (5) and SQLITE_LOCKED (6).
fn is_unavailable_code(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P")
        || code == "5"
        || code == "6"
}

/// The outcome of a recorded poll.
#[derive(Debug, Clone)]
pub struct RecordedPoll {
    /// The grant's record id.
    pub grant_id: String,
    /// Whether the poll came sooner than the interval.
    pub early: bool,
    /// The interval now in force, in milliseconds.
    pub interval_ms: i64,
}

/// The outcome of presenting a refresh token for rotation.
#[derive(Debug)]
pub enum Rotation {
    /// The token was current; it is now rotated and its successors are stored.
    Rotated,
    /// The token was already rotated, revoked or expired by the time the update ran.
    Stale,
}

/// The storage interface of the server.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Inserts a client; [`StoreError::Conflict`] when its id exists.
    async fn insert_client(&self, client: &ClientRecord) -> Result<(), StoreError>;
    /// Returns a client by id.
    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError>;
    /// Returns all clients, sorted by id.
    async fn clients(&self) -> Result<Vec<ClientRecord>, StoreError>;
    /// Deletes a client; returns whether it existed.
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;

    /// Inserts a user; [`StoreError::Conflict`] when the username exists.
    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// Returns a user by username.
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Returns a user by id.
    async fn user(&self, user_id: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Returns all users, sorted by username.
    async fn users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// Sets whether a user is disabled; returns whether the user exists.
    async fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<bool, StoreError>;

    /// Inserts a pending grant; [`StoreError::Conflict`] when its user code is taken.
    async fn insert_grant(&self, grant: &NewGrant) -> Result<(), StoreError>;
    /// Deletes the grant holding `user_code` if it expired before `now`, freeing the code.
    async fn delete_expired_user_code(&self, user_code: &str, now: i64) -> Result<(), StoreError>;
    /// Returns the grant with this device code digest.
    async fn grant_by_device_code(&self, hash: &str) -> Result<Option<GrantRecord>, StoreError>;
    /// Returns the grant with this normalized user code.
    async fn grant_by_user_code(&self, user_code: &str) -> Result<Option<GrantRecord>, StoreError>;
    /// Records a poll of the pending, unexpired grant with this device code digest and client,
    /// in one statement. A poll sooner than the interval after the previous one raises the
    /// interval by `slow_down_ms`. Returns `None`, changing nothing, when no grant matches
    /// (unknown code, another client, decided, redeemed or expired).
    async fn record_poll(
        &self,
        device_code_hash: &str,
        client_id: &str,
        now: i64,
        slow_down_ms: i64,
    ) -> Result<Option<RecordedPoll>, StoreError>;
    /// Approves or denies a pending, unexpired grant. Returns false when the grant was no longer
    /// pending or had expired, and changes nothing then.
    async fn decide_grant(&self, decision: &Decision, now: i64) -> Result<bool, StoreError>;
    /// Marks an approved, unexpired grant redeemed and stores its tokens, in one transaction.
    /// Returns false, storing nothing, when another request redeemed it first or it expired.
    async fn redeem_grant(
        &self,
        grant_id: &str,
        now: i64,
        tokens: &[NewToken],
    ) -> Result<bool, StoreError>;

    /// Returns a token by digest, whatever its state.
    async fn token(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// Rotates a current refresh token and stores its successors, in one transaction.
    async fn rotate_refresh_token(
        &self,
        token_id: &str,
        now: i64,
        successors: &[NewToken],
    ) -> Result<Rotation, StoreError>;
    /// Revokes one token.
    async fn revoke_token(&self, token_id: &str) -> Result<(), StoreError>;
    /// Revokes every token of a family: all tokens descended from one grant.
    async fn revoke_family(&self, family_id: &str) -> Result<u64, StoreError>;

    /// Inserts a page session.
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// Returns an unexpired session by digest.
    async fn session(&self, id_hash: &str, now: i64) -> Result<Option<SessionRecord>, StoreError>;
    /// Deletes a session.
    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;

    /// Records one failed attempt under each of `keys`.
    async fn record_failures(&self, keys: &[String], now: i64) -> Result<(), StoreError>;
    /// Counts the failed attempts recorded under `key` at or after `since`.
    async fn count_failures(&self, key: &str, since: i64) -> Result<u64, StoreError>;

    /// Appends an event to the audit trail.
    async fn insert_audit(&self, event: &AuditRecord) -> Result<(), StoreError>;
    /// Returns audit events at or after `since`, oldest first, at most `limit`.
    async fn audit_events(&self, since: i64, limit: i64) -> Result<Vec<AuditRecord>, StoreError>;

    /// Returns the space of a write-ahead log to the file system: on SQLite a truncating
    /// checkpoint, on PostgreSQL nothing (the server manages its own log).
    async fn checkpoint(&self) -> Result<(), StoreError>;

    /// Deletes grants, tokens, sessions and failed attempts that expired before `cutoff`, in
    /// small batches. Returns the rows deleted, or `None` when another replica is sweeping.
    async fn sweep(&self, cutoff: i64) -> Result<Option<u64>, StoreError>;
}
