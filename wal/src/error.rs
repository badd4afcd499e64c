//! The one error type of the crate.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything that can go wrong in the log.
///
/// `Corrupt` is deliberately separate from `Io`: it means the bytes on disk are not what
/// the log wrote, and no retry will help; an operator has to look (see `verify_dir`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalError {
    /// An operating-system call failed.
    #[error("wal: cannot {op} {path}: {source}")]
    Io {
        /// What the log was doing ("open", "write", "fsync", ...).
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A segment file holds bytes that fail verification somewhere other than a torn tail.
    #[error("wal: corrupt segment {file} at offset {offset}: {reason}")]
    Corrupt {
        /// The segment file.
        file: PathBuf,
        /// Byte offset of the bad header or record frame in that file.
        offset: u64,
        /// What is wrong there.
        reason: String,
    },
    /// `append` was called with a seq not above the last appended one.
    #[error("wal: seq {seq} is not above the last appended seq {last}")]
    SeqNotIncreasing {
        /// The rejected seq.
        seq: u64,
        /// The highest seq already appended.
        last: u64,
    },
    /// A payload above [`crate::MAX_PAYLOAD`].
    #[error("wal: record payload of {len} bytes exceeds the maximum of {max}")]
    RecordTooLarge {
        /// Payload size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Another process (or another `Wal` in this one) has the directory open for writing.
    #[error("wal: directory {dir} is locked by another writer")]
    Locked {
        /// The wal directory.
        dir: PathBuf,
    },
    /// An earlier write or fsync failed. After a failed fsync the kernel may have dropped
    /// the dirty pages, so retrying could report durability that is not there: the log
    /// refuses all further appends until it is reopened (which re-verifies the files).
    #[error("wal: stopped after a failed {op} of {path}: {source}")]
    Failed {
        /// The failed operation.
        op: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The original error, shared by every caller that observes it.
        #[source]
        source: Arc<io::Error>,
    },
}

impl WalError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        WalError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(
        file: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
    ) -> Self {
        WalError::Corrupt {
            file: file.into(),
            offset,
            reason: reason.into(),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = WalError> = std::result::Result<T, E>;
