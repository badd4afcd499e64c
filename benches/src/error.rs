//! The one error type of the benchmarks.
//!
//! Typed rather than `anyhow` so that the `warren` binary can embed the benchmarks and
//! report a failing run the same way as its other subcommands.

use std::path::PathBuf;

/// Everything that can stop a benchmark.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The arguments cannot be run (e.g. zero keys).
    #[error("invalid arguments: {0}")]
    InvalidArgs(String),
    /// A file operation of the benchmark itself (data dirs, /proc, cache dropping).
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The txn log failed.
    #[error(transparent)]
    Wal(#[from] warren_wal::WalError),
    /// Warren's engine failed.
    #[error(transparent)]
    Engine(#[from] warren_engine::EngineError),
    /// The ZooKeeper-protocol load generator failed.
    #[error(transparent)]
    Zk(#[from] crate::zk_bench::ZkBenchError),
    /// fjall failed.
    #[error("fjall: {0}")]
    Fjall(#[from] fjall::Error),
    /// A benchmark thread panicked.
    #[error("benchmark thread panicked: {0}")]
    Panic(String),
    /// A result that shows the engine lost or invented data (e.g. a written key not found).
    #[error("wrong result: {0}")]
    WrongResult(String),
    /// Encoding the report failed.
    #[error("cannot encode the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl BenchError {
    /// Builds a [`BenchError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BenchError::Io {
            path: path.into(),
            source,
        }
    }
}
