//! The SQL implementation of [`Store`], written once and instantiated for SQLite and for
//! PostgreSQL. Both dialects accept the same statements: `$N` placeholders, `RETURNING`,
//! `TRUE`/`FALSE`, and conditional updates whose affected-row count decides races.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Row;

use super::{
    AuditRecord, ClientRecord, Decision, GrantRecord, GrantStatus, NewGrant, NewToken,
    RecordedPoll, Rotation, SessionRecord, Store, StoreError, TokenKind, TokenRecord, UserRecord,
};

const GRANT_COLUMNS: &str = "id, user_code, client_id, requested_scope, granted_scope, status, \
    user_id, request_ip, created_at, expires_at, interval_ms, last_poll_at";
const TOKEN_COLUMNS: &str =
    "id, kind, client_id, user_id, scope, family_id, created_at, expires_at, revoked, rotated_at";
const CLIENT_COLUMNS: &str = "client_id, name, secret_hash, allowed_scope, \
    device_code_lifetime_secs, interval_secs, access_token_lifetime_secs, \
    refresh_token_lifetime_secs, created_at";
const USER_COLUMNS: &str = "id, username, password_hash, disabled, created_at";

const INSERT_TOKEN: &str = "INSERT INTO tokens (id, token_hash, kind, client_id, user_id, scope, \
    family_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// How long a request waits for a free connection before the store reports itself unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens the store named by `database_url` (`sqlite://PATH` or `postgres://...`) and runs its
/// migrations. A SQLite file is created with its parent folder when missing.
pub async fn connect(database_url: &str) -> Result<Arc<dyn Store>, anyhow::Error> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        // A statement that runs longer than this is cancelled, so a stuck query cannot hold a
        // connection (and the request behind it) forever.
        let options =
            PgConnectOptions::from_str(database_url)?.options([("statement_timeout", "5s")]);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        let store = PostgresStore { pool };
        sqlx::migrate!("migrations/postgres")
            .run(&store.pool)
            .await?;
        return Ok(Arc::new(store));
    }

    let Some(path) = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
    else {
        anyhow::bail!(
            "unsupported database URL {database_url:?}: expected sqlite://PATH or postgres://..."
        );
    };
    let file = path.split('?').next().unwrap_or(path);
    if file != ":memory:" {
        if let Some(parent) = Path::new(file)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| {
                anyhow::anyhow!(
                    "cannot create folder {} for the database: {error}",
                    parent.display()
                )
            })?;
        }
    }

    // WAL lets polls read while an approval writes. synchronous=NORMAL keeps every commit
    // through a process crash; only an operating-system crash can lose the last commits.
    let options = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        // Without a limit the write-ahead log keeps the size of its largest burst for good;
        // after a checkpoint SQLite truncates it to this many bytes.
        .pragma("journal_size_limit", "67108864")
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await?;
    let store = SqliteStore { pool };
    sqlx::migrate!("migrations/sqlite").run(&store.pool).await?;
    Ok(Arc::new(store))
}

/// Tables the sweeper cleans: name, key column, expiry column.
const SWEPT_TABLES: [(&str, &str, &str); 4] = [
    ("device_grants", "id", "expires_at"),
    ("tokens", "id", "expires_at"),
    ("sessions", "id_hash", "expires_at"),
    ("failed_attempts", "id", "at"),
];

/// Rows deleted per statement while sweeping.
const SWEEP_BATCH: u64 = 500;

macro_rules! sql_store {
    (
        $(#[$doc:meta])* $store:ident, $db:ty,
        try_lock = $try_lock:literal, unlock = $unlock:literal, checkpoint = $checkpoint:literal
    ) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $store {
            pool: sqlx::Pool<$db>,
        }

        impl $store {
            fn client_from_row(row: &<$db as sqlx::Database>::Row) -> Result<ClientRecord, StoreError> {
                Ok(ClientRecord {
                    client_id: row.try_get("client_id")?,
                    name: row.try_get("name")?,
                    secret_hash: row.try_get("secret_hash")?,
                    allowed_scope: row.try_get("allowed_scope")?,
                    device_code_lifetime_secs: row.try_get("device_code_lifetime_secs")?,
                    interval_secs: row.try_get("interval_secs")?,
                    access_token_lifetime_secs: row.try_get("access_token_lifetime_secs")?,
                    refresh_token_lifetime_secs: row.try_get("refresh_token_lifetime_secs")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            fn user_from_row(row: &<$db as sqlx::Database>::Row) -> Result<UserRecord, StoreError> {
                Ok(UserRecord {
                    id: row.try_get("id")?,
                    username: row.try_get("username")?,
                    password_hash: row.try_get("password_hash")?,
                    disabled: row.try_get("disabled")?,
                    created_at: row.try_get("created_at")?,
                })
            }

            fn grant_from_row(row: &<$db as sqlx::Database>::Row) -> Result<GrantRecord, StoreError> {
                let status: String = row.try_get("status")?;
                Ok(GrantRecord {
                    id: row.try_get("id")?,
                    user_code: row.try_get("user_code")?,
                    client_id: row.try_get("client_id")?,
                    requested_scope: row.try_get("requested_scope")?,
                    granted_scope: row.try_get("granted_scope")?,
                    status: GrantStatus::from_str(&status)?,
                    user_id: row.try_get("user_id")?,
                    request_ip: row.try_get("request_ip")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    interval_ms: row.try_get("interval_ms")?,
                    last_poll_at: row.try_get("last_poll_at")?,
                })
            }

            fn token_from_row(row: &<$db as sqlx::Database>::Row) -> Result<TokenRecord, StoreError> {
                let kind: String = row.try_get("kind")?;
                Ok(TokenRecord {
                    id: row.try_get("id")?,
                    kind: TokenKind::from_str(&kind)?,
                    client_id: row.try_get("client_id")?,
                    user_id: row.try_get("user_id")?,
                    scope: row.try_get("scope")?,
                    family_id: row.try_get("family_id")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                    revoked: row.try_get("revoked")?,
                    rotated_at: row.try_get("rotated_at")?,
                })
            }

            async fn insert_tokens(
                tx: &mut sqlx::Transaction<'_, $db>,
                tokens: &[NewToken],
            ) -> Result<(), StoreError> {
                for token in tokens {
                    sqlx::query(INSERT_TOKEN)
                        .bind(&token.id)
                        .bind(&token.token_hash)
                        .bind(token.kind.as_str())
                        .bind(&token.client_id)
                        .bind(&token.user_id)
                        .bind(&token.scope)
                        .bind(&token.family_id)
                        .bind(token.created_at)
                        .bind(token.expires_at)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }
        }

        #[async_trait]
        impl Store for $store {
            async fn insert_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO clients (client_id, name, secret_hash, allowed_scope, \
                     device_code_lifetime_secs, interval_secs, access_token_lifetime_secs, \
                     refresh_token_lifetime_secs, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&client.client_id)
                .bind(&client.name)
                .bind(&client.secret_hash)
                .bind(&client.allowed_scope)
                .bind(client.device_code_lifetime_secs)
                .bind(client.interval_secs)
                .bind(client.access_token_lifetime_secs)
                .bind(client.refresh_token_lifetime_secs)
                .bind(client.created_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
                let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1");
                let row = sqlx::query(&sql).bind(client_id).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::client_from_row).transpose()
            }

            async fn clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
                let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients ORDER BY client_id");
                let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
                rows.iter().map(Self::client_from_row).collect()
            }

            async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
                let result = sqlx::query("DELETE FROM clients WHERE client_id = $1")
                    .bind(client_id)
                    .execute(&self.pool)
                    .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO users (id, username, password_hash, disabled, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&user.id)
                .bind(&user.username)
                .bind(&user.password_hash)
                .bind(user.disabled)
                .bind(user.created_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
                let row = sqlx::query(&sql).bind(username).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::user_from_row).transpose()
            }

            async fn user(&self, user_id: &str) -> Result<Option<UserRecord>, StoreError> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
                let row = sqlx::query(&sql).bind(user_id).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::user_from_row).transpose()
            }

            async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
                let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
                let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
                rows.iter().map(Self::user_from_row).collect()
            }

            async fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<bool, StoreError> {
                let result = sqlx::query("UPDATE users SET disabled = $1 WHERE username = $2")
                    .bind(disabled)
                    .bind(username)
                    .execute(&self.pool)
                    .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn insert_grant(&self, grant: &NewGrant) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO device_grants (id, device_code_hash, user_code, client_id, \
                     requested_scope, status, request_ip, created_at, expires_at, interval_ms) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9)",
                )
                .bind(&grant.id)
                .bind(&grant.device_code_hash)
                .bind(&grant.user_code)
                .bind(&grant.client_id)
                .bind(&grant.requested_scope)
                .bind(&grant.request_ip)
                .bind(grant.created_at)
                .bind(grant.expires_at)
                .bind(grant.interval_ms)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn delete_expired_user_code(&self, user_code: &str, now: i64) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM device_grants WHERE user_code = $1 AND expires_at <= $2")
                    .bind(user_code)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn grant_by_device_code(&self, hash: &str) -> Result<Option<GrantRecord>, StoreError> {
                let sql = format!("SELECT {GRANT_COLUMNS} FROM device_grants WHERE device_code_hash = $1");
                let row = sqlx::query(&sql).bind(hash).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::grant_from_row).transpose()
            }

            async fn grant_by_user_code(&self, user_code: &str) -> Result<Option<GrantRecord>, StoreError> {
                let sql = format!("SELECT {GRANT_COLUMNS} FROM device_grants WHERE user_code = $1");
                let row = sqlx::query(&sql).bind(user_code).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::grant_from_row).transpose()
            }

            async fn record_poll(
                &self,
                device_code_hash: &str,
                client_id: &str,
                now: i64,
                slow_down_ms: i64,
            ) -> Result<Option<RecordedPoll>, StoreError> {
                // Every SET expression reads the row as it was before this UPDATE, and the row
                // lock (PostgreSQL) or write lock (SQLite) orders racing polls, so the second
                // of two simultaneous polls sees the first one's time and is early.
                let row = sqlx::query(
                    "UPDATE device_grants SET \
                     last_poll_early = (last_poll_at IS NOT NULL AND $1 - last_poll_at < interval_ms), \
                     interval_ms = CASE WHEN last_poll_at IS NOT NULL AND $1 - last_poll_at < interval_ms \
                         THEN interval_ms + $2 ELSE interval_ms END, \
                     last_poll_at = $1 \
                     WHERE device_code_hash = $3 AND client_id = $4 AND status = 'pending' \
                     AND expires_at > $1 \
                     RETURNING id, interval_ms, last_poll_early",
                )
                .bind(now)
                .bind(slow_down_ms)
                .bind(device_code_hash)
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|row| {
                    Ok(RecordedPoll {
                        grant_id: row.try_get("id")?,
                        early: row.try_get("last_poll_early")?,
                        interval_ms: row.try_get("interval_ms")?,
                    })
                })
                .transpose()
            }

            async fn decide_grant(&self, decision: &Decision, now: i64) -> Result<bool, StoreError> {
                let (status, grant_id, user_id, granted_scope) = match decision {
                    Decision::Approve { grant_id, user_id, granted_scope } => {
                        (GrantStatus::Approved, grant_id, user_id, Some(granted_scope))
                    }
                    Decision::Deny { grant_id, user_id } => (GrantStatus::Denied, grant_id, user_id, None),
                };
                let result = sqlx::query(
                    "UPDATE device_grants SET status = $1, user_id = $2, granted_scope = $3, \
                     decided_at = $4 WHERE id = $5 AND status = 'pending' AND expires_at > $4",
                )
                .bind(status.as_str())
                .bind(user_id)
                .bind(granted_scope)
                .bind(now)
                .bind(grant_id)
                .execute(&self.pool)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn redeem_grant(
                &self,
                grant_id: &str,
                now: i64,
                tokens: &[NewToken],
            ) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await?;
                let result = sqlx::query(
                    "UPDATE device_grants SET status = 'redeemed' \
                     WHERE id = $1 AND status = 'approved' AND expires_at > $2",
                )
                .bind(grant_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if result.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                Self::insert_tokens(&mut tx, tokens).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn token(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
                let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_hash = $1");
                let row = sqlx::query(&sql).bind(hash).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::token_from_row).transpose()
            }

            async fn rotate_refresh_token(
                &self,
                token_id: &str,
                now: i64,
                successors: &[NewToken],
            ) -> Result<Rotation, StoreError> {
                let mut tx = self.pool.begin().await?;
                let result = sqlx::query(
                    "UPDATE tokens SET rotated_at = $1 WHERE id = $2 AND kind = 'refresh_token' \
                     AND rotated_at IS NULL AND revoked = FALSE AND expires_at > $1",
                )
                .bind(now)
                .bind(token_id)
                .execute(&mut *tx)
                .await?;
                if result.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(Rotation::Stale);
                }
                Self::insert_tokens(&mut tx, successors).await?;
                tx.commit().await?;
                Ok(Rotation::Rotated)
            }

            async fn revoke_token(&self, token_id: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE tokens SET revoked = TRUE WHERE id = $1")
                    .bind(token_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn revoke_family(&self, family_id: &str) -> Result<u64, StoreError> {
                let result = sqlx::query(
                    "UPDATE tokens SET revoked = TRUE WHERE family_id = $1 AND revoked = FALSE",
                )
                .bind(family_id)
                .execute(&self.pool)
                .await?;
                Ok(result.rows_affected())
            }

            async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&session.id_hash)
                .bind(&session.user_id)
                .bind(session.created_at)
                .bind(session.expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn session(&self, id_hash: &str, now: i64) -> Result<Option<SessionRecord>, StoreError> {
                let row = sqlx::query(
                    "SELECT id_hash, user_id, created_at, expires_at FROM sessions \
                     WHERE id_hash = $1 AND expires_at > $2",
                )
                .bind(id_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|row| {
                    Ok(SessionRecord {
                        id_hash: row.try_get("id_hash")?,
                        user_id: row.try_get("user_id")?,
                        created_at: row.try_get("created_at")?,
                        expires_at: row.try_get("expires_at")?,
                    })
                })
                .transpose()
            }

            async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn record_failures(&self, keys: &[String], now: i64) -> Result<(), StoreError> {
                for key in keys {
                    sqlx::query("INSERT INTO failed_attempts (id, limit_key, at) VALUES ($1, $2, $3)")
                        .bind(crate::crypto::random_id())
                        .bind(key)
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                }
                Ok(())
            }

            async fn count_failures(&self, key: &str, since: i64) -> Result<u64, StoreError> {
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM failed_attempts WHERE limit_key = $1 AND at >= $2",
                )
                .bind(key)
                .bind(since)
                .fetch_one(&self.pool)
                .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            async fn insert_audit(&self, event: &AuditRecord) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO audit_events (id, at, event, client_id, user_id, address, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&event.id)
                .bind(event.at)
                .bind(&event.event)
                .bind(&event.client_id)
                .bind(&event.user_id)
                .bind(&event.address)
                .bind(&event.detail)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn audit_events(&self, since: i64, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, at, event, client_id, user_id, address, detail FROM audit_events \
                     WHERE at >= $1 ORDER BY at, id LIMIT $2",
                )
                .bind(since)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(AuditRecord {
                            id: row.try_get("id")?,
                            at: row.try_get("at")?,
                            event: row.try_get("event")?,
                            client_id: row.try_get("client_id")?,
                            user_id: row.try_get("user_id")?,
                            address: row.try_get("address")?,
                            detail: row.try_get("detail")?,
                        })
                    })
                    .collect()
            }

            async fn checkpoint(&self) -> Result<(), StoreError> {
                sqlx::query($checkpoint).execute(&self.pool).await?;
                Ok(())
            }

            async fn sweep(&self, cutoff: i64) -> Result<Option<u64>, StoreError> {
                // One connection keeps the sweep lock for the whole run. Each batch commits on
                // its own, so a sweep never keeps a write lock that a poll would wait for.
                let mut connection = self.pool.acquire().await?;
                let locked: bool = sqlx::query_scalar($try_lock).fetch_one(&mut *connection).await?;
                if !locked {
                    return Ok(None);
                }
                let mut deleted = 0;
                let mut outcome = Ok(());
                'tables: for (table, key, time) in SWEPT_TABLES {
                    let sql = format!(
                        "DELETE FROM {table} WHERE {key} IN \
                         (SELECT {key} FROM {table} WHERE {time} < $1 LIMIT {SWEEP_BATCH})"
                    );
                    loop {
                        match sqlx::query(&sql).bind(cutoff).execute(&mut *connection).await {
                            Ok(result) => {
                                deleted += result.rows_affected();
                                if result.rows_affected() < SWEEP_BATCH {
                                    break;
                                }
                            }
                            Err(error) => {
                                outcome = Err(error);
                                break 'tables;
                            }
                        }
                    }
                }
                sqlx::query($unlock).execute(&mut *connection).await?;
                outcome?;
                Ok(Some(deleted))
            }
        }
    };
}

sql_store!(
    /// The embedded default: one SQLite file in WAL mode.
    SqliteStore,
    sqlx::Sqlite,
    // One process serves a SQLite file, so there is no other sweeper to exclude.
    try_lock = "SELECT TRUE",
    unlock = "SELECT TRUE",
    // Constant readers can keep automatic checkpoints from ever resetting the log, which then
    // grows by every poll's write; TRUNCATE waits for them and empties the file.
    checkpoint = "PRAGMA wal_checkpoint(TRUNCATE)"
);

sql_store!(
    /// PostgreSQL, for several replicas sharing one database.
    PostgresStore,
    sqlx::Postgres,
    // A session-level advisory lock: one replica sweeps, the others skip this round.
    try_lock = "SELECT pg_try_advisory_lock(8628)",
    unlock = "SELECT pg_advisory_unlock(8628)",
    checkpoint = "SELECT 1"
);
