//! Secret vaults: where a [`FileStore`](super::FileStore) keeps the access and refresh tokens
//! when they should not sit in its file. [`KeyringVault`] uses the OS keyring; tests use
//! [`MemoryVault`].

use std::collections::BTreeMap;
#[cfg(any(feature = "keyring", test))]
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
#[cfg(any(feature = "keyring", test))]
use std::time::Duration;

use super::StorageError;

/// A store of one secret string per profile name.
///
/// Implementations must respond within a bounded time or fail: [`KeyringVault`] runs every call
/// on its own thread and gives up after its timeout.
pub trait SecretVault: Send + Sync + std::fmt::Debug {
    /// Returns a short name for messages, such as `OS keyring (Secret Service)`.
    fn name(&self) -> String;

    /// Returns the secret of profile `profile`, or `None` when there is none.
    fn get(&self, profile: &str) -> Result<Option<String>, StorageError>;

    /// Stores `secret` for profile `profile`, replacing any earlier one.
    fn set(&self, profile: &str, secret: &str) -> Result<(), StorageError>;

    /// Deletes the secret of profile `profile`; deleting a missing one succeeds.
    fn delete(&self, profile: &str) -> Result<(), StorageError>;
}

/// A vault in process memory, for tests.
#[derive(Debug, Default, Clone)]
pub struct MemoryVault {
    secrets: Arc<Mutex<BTreeMap<String, String>>>,
}

impl MemoryVault {
    /// Creates an empty vault.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the profile names that have a secret.
    pub fn profiles(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.secrets.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SecretVault for MemoryVault {
    fn name(&self) -> String {
        "memory".into()
    }

    fn get(&self, profile: &str) -> Result<Option<String>, StorageError> {
        Ok(self.lock().get(profile).cloned())
    }

    fn set(&self, profile: &str, secret: &str) -> Result<(), StorageError> {
        self.lock().insert(profile.to_owned(), secret.to_owned());
        Ok(())
    }

    fn delete(&self, profile: &str) -> Result<(), StorageError> {
        self.lock().remove(profile);
        Ok(())
    }
}

/// Runs `operation` on a new thread and waits at most `timeout` for its result.
///
/// A platform keyring can hang (a D-Bus peer that accepts the connection and never responds, a
/// locked keychain waiting for a prompt). The thread of a call that timed out is left to finish
/// or to die with the process; it holds no lock of the store.
#[cfg(any(feature = "keyring", test))]
pub(crate) fn with_timeout<T: Send + 'static>(
    timeout: Duration,
    operation: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (sender, receiver) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("devauth-keyring".into())
        .spawn(move || {
            // The receiver is gone when the caller timed out; the result is dropped then.
            let _ = sender.send(operation());
        });
    if spawned.is_err() {
        return None;
    }
    receiver.recv_timeout(timeout).ok()
}

#[cfg(feature = "keyring")]
pub use keyring_vault::KeyringVault;

#[cfg(feature = "keyring")]
mod keyring_vault {
    use std::time::Duration;

    use super::{with_timeout, SecretVault};
    use crate::storage::StorageError;

    /// The keyring service name of every entry.
    const SERVICE: &str = "devauth";

    /// The OS keyring through the `keyring` crate: the Keychain on macOS, the Credential
    /// Manager on Windows, the Secret Service (GNOME Keyring, KWallet) over D-Bus elsewhere.
    ///
    /// Entries are named by service `devauth` and user `PROFILE#SCOPE`, where `SCOPE`
    /// distinguishes the token stores of different folders (see [`KeyringVault::probe`]).
    #[derive(Debug, Clone)]
    pub struct KeyringVault {
        scope: String,
        timeout: Duration,
    }

    impl KeyringVault {
        /// Checks that the OS keyring responds within `timeout` by reading an entry that does
        /// not exist, and returns the vault, or the reason it cannot be used. `scope`
        /// separates the entries of different token stores, for example a hash of the
        /// store's folder.
        pub fn probe(scope: &str, timeout: Duration) -> Result<Self, String> {
            let vault = Self {
                scope: scope.to_owned(),
                timeout,
            };
            let probe_user = format!("probe#{scope}");
            let outcome = with_timeout(timeout, move || {
                keyring::Entry::new(SERVICE, &probe_user).and_then(|entry| entry.get_password())
            });
            match outcome {
                None => Err(format!("the OS keyring did not respond within {timeout:?}")),
                Some(Ok(_)) | Some(Err(keyring::Error::NoEntry)) => Ok(vault),
                Some(Err(error)) => Err(format!("the OS keyring is not available: {error}")),
            }
        }

        fn user(&self, profile: &str) -> String {
            format!("{profile}#{}", self.scope)
        }

        fn call<T: Send + 'static>(
            &self,
            action: &'static str,
            profile: &str,
            operation: impl FnOnce(keyring::Entry) -> keyring::Result<T> + Send + 'static,
        ) -> Result<T, keyring::Error> {
            let user = self.user(profile);
            let outcome = with_timeout(self.timeout, move || {
                keyring::Entry::new(SERVICE, &user).and_then(operation)
            });
            match outcome {
                Some(result) => result,
                None => Err(keyring::Error::PlatformFailure(
                    format!("{action} did not finish within {:?}", self.timeout).into(),
                )),
            }
        }
    }

    fn failure(action: &'static str, profile: &str, error: keyring::Error) -> StorageError {
        StorageError::Keyring {
            action,
            profile: profile.to_owned(),
            reason: error.to_string(),
        }
    }

    impl SecretVault for KeyringVault {
        fn name(&self) -> String {
            let system = if cfg!(target_os = "macos") {
                "Keychain"
            } else if cfg!(windows) {
                "Credential Manager"
            } else {
                "Secret Service"
            };
            format!("OS keyring ({system})")
        }

        fn get(&self, profile: &str) -> Result<Option<String>, StorageError> {
            match self.call("reading the keyring", profile, |entry| entry.get_password()) {
                Ok(secret) => Ok(Some(secret)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(error) => Err(failure("cannot read from the keyring", profile, error)),
            }
        }

        fn set(&self, profile: &str, secret: &str) -> Result<(), StorageError> {
            let secret = secret.to_owned();
            self.call("writing the keyring", profile, move |entry| {
                entry.set_password(&secret)
            })
            .map_err(|error| failure("cannot write to the keyring", profile, error))
        }

        fn delete(&self, profile: &str) -> Result<(), StorageError> {
            match self.call("deleting from the keyring", profile, |entry| {
                entry.delete_credential()
            }) {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(error) => Err(failure("cannot delete from the keyring", profile, error)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_timeout_returns_fast_result() {
        assert_eq!(with_timeout(Duration::from_secs(5), || 7), Some(7));
    }

    #[test]
    fn with_timeout_gives_up_on_hang() {
        let started = std::time::Instant::now();
        let result = with_timeout(Duration::from_millis(100), || {
            std::thread::sleep(Duration::from_secs(5));
        });
        assert!(result.is_none());
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
