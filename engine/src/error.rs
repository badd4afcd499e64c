//! Typed errors of the engine.
//!
//! Every error that comes from a file names the file (and the byte offset when it is
//! known), because an operator facing a corrupt data directory needs to know which file
//! to look at; nothing read from disk is ever silently skipped.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// An I/O call on `path` failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file's bytes do not match their checksum or format.
    #[error("corrupt file {path} at offset {offset}: {detail}")]
    Corruption {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damaged block or record.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// `write` was called with a sequence number that is not above `last_seq`.
    #[error("sequence number {seq} is not greater than the last written {last}")]
    SeqNotIncreasing {
        /// The rejected sequence number.
        seq: u64,
        /// The engine's `last_seq` at the time.
        last: u64,
    },
    /// A read asked for a sequence number below `oldest_readable_seq`.
    #[error("sequence {requested} is older than the oldest readable sequence {oldest}")]
    SeqTooOld {
        /// The sequence the read asked for.
        requested: u64,
        /// The oldest sequence that can still be read correctly.
        oldest: u64,
    },
    /// A background flush or compaction failed earlier; the engine refuses writes after it.
    #[error("background work failed: {0}")]
    Background(String),
    /// The engine was closed.
    #[error("engine is closed")]
    Closed,
    /// A flush, compaction or manifest edit on an engine opened read-only.
    #[error("the engine was opened read-only")]
    ReadOnly,
    /// The options are not usable.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
}

impl EngineError {
    /// Builds an [`EngineError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EngineError::Io {
            path: path.into(),
            source,
        }
    }

    /// Builds an [`EngineError::Corruption`] for `path` at `offset`.
    pub(crate) fn corruption(
        path: impl Into<PathBuf>,
        offset: u64,
        detail: impl Into<String>,
    ) -> Self {
        EngineError::Corruption {
            path: path.into(),
            offset,
            detail: detail.into(),
        }
    }

    /// Whether this error reports damaged on-disk data.
    pub fn is_corruption(&self) -> bool {
        matches!(self, EngineError::Corruption { .. })
    }
}
