//! Exclusive file locks with a bounded wait.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fs2::FileExt;

use super::StorageError;

/// How often a waiting process retries a held lock.
const RETRY_EVERY: Duration = Duration::from_millis(20);

/// An exclusive lock on a file, released on drop (or when the process dies, as the operating
/// system releases `flock` locks with the file descriptor).
#[derive(Debug)]
pub struct ProfileLock {
    file: File,
    path: PathBuf,
}

impl ProfileLock {
    /// Takes the lock on `path`, creating the file, waiting at most `timeout`.
    pub(crate) fn acquire(path: &Path, timeout: Duration) -> Result<Self, StorageError> {
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path).map_err(|source| StorageError::Io {
            action: "cannot open the lock file",
            path: path.to_owned(),
            source,
        })?;

        let started = Instant::now();
        loop {
            match file.try_lock_exclusive() {
                Ok(()) => {
                    return Ok(Self {
                        file,
                        path: path.to_owned(),
                    })
                }
                Err(error) if error.kind() == fs2::lock_contended_error().kind() => {
                    if started.elapsed() >= timeout {
                        return Err(StorageError::LockTimeout {
                            path: path.to_owned(),
                            timeout,
                        });
                    }
                    std::thread::sleep(RETRY_EVERY);
                }
                Err(source) => {
                    return Err(StorageError::Io {
                        action: "cannot lock",
                        path: path.to_owned(),
                        source,
                    })
                }
            }
        }
    }

    /// Returns the lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ProfileLock {
    fn drop(&mut self) {
        // Closing the descriptor releases the lock as well; unlocking first only makes it
        // immediate. A failure here leaves nothing to clean up.
        let _ = FileExt::unlock(&self.file);
    }
}
