//! The one error type of the tools library: every failure names the file it concerns and,
//! when it is about the bytes of that file, the offset where the trouble starts.

use std::path::{Path, PathBuf};

use warren_proto::JuteError;

/// Why a tool could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The file system refused an operation on `path`.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing the report (usually to stdout) failed.
    #[error("writing output: {0}")]
    Output(#[source] std::io::Error),
    /// The file does not start with the magic of any format the command reads.
    #[error("{}: not a {expected} file (magic {found})", path.display())]
    BadMagic {
        path: PathBuf,
        expected: &'static str,
        found: String,
    },
    /// The file is of a known format that this command does not handle (yet).
    #[error("{}: {kind} files are not supported by this command", path.display())]
    Unsupported { path: PathBuf, kind: &'static str },
    /// The bytes at `offset` do not decode as the format says they should.
    #[error("{}: offset {offset}: {reason}", path.display())]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    /// A jute record at `offset` does not decode.
    #[error("{}: offset {offset}: {source}", path.display())]
    Decode {
        path: PathBuf,
        offset: u64,
        #[source]
        source: JuteError,
    },
    /// `txnlog verify` found damage; the report has already been printed.
    #[error("{bad} bad record(s) found")]
    VerifyFailed { bad: usize },
    /// `txnlog chop` was asked for a zxid the log does not contain.
    #[error("{}: the log does not contain zxid {zxid:#x}", path.display())]
    ZxidNotFound { path: PathBuf, zxid: i64 },
    /// The command line named something that cannot work (an existing output file, an empty dir …).
    #[error("{0}")]
    Usage(String),
    /// The user answered "Abort" to a recovery question.
    #[error("recovery aborted; nothing was written")]
    Aborted,
    /// Warren's storage engine failed on the data dir at `path`.
    #[error("{}: {source}", path.display())]
    Engine {
        path: PathBuf,
        #[source]
        source: warren_engine::EngineError,
    },
    /// Warren's txn log failed (its message names the file and offset).
    #[error(transparent)]
    Wal(#[from] warren_wal::WalError),
    /// A Warren data dir could not be opened or replayed (the message names the file).
    #[error(transparent)]
    DataDir(#[from] warren_datadir::DataDirError),
    /// A record in Warren's engine does not decode, or the engine failed under the tree.
    #[error("{}: {source}", path.display())]
    Tree {
        path: PathBuf,
        #[source]
        source: warren_tree::TreeError,
    },
    /// A zxid older than the engine's retention window.
    #[error("zxid {requested:#x} is outside the retention window: the oldest readable zxid is {oldest:#x}")]
    TooOld { requested: u64, oldest: u64 },
    /// A zxid newer than anything the data dir holds.
    #[error("zxid {requested:#x} is beyond the last zxid {last:#x} of the data dir")]
    TooNew { requested: u64, last: u64 },
    /// `check` found damage; the report has already been printed.
    #[error("{faults} fault(s) found")]
    CheckFailed { faults: usize },
}

impl ToolError {
    /// Wraps an I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> ToolError {
        ToolError::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// Wraps an engine error on the engine dir `path`, turning a too-old read into
    /// [`ToolError::TooOld`].
    pub fn engine(path: &Path, source: warren_engine::EngineError) -> ToolError {
        match source {
            warren_engine::EngineError::SeqTooOld { requested, oldest } => {
                ToolError::TooOld { requested, oldest }
            }
            source => ToolError::Engine {
                path: path.to_owned(),
                source,
            },
        }
    }

    /// Wraps a tree error on the engine dir `path`.
    pub fn tree(path: &Path, source: warren_tree::TreeError) -> ToolError {
        match source {
            warren_tree::TreeError::Engine(e) => ToolError::engine(path, e),
            source => ToolError::Tree {
                path: path.to_owned(),
                source,
            },
        }
    }

    /// A corruption report for `path` at `offset`.
    pub fn corrupt(path: &Path, offset: u64, reason: impl Into<String>) -> ToolError {
        ToolError::Corrupt {
            path: path.to_owned(),
            offset,
            reason: reason.into(),
        }
    }
}
