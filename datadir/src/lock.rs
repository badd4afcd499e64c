//! One process per data dir. A server first takes an advisory lock on `<dataDir>/LOCK`,
//! before the engine starts its flush and compaction threads: a second server started by
//! mistake stops with a message instead of compacting a directory another process is
//! writing. (The offline tools open a data dir read-only and need no lock; they only ask
//! whether a server holds it, see [`DataDirLock::is_held`].) The lock goes with the
//! process, so a crash never leaves a stale one behind.

use std::fs::{File, OpenOptions};
use std::path::Path;

use rustix::fs::{flock, FlockOperation};

use crate::DataDirError;

/// Held while the data dir is open; dropping it releases the lock.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock on `<dir>/LOCK` without waiting.
    ///
    /// # Errors
    /// [`DataDirError::Locked`] when another process holds it; [`DataDirError::Io`] when
    /// the file cannot be opened or locked.
    pub fn acquire(dir: &Path) -> Result<DataDirLock, DataDirError> {
        let path = dir.join("LOCK");
        let io = |source| DataDirError::Io {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(DataDirError::Locked {
                path: dir.to_owned(),
            }),
            Err(e) => Err(io(e.into())),
        }
    }

    /// Whether a live process holds the lock on `<dir>/LOCK` now. Creates nothing: a
    /// dir without a `LOCK` file is not held.
    pub fn is_held(dir: &Path) -> bool {
        let Ok(file) = File::open(dir.join("LOCK")) else {
            return false;
        };
        // flock works on a file opened for reading; the test lock is released at once.
        flock(&file, FlockOperation::NonBlockingLockShared)
            .is_err_and(|e| e == rustix::io::Errno::WOULDBLOCK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let d = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(d.path()).unwrap();
        let e = DataDirLock::acquire(d.path()).unwrap_err().to_string();
        assert!(e.contains("in use by another Warren process"), "{e}");
        drop(first);
        DataDirLock::acquire(d.path()).unwrap();
    }
}
