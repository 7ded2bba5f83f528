//! Token storage: one profile per server and client, kept in a file readable only by its owner.
//!
//! The file is JSON, rewritten atomically (a temporary file in the same folder, then a rename)
//! under a store-wide lock, so concurrent processes never lose each other's profiles. A second,
//! per-profile lock serializes refreshes across processes: see [`FileStore::lock_profile`].
//!
//! With a [`SecretVault`] such as [`KeyringVault`], the access and refresh tokens of each
//! profile go to the vault and the file keeps only the rest (endpoints, expiry, scope).

mod file;
mod lock;
pub mod vault;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use devauth_protocol::{Secret, TokenResponse};
use serde::{Deserialize, Serialize};

use crate::device_authorization::SavedAuthorization;
use crate::discovery::Endpoints;
use crate::time::unix_seconds;

pub use file::FileStore;
pub use lock::ProfileLock;
#[cfg(feature = "keyring")]
pub use vault::KeyringVault;
pub use vault::{MemoryVault, SecretVault};

/// The version of the file format written by this crate.
pub const STORE_VERSION: u32 = 1;

/// A failure to read or write the token store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// The failed action, such as "cannot read".
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not a token store this version understands.
    #[error("cannot parse the token store {path}: {reason}; move it away and log in again")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parse error, without any of the file's content.
        reason: String,
    },
    /// The OS keyring failed or did not respond in time.
    #[error("{action} for the login {profile:?}: {reason}")]
    Keyring {
        /// The failed action, such as "cannot read from the keyring".
        action: &'static str,
        /// The profile whose tokens were read or written.
        profile: String,
        /// The keyring's error, which never contains the secret.
        reason: String,
    },
    /// The tokens of a profile are in the OS keyring, but this store was opened without it.
    #[error(
        "the tokens of the login {profile:?} are in the OS keyring, which is not in use now; \
         run with `--store keyring` where the keyring answers, or log in again"
    )]
    KeyringRequired {
        /// The profile.
        profile: String,
    },
    /// Another process held a lock for longer than the timeout.
    #[error("timed out after {timeout:?} waiting for the lock {path}; is another devauth process stuck?")]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long this process waited.
        timeout: Duration,
    },
}

/// The whole token store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreFile {
    /// The format version, [`STORE_VERSION`].
    pub version: u32,
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

impl Default for StoreFile {
    fn default() -> Self {
        Self {
            version: STORE_VERSION,
            profiles: BTreeMap::new(),
        }
    }
}

/// One account on one server for one client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    /// The server (issuer) URL the person logged in to.
    pub server: String,
    /// The client id.
    pub client_id: String,
    /// The scope requested at login.
    #[serde(default)]
    pub requested_scope: String,
    /// The discovered endpoints, so later commands need no discovery request.
    pub endpoints: Endpoints,
    /// The tokens, once the person approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<StoredTokens>,
    /// A device authorization still waiting for approval, for `login wait` from another process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<SavedAuthorization>,
    /// The user's name from the userinfo endpoint at login, so `status` needs no request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The location of the access and refresh tokens when the profile was read. Writing sets
    /// it again from the store's backend, so callers need not change it.
    #[serde(default, skip_serializing_if = "SecretLocation::is_file")]
    pub secrets: SecretLocation,
}

/// The location of a profile's access and refresh tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretLocation {
    /// In the token file, next to the rest of the profile.
    #[default]
    File,
    /// In the store's [`SecretVault`], usually the OS keyring. The file contains empty strings
    /// in their place.
    Keyring,
}

impl SecretLocation {
    /// Returns whether the tokens are in the file.
    pub fn is_file(&self) -> bool {
        *self == SecretLocation::File
    }
}

/// Tokens as stored, with absolute expiry times.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTokens {
    /// The access token.
    pub access_token: Secret,
    /// The token type, usually `Bearer`.
    pub token_type: String,
    /// The refresh token, when the server issued one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// The granted scope, when the server sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// When the access token expires, in seconds since the Unix epoch; `None` when the server
    /// gave no lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// When the tokens were received, in seconds since the Unix epoch.
    pub obtained_at: u64,
}

impl StoredTokens {
    /// Converts a token response received at `now`. A response without `scope` keeps
    /// `previous_scope`, because RFC 6749 section 5.1 lets the server omit an unchanged scope.
    pub fn from_response(
        response: &TokenResponse,
        now: SystemTime,
        previous_scope: Option<&str>,
    ) -> Self {
        let obtained_at = unix_seconds(now);
        Self {
            access_token: response.access_token.clone(),
            token_type: response.token_type.clone(),
            refresh_token: response.refresh_token.clone(),
            scope: response
                .scope
                .clone()
                .or_else(|| previous_scope.map(str::to_owned)),
            expires_at: response
                .expires_in
                .map(|seconds| obtained_at.saturating_add(seconds)),
            obtained_at,
        }
    }

    /// Returns the seconds left before the access token expires, negative once expired, or
    /// `None` when its lifetime is unknown.
    pub fn seconds_left(&self, now: SystemTime) -> Option<i64> {
        let expires_at = i64::try_from(self.expires_at?).unwrap_or(i64::MAX);
        let now = i64::try_from(unix_seconds(now)).unwrap_or(i64::MAX);
        Some(expires_at.saturating_sub(now))
    }

    /// Returns whether the access token stays valid for at least `min_ttl` after `now`. A token
    /// without a known lifetime counts as valid.
    pub fn is_fresh(&self, now: SystemTime, min_ttl: Duration) -> bool {
        match self.seconds_left(now) {
            None => true,
            Some(left) => left > 0 && left as u64 >= min_ttl.as_secs(),
        }
    }

    /// Returns whether both hold the same refresh token, to tell whether another process
    /// rotated it. Plain comparison is fine here: both values come from this user's own store,
    /// so its timing reveals nothing to anyone else.
    pub fn has_same_refresh_token(&self, other: &StoredTokens) -> bool {
        match (&self.refresh_token, &other.refresh_token) {
            (Some(mine), Some(theirs)) => mine.expose() == theirs.expose(),
            (None, None) => true,
            _ => false,
        }
    }

    /// Returns whether both hold the same access token; see
    /// [`StoredTokens::has_same_refresh_token`] for why plain comparison is fine.
    pub fn has_same_access_token(&self, other: &StoredTokens) -> bool {
        self.access_token.expose() == other.access_token.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(expires_in: Option<u64>, at: SystemTime) -> StoredTokens {
        let response = TokenResponse {
            access_token: Secret::new("dva_a"),
            token_type: "Bearer".into(),
            expires_in,
            refresh_token: Some(Secret::new("dvr_r")),
            scope: None,
        };
        StoredTokens::from_response(&response, at, Some("profile"))
    }

    #[test]
    fn freshness_honors_min_ttl() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let stored = tokens(Some(100), now);
        assert_eq!(stored.scope.as_deref(), Some("profile"));
        assert!(stored.is_fresh(now, Duration::from_secs(100)));
        assert!(!stored.is_fresh(now, Duration::from_secs(101)));
        assert!(!stored.is_fresh(now + Duration::from_secs(100), Duration::ZERO));
    }

    #[test]
    fn unknown_lifetime_counts_as_fresh() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(tokens(None, now).is_fresh(now, Duration::from_secs(3600)));
    }

    #[test]
    fn debug_output_hides_tokens() {
        let now = SystemTime::UNIX_EPOCH;
        let text = format!("{:?}", tokens(Some(1), now));
        assert!(!text.contains("dva_a"));
        assert!(!text.contains("dvr_r"));
    }
}
