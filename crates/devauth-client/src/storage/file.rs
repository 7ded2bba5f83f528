//! The file backend: `tokens.json` in a folder of the owner's, mode 0600.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use devauth_protocol::Secret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::lock::ProfileLock;
use super::vault::SecretVault;
use super::{Profile, SecretLocation, StorageError, StoreFile, STORE_VERSION};

/// How long a process waits for the store-wide lock, which is held only for one
/// read-modify-write of the file.
const STORE_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// The token store in one folder: `tokens.json`, its lock `tokens.lock`, and per-profile locks
/// under `locks/`. With a vault, the access and refresh tokens live in the vault instead of the
/// file.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
    vault: Option<Arc<dyn SecretVault>>,
}

/// The secrets of one profile as kept in a vault: one JSON object per profile.
#[derive(Serialize, Deserialize)]
struct VaultEntry {
    access_token: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<Secret>,
}

impl FileStore {
    /// Uses `dir`, which is created with mode 0700 on the first write.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            vault: None,
        }
    }

    /// Keeps the access and refresh tokens in `vault` from the next write on. Profiles whose
    /// tokens are still in the file move to the vault when they are next written.
    pub fn with_vault(mut self, vault: Arc<dyn SecretVault>) -> Self {
        self.vault = Some(vault);
        self
    }

    /// Returns the vault's name, or `None` when the tokens are kept in the file.
    pub fn vault_name(&self) -> Option<String> {
        self.vault.as_ref().map(|vault| vault.name())
    }

    /// Returns a short, stable name of this store's folder, for vaults shared by several stores
    /// (such as the OS keyring): the first 12 hex digits of the SHA-256 of its path.
    pub fn scope(&self) -> String {
        let digest = Sha256::digest(self.dir.to_string_lossy().as_bytes());
        hex::encode(&digest[..6])
    }

    /// Returns the folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Returns the path of the token file.
    pub fn path(&self) -> PathBuf {
        self.dir.join("tokens.json")
    }

    /// Reads the whole store; a missing file is an empty store.
    pub fn load(&self) -> Result<StoreFile, StorageError> {
        let path = self.path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(StoreFile::default())
            }
            Err(source) => {
                return Err(StorageError::Io {
                    action: "cannot read",
                    path,
                    source,
                })
            }
        };
        let store: StoreFile = serde_json::from_str(&text).map_err(|error| {
            // serde_json's message names a line and column, never the content.
            StorageError::Corrupt {
                path: path.clone(),
                reason: error.to_string(),
            }
        })?;
        if store.version != STORE_VERSION {
            return Err(StorageError::Corrupt {
                path,
                reason: format!(
                    "format version {} is not the supported version {STORE_VERSION}",
                    store.version
                ),
            });
        }
        // Without a vault, profiles whose tokens are in the keyring keep the file's empty
        // placeholders. `profile` rejects such a profile, and writes leave it as it is.
        let mut store = store;
        if self.vault.is_some() {
            for (name, profile) in &mut store.profiles {
                self.fill_secrets(name, profile)?;
            }
        }
        Ok(store)
    }

    /// Reads the tokens of a profile whose secrets are in the vault.
    fn fill_secrets(&self, name: &str, profile: &mut Profile) -> Result<(), StorageError> {
        let Some(vault) = &self.vault else {
            return Ok(());
        };
        if profile.secrets.is_file() || profile.tokens.is_none() {
            return Ok(());
        }
        let Some(text) = vault.get(name)? else {
            // The entry was deleted outside devauth: the login is gone, as after a logout.
            tracing::warn!(profile = name, "the keyring has no tokens for this login");
            profile.tokens = None;
            profile.secrets = SecretLocation::File;
            return Ok(());
        };
        let entry: VaultEntry =
            serde_json::from_str(&text).map_err(|error| StorageError::Keyring {
                action: "cannot parse the keyring entry",
                profile: name.to_owned(),
                reason: error.to_string(),
            })?;
        if let Some(tokens) = &mut profile.tokens {
            tokens.access_token = entry.access_token;
            tokens.refresh_token = entry.refresh_token;
        }
        Ok(())
    }

    /// Returns one profile, or `None` when it does not exist.
    ///
    /// # Errors
    ///
    /// [`StorageError::KeyringRequired`] when the profile's tokens are in the keyring and this
    /// store has no vault.
    pub fn profile(&self, name: &str) -> Result<Option<Profile>, StorageError> {
        let profile = self.load()?.profiles.remove(name);
        if let Some(found) = &profile {
            if self.vault.is_none() && !found.secrets.is_file() && found.tokens.is_some() {
                return Err(StorageError::KeyringRequired {
                    profile: name.to_owned(),
                });
            }
        }
        Ok(profile)
    }

    /// Applies `change` to the current store and writes the result, holding the store-wide lock
    /// so that a concurrent process's change is neither lost nor overwritten.
    pub fn update<R>(&self, change: impl FnOnce(&mut StoreFile) -> R) -> Result<R, StorageError> {
        self.ensure_dir(&self.dir)?;
        let _lock = ProfileLock::acquire(&self.dir.join("tokens.lock"), STORE_LOCK_TIMEOUT)?;
        let previous = self.load()?;
        let mut store = previous.clone();
        let result = change(&mut store);

        // New secrets go to the vault before the file that refers to them, and secrets of
        // removed logins leave the vault only after the file no longer refers to them.
        let on_disk = self.move_secrets_to_vault(&store, &previous)?;
        self.write(&on_disk)?;
        self.delete_dropped_secrets(&store, &previous)?;
        Ok(result)
    }

    /// Stores each profile's tokens in the vault, when there is one, and returns the store as
    /// the file should hold it: without those tokens.
    fn move_secrets_to_vault(
        &self,
        store: &StoreFile,
        previous: &StoreFile,
    ) -> Result<StoreFile, StorageError> {
        let mut on_disk = store.clone();
        for (name, profile) in &mut on_disk.profiles {
            let Some(tokens) = &mut profile.tokens else {
                profile.secrets = SecretLocation::File;
                continue;
            };
            let unchanged = previous.profiles.get(name).is_some_and(|before| {
                !before.secrets.is_file()
                    && before.tokens.as_ref().is_some_and(|old| {
                        old.has_same_access_token(tokens) && old.has_same_refresh_token(tokens)
                    })
            });
            let Some(vault) = &self.vault else {
                // Unchanged tokens stay in the keyring that this store cannot reach; new ones go
                // to the file.
                // NOTE: the keyring entry of a login replaced this way stays behind.
                if !unchanged {
                    profile.secrets = SecretLocation::File;
                }
                continue;
            };

            if !unchanged {
                let entry = VaultEntry {
                    access_token: tokens.access_token.clone(),
                    refresh_token: tokens.refresh_token.clone(),
                };
                let text =
                    serde_json::to_string(&entry).map_err(|error| StorageError::Keyring {
                        action: "cannot encode the keyring entry",
                        profile: name.clone(),
                        reason: error.to_string(),
                    })?;
                vault.set(name, &text)?;
            }
            tokens.access_token = Secret::new("");
            tokens.refresh_token = tokens.refresh_token.as_ref().map(|_| Secret::new(""));
            profile.secrets = SecretLocation::Keyring;
        }
        Ok(on_disk)
    }

    /// Deletes the vault entries of profiles that had tokens in the vault and now have none.
    fn delete_dropped_secrets(
        &self,
        store: &StoreFile,
        previous: &StoreFile,
    ) -> Result<(), StorageError> {
        let Some(vault) = &self.vault else {
            return Ok(());
        };
        for (name, before) in &previous.profiles {
            let had_secrets = !before.secrets.is_file() && before.tokens.is_some();
            let has_tokens = store
                .profiles
                .get(name)
                .is_some_and(|profile| profile.tokens.is_some());
            if had_secrets && !has_tokens {
                vault.delete(name)?;
            }
        }
        Ok(())
    }

    /// Takes the lock that serializes refreshes of profile `name` across processes, waiting at
    /// most `timeout`.
    ///
    /// The holder must re-read the profile after taking the lock, because another process may
    /// have refreshed it meanwhile, and refresh only when the token is still stale.
    ///
    /// NOTE: the wait blocks the calling thread; call it from a blocking context or accept
    /// that one runtime worker sleeps.
    pub fn lock_profile(&self, name: &str, timeout: Duration) -> Result<ProfileLock, StorageError> {
        let locks = self.dir.join("locks");
        self.ensure_dir(&self.dir)?;
        self.ensure_dir(&locks)?;
        let digest = Sha256::digest(name.as_bytes());
        let file_name = format!("{}.lock", hex::encode(&digest[..12]));
        ProfileLock::acquire(&locks.join(file_name), timeout)
    }

    /// Writes the store to a temporary file with mode 0600, flushes it to disk and renames it
    /// over the token file, so readers see either the old or the new file, never a torn one.
    fn write(&self, store: &StoreFile) -> Result<(), StorageError> {
        let path = self.path();
        let temporary = self
            .dir
            .join(format!(".tokens.json.{}.tmp", std::process::id()));
        let io_error = |action: &'static str, path: &Path| {
            let path = path.to_owned();
            move |source| StorageError::Io {
                action,
                path,
                source,
            }
        };

        let text = serde_json::to_string_pretty(store).map_err(|error| StorageError::Corrupt {
            path: path.clone(),
            reason: error.to_string(),
        })?;
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&temporary)
            .map_err(io_error("cannot create", &temporary))?;
        // The mode given to `open` applies only to a new file. A temporary file left by a killed
        // process keeps its old mode, so set it explicitly.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(io_error("cannot set permissions of", &temporary))?;
        }
        file.write_all(text.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(io_error("cannot write", &temporary))?;
        drop(file);
        fs::rename(&temporary, &path).map_err(io_error("cannot replace", &path))?;
        Ok(())
    }

    /// Creates `dir` with mode 0700 when it is missing.
    fn ensure_dir(&self, dir: &Path) -> Result<(), StorageError> {
        if dir.is_dir() {
            return Ok(());
        }
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir).map_err(|source| StorageError::Io {
            action: "cannot create the folder",
            path: dir.to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::Endpoints;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "devauth-client-{name}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn profile() -> Profile {
        Profile {
            server: "http://127.0.0.1:8080".into(),
            client_id: "devauth".into(),
            requested_scope: "profile".into(),
            endpoints: Endpoints::new("http://127.0.0.1:8080/a", "http://127.0.0.1:8080/t")
                .unwrap(),
            tokens: None,
            pending: None,
            user: None,
            secrets: SecretLocation::File,
        }
    }

    #[test]
    fn update_then_load_round_trips() {
        let dir = temp_dir("round-trip");
        let store = FileStore::new(dir.join("nested"));
        assert!(store.load().unwrap().profiles.is_empty());
        store
            .update(|file| file.profiles.insert("p".into(), profile()))
            .unwrap();
        let loaded = store.profile("p").unwrap().unwrap();
        assert_eq!(loaded.client_id, "devauth");
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn token_file_and_folder_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("mode");
        let store = FileStore::new(dir.join("home"));
        store
            .update(|file| file.profiles.insert("p".into(), profile()))
            .unwrap();
        let file_mode = fs::metadata(store.path()).unwrap().permissions().mode() & 0o777;
        let dir_mode = fs::metadata(store.dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!(file_mode, 0o600);
        assert_eq!(dir_mode, 0o700);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn garbage_file_is_reported_as_corrupt() {
        let dir = temp_dir("corrupt");
        let store = FileStore::new(&dir);
        fs::write(store.path(), "not json").unwrap();
        assert!(matches!(store.load(), Err(StorageError::Corrupt { .. })));
        fs::remove_dir_all(dir).unwrap();
    }

    fn tokens(access: &str, refresh: &str) -> super::super::StoredTokens {
        super::super::StoredTokens {
            access_token: Secret::new(access),
            token_type: "Bearer".into(),
            refresh_token: Some(Secret::new(refresh)),
            scope: Some("profile".into()),
            expires_at: Some(2_000_000_000),
            obtained_at: 1_000_000_000,
        }
    }

    fn logged_in(access: &str, refresh: &str) -> Profile {
        Profile {
            tokens: Some(tokens(access, refresh)),
            ..profile()
        }
    }

    #[test]
    fn vault_keeps_tokens_out_of_file() {
        let dir = temp_dir("vault");
        let vault = crate::storage::MemoryVault::new();
        let store = FileStore::new(&dir).with_vault(Arc::new(vault.clone()));

        store
            .update(|file| {
                file.profiles
                    .insert("p".into(), logged_in("dva_a1", "dvr_r1"))
            })
            .unwrap();

        let text = fs::read_to_string(store.path()).unwrap();
        assert!(!text.contains("dva_a1"), "{text}");
        assert!(!text.contains("dvr_r1"), "{text}");
        assert!(text.contains("\"secrets\": \"keyring\""), "{text}");
        assert_eq!(vault.profiles(), ["p"]);
        let loaded = store.profile("p").unwrap().unwrap();
        let loaded_tokens = loaded.tokens.unwrap();
        assert_eq!(loaded_tokens.access_token.expose(), "dva_a1");
        assert_eq!(loaded_tokens.refresh_token.unwrap().expose(), "dvr_r1");
        assert_eq!(loaded.secrets, SecretLocation::Keyring);

        store.update(|file| file.profiles.remove("p")).unwrap();
        assert!(vault.profiles().is_empty());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn vault_entry_follows_refresh() {
        let dir = temp_dir("vault-refresh");
        let vault = crate::storage::MemoryVault::new();
        let store = FileStore::new(&dir).with_vault(Arc::new(vault.clone()));
        store
            .update(|file| {
                file.profiles
                    .insert("p".into(), logged_in("dva_a1", "dvr_r1"))
            })
            .unwrap();

        store
            .update(|file| {
                file.profiles.get_mut("p").unwrap().tokens = Some(tokens("dva_a2", "dvr_r2"));
            })
            .unwrap();

        let loaded = store.profile("p").unwrap().unwrap().tokens.unwrap();
        assert_eq!(loaded.access_token.expose(), "dva_a2");
        assert_eq!(loaded.refresh_token.unwrap().expose(), "dvr_r2");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn file_tokens_move_to_vault_on_write() {
        let dir = temp_dir("vault-move");
        FileStore::new(&dir)
            .update(|file| {
                file.profiles
                    .insert("p".into(), logged_in("dva_a1", "dvr_r1"))
            })
            .unwrap();
        let vault = crate::storage::MemoryVault::new();
        let store = FileStore::new(&dir).with_vault(Arc::new(vault.clone()));
        assert_eq!(
            store.profile("p").unwrap().unwrap().secrets,
            SecretLocation::File
        );

        store.update(|_| ()).unwrap();

        assert_eq!(vault.profiles(), ["p"]);
        let text = fs::read_to_string(store.path()).unwrap();
        assert!(!text.contains("dva_a1"), "{text}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn keyring_profile_without_vault_is_error() {
        let dir = temp_dir("vault-missing");
        let vault = crate::storage::MemoryVault::new();
        FileStore::new(&dir)
            .with_vault(Arc::new(vault.clone()))
            .update(|file| {
                file.profiles
                    .insert("p".into(), logged_in("dva_a1", "dvr_r1"))
            })
            .unwrap();

        let without_vault = FileStore::new(&dir);
        without_vault
            .update(|file| {
                file.profiles
                    .insert("q".into(), logged_in("dva_q", "dvr_q"))
            })
            .unwrap();

        let error = without_vault.profile("p").unwrap_err();
        assert!(
            matches!(&error, StorageError::KeyringRequired { profile } if profile == "p"),
            "{error}"
        );
        let other = without_vault.profile("q").unwrap().unwrap().tokens.unwrap();
        assert_eq!(other.access_token.expose(), "dva_q");
        let with_vault = FileStore::new(&dir).with_vault(Arc::new(vault.clone()));
        let kept = with_vault.profile("p").unwrap().unwrap().tokens.unwrap();
        assert_eq!(kept.access_token.expose(), "dva_a1");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn profile_lock_times_out_while_held() {
        let dir = temp_dir("lock");
        let store = FileStore::new(&dir);
        let _held = store.lock_profile("p", Duration::from_secs(1)).unwrap();
        let second = store.lock_profile("p", Duration::from_millis(100));
        assert!(matches!(second, Err(StorageError::LockTimeout { .. })));
        let other_profile = store.lock_profile("q", Duration::from_millis(100));
        assert!(other_profile.is_ok());
        fs::remove_dir_all(dir).unwrap();
    }
}
