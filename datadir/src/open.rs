//! Opening a data dir: for the server, which owns it, or for a tool, which reads it.

use std::path::Path;

use warren_engine::{Engine, EngineOptions};
use warren_wal::{Wal, WalOptions};

use crate::lock::DataDirLock;
use crate::records::{from_open_log, WalRecords};
use crate::replay::{replay, Replayed};
use crate::{DataDir, DataDirError};

/// A data dir opened for serving: the engine caught up with the log.
pub struct Opened {
    /// Held for as long as the server runs.
    pub lock: DataDirLock,
    pub engine: Engine,
    pub wal: Wal,
    /// The secret session passwords derive from.
    pub secret: [u8; 16],
    /// The highest zxid in the engine or the log.
    pub last_zxid: u64,
    /// What recovery replayed.
    pub replayed: Replayed,
}

/// An engine opened by a tool, with the data dir's lock held until it is dropped.
pub struct Reading {
    pub engine: Engine,
    _lock: DataDirLock,
}

impl Reading {
    /// Stops the engine's background work, then releases the lock.
    ///
    /// # Errors
    /// The engine's, when its background work failed.
    pub fn close(self) -> Result<(), warren_engine::EngineError> {
        self.engine.close()
    }
}

impl std::ops::Deref for Reading {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        &self.engine
    }
}

/// Engine options for the tools: the defaults, with `retention` txns of history.
pub fn engine_options(retention: u64) -> EngineOptions {
    EngineOptions {
        retention_seqs: retention,
        ..EngineOptions::default()
    }
}

/// Opens (or creates) an engine with the tools' options.
///
/// # Errors
/// [`DataDirError::Engine`] naming the directory.
pub fn open_engine(dir: &Path, retention: u64) -> Result<Engine, DataDirError> {
    Engine::open(dir, engine_options(retention)).map_err(|source| DataDirError::Engine {
        path: dir.to_owned(),
        source,
    })
}

impl DataDir {
    /// Opens the data dir for the server: creates what is missing, opens the engine and
    /// the log (which takes the log's lock, verifies it and repairs a torn tail), lays
    /// down the initial tree on a new dir, and replays the log records above the
    /// engine's persisted zxid.
    ///
    /// # Errors
    /// [`DataDirError`] naming what could not be created, opened, read or replayed.
    pub fn open_for_server(
        &self,
        engine_opts: EngineOptions,
        wal_opts: WalOptions,
    ) -> Result<Opened, DataDirError> {
        for dir in [&self.data_dir, &self.wal_dir] {
            std::fs::create_dir_all(dir).map_err(|source| DataDirError::Io {
                path: dir.clone(),
                source,
            })?;
        }
        let lock = DataDirLock::acquire(&self.data_dir)?;
        let engine =
            Engine::open(&self.engine_dir, engine_opts).map_err(|source| DataDirError::Engine {
                path: self.engine_dir.clone(),
                source,
            })?;
        // Only what replay reads back is verified record by record (and the last
        // segment): start-up does not grow with the retained history.
        let wal_opts = WalOptions {
            verify_from: engine.persisted_seq() + 1,
            ..wal_opts
        };
        let wal = Wal::open(&self.wal_dir, wal_opts).map_err(|source| DataDirError::Wal {
            path: self.wal_dir.clone(),
            source,
        })?;
        let secret = warren_tree::bootstrap(&engine).map_err(|source| DataDirError::Tree {
            path: self.engine_dir.clone(),
            source,
        })?;
        let from = engine.persisted_seq() + 1;
        let replayed = replay(&engine, &self.wal_dir, from_open_log(&wal, from)?, None)?;
        let last_zxid = engine.last_seq().max(wal.last_seq());
        Ok(Opened {
            lock,
            engine,
            wal,
            secret,
            last_zxid,
            replayed,
        })
    }

    /// Opens the engine keeping `retention` txns of history, and replays the log tail
    /// read-only (the log is neither locked nor repaired), so "latest" means what the
    /// server would serve. Nothing is flushed: the replayed state lives in this process's
    /// memtable only. The data dir's lock is held while the engine is open, so a tool
    /// refuses to run beside a live server.
    ///
    /// # Errors
    /// [`DataDirError::Locked`] when a server (or another tool) has the dir open;
    /// [`DataDirError`] for the engine, a bad log record (naming file and offset), or a
    /// payload that is not a txn.
    pub fn open_read(&self, retention: u64) -> Result<Reading, DataDirError> {
        let lock = DataDirLock::acquire(&self.data_dir)?;
        let engine = open_engine(&self.engine_dir, retention)?;
        if self.wal_dir.is_dir() {
            let records = WalRecords::open(&self.wal_dir)?;
            replay(&engine, &self.wal_dir, records, None)?;
        }
        Ok(Reading {
            engine,
            _lock: lock,
        })
    }
}
