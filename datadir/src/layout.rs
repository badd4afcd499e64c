//! Where the parts of a data dir live.

use std::path::{Path, PathBuf};

use crate::DataDirError;

/// The parts of one data dir. Making one touches no file; [`DataDir::locate`] also checks
/// that an engine is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    /// `dataDir`: the engine and `myid` live here.
    pub data_dir: PathBuf,
    /// The engine directory, `<dataDir>/engine`.
    pub engine_dir: PathBuf,
    /// The txn log directory, `<dataLogDir or dataDir>/wal`. It may not exist: a dir whose
    /// log was purged or never written.
    pub wal_dir: PathBuf,
}

impl DataDir {
    /// The layout of `data_dir`, with the log under `log_dir` when it is given
    /// (ZooKeeper's `dataLogDir`).
    pub fn new(data_dir: &Path, log_dir: Option<&Path>) -> DataDir {
        DataDir {
            data_dir: data_dir.to_owned(),
            engine_dir: data_dir.join("engine"),
            wal_dir: log_dir.unwrap_or(data_dir).join("wal"),
        }
    }

    /// The layout of an existing data dir, for the tools.
    ///
    /// # Errors
    /// [`DataDirError::NotADataDir`] when `dir` has no `engine/CURRENT`.
    pub fn locate(dir: &Path, log_dir: Option<&Path>) -> Result<DataDir, DataDirError> {
        let dd = DataDir::new(dir, log_dir);
        if !dd.engine_dir.join("CURRENT").is_file() {
            return Err(DataDirError::NotADataDir {
                path: dir.to_owned(),
                reason: "no engine/CURRENT".into(),
            });
        }
        Ok(dd)
    }

    /// The `myid` file, which names this server in an ensemble.
    pub fn myid_path(&self) -> PathBuf {
        self.data_dir.join("myid")
    }

    /// The server id from `myid`, or `None` when there is no such file (standalone).
    ///
    /// # Errors
    /// [`DataDirError::BadMyid`] when the file exists but does not hold a number from 1
    /// to 255 (ZooKeeper's range: the id is the top byte of every session id);
    /// [`DataDirError::Io`] when it cannot be read.
    pub fn myid(&self) -> Result<Option<u8>, DataDirError> {
        let path = self.myid_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(DataDirError::Io { path, source }),
        };
        match text.trim().parse::<u8>() {
            Ok(id) if id > 0 => Ok(Some(id)),
            _ => Err(DataDirError::BadMyid {
                path,
                reason: format!(
                    "holds {:?}; it must hold this server's id, a number from 1 to 255",
                    text.trim()
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn myid_is_optional_and_checked() {
        let d = tempfile::tempdir().unwrap();
        let dd = DataDir::new(d.path(), None);
        assert_eq!(dd.myid().unwrap(), None);
        std::fs::write(dd.myid_path(), "3\n").unwrap();
        assert_eq!(dd.myid().unwrap(), Some(3));
        std::fs::write(dd.myid_path(), "three").unwrap();
        let e = dd.myid().unwrap_err().to_string();
        assert!(e.contains("myid") && e.contains("three"), "{e}");
        assert_eq!(
            DataDir::new(d.path(), Some(Path::new("/logs"))).wal_dir,
            Path::new("/logs/wal")
        );
    }
}
