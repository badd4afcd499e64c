//! `warren-datadir`: a Warren data dir, as the server and the tools both see it.
//!
//! A data dir is `<dataDir>/engine/` (the LSM engine), `<dataLogDir or dataDir>/wal/`
//! (the txn log) and, in an ensemble, `<dataDir>/myid`. This crate is the one place that
//! knows that layout, opens the two halves and replays the log into the engine, so the
//! server's start-up and the offline tools cannot drift apart:
//!
//! - [`layout`]: where each part lives ([`DataDir`]), and the `myid` file;
//! - [`lock`]: one process per data dir;
//! - [`records`]: every record of a wal dir, read-only, with its file and offset;
//! - [`replay`]: log records above the engine's persisted zxid, applied through
//!   [`warren_tree::apply_committed`], the same function the live server applies with;
//! - [`open`]: opening for the server (log locked, bootstrapped, replayed) or for a tool
//!   (engine only, log read-only).

#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod layout;
pub mod lock;
pub mod open;
pub mod records;
pub mod replay;

use std::path::PathBuf;

pub use layout::DataDir;
pub use lock::DataDirLock;
pub use open::{engine_options, open_engine, Opened, Reading};
pub use records::{LogRecord, WalRecords};
pub use replay::{replay, Replayed};

/// Why a data dir could not be opened, read or replayed. Every variant names the file
/// or directory, and for bad bytes the offset or zxid, so a person can find them.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// The directory does not hold what a Warren data dir holds.
    #[error("{}: not a Warren data dir ({reason})", path.display())]
    NotADataDir { path: PathBuf, reason: String },
    /// The file system refused an operation.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The storage engine failed.
    #[error("storage engine in {}: {source}", path.display())]
    Engine {
        path: PathBuf,
        #[source]
        source: warren_engine::EngineError,
    },
    /// The txn log failed (its message names the file and offset).
    #[error("txn log in {}: {source}", path.display())]
    Wal {
        path: PathBuf,
        #[source]
        source: warren_wal::WalError,
    },
    /// A record in the engine does not decode, or the engine failed under the tree.
    #[error("applying the txn log to {}: {source}", path.display())]
    Tree {
        path: PathBuf,
        #[source]
        source: warren_tree::TreeError,
    },
    /// A log record whose payload is not a txn.
    #[error("txn log record {zxid:#x} ({at}) does not decode: {source}")]
    BadTxn {
        zxid: u64,
        at: String,
        #[source]
        source: warren_proto::JuteError,
    },
    /// The log does not hold every txn between the engine's state and its end.
    #[error(
        "the txn log is missing zxids {from:#x} to {to:#x} (the next record, {at}, does not \
         follow the engine's state or the record before it): refusing to start rather than \
         serve a partial tree. A log segment or the engine's files may have been lost or \
         copied incompletely. `warren txnlog verify` lists the segments; restore the \
         missing files, or build a data dir that ends before the gap with `warren replay \
         --to-zxid {before:#x}`",
        before = from.saturating_sub(1)
    )]
    Gap { from: u64, to: u64, at: String },
    /// Another process has the data dir open.
    #[error(
        "{} is in use by another Warren process (a running server or tool holds its LOCK); \
         stop that process first, or work on a copy of the directory",
        path.display()
    )]
    Locked { path: PathBuf },
    /// The `myid` file does not hold a server id.
    #[error("{}: {reason}", path.display())]
    BadMyid { path: PathBuf, reason: String },
}
