//! Administrative operations on clients and users, shared by the `devauthd` commands and the
//! tests.

use devauth_protocol::{Scope, Secret};

use crate::crypto::{self, CLIENT_SECRET_PREFIX};
use crate::store::{ClientRecord, Store, StoreError, UserRecord};
use crate::Clock;
use crate::SystemClock;

/// The client the `devauth` CLI uses by default, created on first start.
pub const DEFAULT_CLIENT_ID: &str = "devauth";
/// The default client's allowed scopes.
pub const DEFAULT_CLIENT_SCOPE: &str = "profile offline_access";

/// Why an administrative operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The name is taken.
    #[error("{kind} {name:?} already exists")]
    Duplicate {
        /// `client` or `user`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// No record has this name.
    #[error("{kind} {name:?} not found")]
    NotFound {
        /// `client` or `user`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A value is out of its allowed range or shape.
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

fn store_error<'a>(
    kind: &'static str,
    name: &'a str,
) -> impl FnOnce(StoreError) -> AdminError + 'a {
    move |error| match error {
        StoreError::Conflict => AdminError::Duplicate {
            kind,
            name: name.to_owned(),
        },
        other => AdminError::Store(other),
    }
}

/// Settings of a new client.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    /// The client id.
    pub client_id: String,
    /// The name shown to people.
    pub name: String,
    /// Allowed scopes, space-delimited.
    pub scope: String,
    /// Whether the client gets a secret.
    pub confidential: bool,
    /// Device code lifetime override, in seconds.
    pub device_code_lifetime_secs: Option<u64>,
    /// Polling interval override, in seconds.
    pub interval_secs: Option<u64>,
    /// Access token lifetime override, in seconds.
    pub access_token_lifetime_secs: Option<u64>,
    /// Refresh token lifetime override, in seconds.
    pub refresh_token_lifetime_secs: Option<u64>,
}

/// Registers a client. Returns the secret of a confidential client: the only time it is
/// available, since only its digest is stored.
pub async fn add_client(
    store: &dyn Store,
    client: NewClient,
) -> Result<Option<Secret>, AdminError> {
    let id_ok = !client.client_id.is_empty()
        && client.client_id.len() <= 128
        && client
            .client_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if !id_ok {
        return Err(AdminError::Invalid(format!(
            "invalid client id {:?}: use 1 to 128 letters, digits, '-', '_', '.' or ':'",
            client.client_id
        )));
    }
    if client.name.trim().is_empty() || client.name.chars().count() > 100 {
        return Err(AdminError::Invalid(
            "a client name has 1 to 100 characters".into(),
        ));
    }
    let scope = Scope::parse(&client.scope)
        .map_err(|error| AdminError::Invalid(format!("invalid scope: {error}")))?;
    let to_stored = |name: &str, value: Option<u64>| -> Result<Option<i64>, AdminError> {
        match value {
            None => Ok(None),
            Some(secs) if (1..=315_360_000).contains(&secs) => Ok(Some(secs as i64)),
            Some(secs) => Err(AdminError::Invalid(format!(
                "invalid {name} {secs}: expected 1 to 315360000 seconds"
            ))),
        }
    };

    let secret = client
        .confidential
        .then(|| crypto::random_secret(CLIENT_SECRET_PREFIX));
    let record = ClientRecord {
        client_id: client.client_id.clone(),
        name: client.name.trim().to_owned(),
        secret_hash: secret
            .as_ref()
            .map(|secret| crypto::digest(secret.expose())),
        allowed_scope: scope.to_string(),
        device_code_lifetime_secs: to_stored(
            "device code lifetime",
            client.device_code_lifetime_secs,
        )?,
        interval_secs: to_stored("interval", client.interval_secs)?,
        access_token_lifetime_secs: to_stored(
            "access token lifetime",
            client.access_token_lifetime_secs,
        )?,
        refresh_token_lifetime_secs: to_stored(
            "refresh token lifetime",
            client.refresh_token_lifetime_secs,
        )?,
        created_at: SystemClock.now_ms(),
    };
    store
        .insert_client(&record)
        .await
        .map_err(store_error("client", &client.client_id))?;
    Ok(secret)
}

/// Removes a client.
pub async fn remove_client(store: &dyn Store, client_id: &str) -> Result<(), AdminError> {
    if store
        .delete_client(client_id)
        .await
        .map_err(AdminError::Store)?
    {
        Ok(())
    } else {
        Err(AdminError::NotFound {
            kind: "client",
            name: client_id.to_owned(),
        })
    }
}

/// Creates the default public client on an empty database. Returns whether it was created.
pub async fn ensure_default_client(store: &dyn Store) -> Result<bool, AdminError> {
    if store
        .client(DEFAULT_CLIENT_ID)
        .await
        .map_err(AdminError::Store)?
        .is_some()
    {
        return Ok(false);
    }
    let created = add_client(
        store,
        NewClient {
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            name: "devauth CLI".to_owned(),
            scope: DEFAULT_CLIENT_SCOPE.to_owned(),
            ..NewClient::default()
        },
    )
    .await;
    match created {
        Ok(_) => Ok(true),
        // Another replica created it at the same moment.
        Err(AdminError::Duplicate { .. }) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Creates a user with an argon2id password hash.
pub async fn add_user(
    store: &dyn Store,
    username: &str,
    password: &str,
) -> Result<UserRecord, AdminError> {
    let name_ok = !username.is_empty()
        && username.len() <= 64
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b));
    if !name_ok {
        return Err(AdminError::Invalid(format!(
            "invalid username {username:?}: use 1 to 64 letters, digits, '-', '_', '.' or '@'"
        )));
    }
    if password.chars().count() < 8 {
        return Err(AdminError::Invalid(
            "a password has at least 8 characters".into(),
        ));
    }
    let password = password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || crypto::hash_password(&password))
        .await
        .map_err(|error| AdminError::Invalid(format!("password hashing failed: {error}")))?
        .map_err(|error| AdminError::Invalid(format!("password hashing failed: {error}")))?;
    let user = UserRecord {
        id: crypto::random_id(),
        username: username.to_owned(),
        password_hash,
        disabled: false,
        created_at: SystemClock.now_ms(),
    };
    store
        .insert_user(&user)
        .await
        .map_err(store_error("user", username))?;
    Ok(user)
}

/// Disables a user: no more sign-ins, no tokens minted or refreshed, existing access tokens
/// rejected.
pub async fn disable_user(store: &dyn Store, username: &str) -> Result<(), AdminError> {
    if store
        .set_user_disabled(username, true)
        .await
        .map_err(AdminError::Store)?
    {
        Ok(())
    } else {
        Err(AdminError::NotFound {
            kind: "user",
            name: username.to_owned(),
        })
    }
}
