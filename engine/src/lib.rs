//! `warren-engine`: the LSM tree that holds every znode, session and index of Warren.
//!
//! Its one job is to keep ordered byte keys and values, each write stamped with the
//! ZooKeeper zxid as its sequence number, and serve point and range reads at any sequence
//! within retention, in a memory budget fixed by [`EngineOptions`]. It has no log of its
//! own: the server's txn log is the write-ahead log, and [`Engine::persisted_seq`] tells
//! the server where to start replaying it after a crash.
//!
//! Layers, top to bottom: [`WriteBatch`] → memtable → (flush) → L0 SSTables →
//! (leveled compaction) → L1…L6, with a manifest recording which tables are live and a
//! shared, byte-bounded block cache in front of every table read.

#![deny(unsafe_code)]
#![warn(missing_docs)]
// A panic in the engine takes the server down with it, so library code handles every
// failure it can and says why where it cannot (`expect`); tests may unwrap.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod batch;
pub mod cache;
pub mod check;
mod coding;
pub mod compaction;
mod engine;
pub mod error;
pub mod iterator;
pub mod key;
pub mod manifest;
pub mod memtable;
pub mod options;
pub mod sstable;
pub mod stats;
pub mod version;

pub use batch::{BatchOp, WriteBatch};
pub use engine::{Engine, ReadSeq, Snapshot};
pub use error::{EngineError, Result};
pub use iterator::EngineIter;
pub use options::{Compression, EngineOptions};
pub use stats::{EngineStats, LevelStats};
