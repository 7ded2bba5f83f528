//! The file backend: `tokens.json` in a folder of the owner's, mode 0600.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::lock::ProfileLock;
use super::{Profile, StorageError, StoreFile, STORE_VERSION};

/// How long a process waits for the store-wide lock, which is held only for one
/// read-modify-write of the file.
const STORE_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// The token store in one folder: `tokens.json`, its lock `tokens.lock`, and per-profile locks
/// under `locks/`.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// Uses `dir`, which is created with mode 0700 on the first write.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
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
        Ok(store)
    }

    /// Returns one profile, or `None` when it does not exist.
    pub fn profile(&self, name: &str) -> Result<Option<Profile>, StorageError> {
        Ok(self.load()?.profiles.remove(name))
    }

    /// Applies `change` to the current store and writes the result, holding the store-wide lock
    /// so that a concurrent process's change is neither lost nor overwritten.
    pub fn update<R>(&self, change: impl FnOnce(&mut StoreFile) -> R) -> Result<R, StorageError> {
        self.ensure_dir(&self.dir)?;
        let _lock = ProfileLock::acquire(&self.dir.join("tokens.lock"), STORE_LOCK_TIMEOUT)?;
        let mut store = self.load()?;
        let result = change(&mut store);
        self.write(&store)?;
        Ok(result)
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
