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

/// An engine opened read-only by a tool (see [`DataDir::open_read`]).
pub struct Reading {
    pub engine: Engine,
}

impl Reading {
    /// Closes the engine.
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
        // Only what replay reads back is verified record by record (and the last
        // segment): start-up does not grow with the retained history.
        let mut opened = self.open_owned(engine_opts, |engine| WalOptions {
            verify_from: engine.persisted_seq() + 1,
            ..wal_opts
        })?;
        let from = opened.engine.persisted_seq() + 1;
        opened.replayed = replay(
            &opened.engine,
            &self.wal_dir,
            from_open_log(&opened.wal, from)?,
            None,
        )?;
        opened.last_zxid = opened.engine.last_seq().max(opened.wal.last_seq());
        Ok(opened)
    }

    /// Opens the data dir of an ensemble member: like [`DataDir::open_for_server`], but
    /// nothing is replayed, because the log holds Raft entries, committed or not; the
    /// member's Raft re-applies the committed ones above the engine's persisted zxid
    /// once it knows the commit point. `replayed` is empty and `last_zxid` is the
    /// engine's.
    ///
    /// # Errors
    /// [`DataDirError`] naming what could not be created or opened.
    pub fn open_for_member(
        &self,
        engine_opts: EngineOptions,
        wal_opts: WalOptions,
    ) -> Result<Opened, DataDirError> {
        self.open_owned(engine_opts, |_| wal_opts)
    }

    /// What both server opens share: the dirs, the lock, the engine, the log (with the
    /// options `wal_opts` makes from the open engine) and the initial tree; nothing
    /// replayed, `last_zxid` the engine's.
    fn open_owned(
        &self,
        engine_opts: EngineOptions,
        wal_opts: impl FnOnce(&Engine) -> WalOptions,
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
        let wal =
            Wal::open(&self.wal_dir, wal_opts(&engine)).map_err(|source| DataDirError::Wal {
                path: self.wal_dir.clone(),
                source,
            })?;
        let secret = warren_tree::bootstrap(&engine).map_err(|source| DataDirError::Tree {
            path: self.engine_dir.clone(),
            source,
        })?;
        let last_zxid = engine.last_seq();
        Ok(Opened {
            lock,
            engine,
            wal,
            secret,
            last_zxid,
            replayed: Replayed::default(),
        })
    }

    /// Opens the data dir read-only, keeping `retention` txns of history, and replays
    /// the log tail (the log is neither locked nor repaired), so "latest" means what the
    /// server would serve. Nothing is written in the data dir: the replayed state lives
    /// in this process's memtable only, so a tool can read beside a running server.
    ///
    /// A live server may compact a table away or purge a log segment between the moment
    /// this reads the manifest and the moment it opens the file; while a server holds
    /// the dir, such an open is tried again (a few times, briefly).
    ///
    /// # Errors
    /// [`DataDirError`] for the engine, a bad log record (naming file and offset), a gap
    /// in the log, or a payload that is not a txn.
    pub fn open_read(&self, retention: u64) -> Result<Reading, DataDirError> {
        let mut attempt = 0u32;
        loop {
            match self.try_open_read(retention) {
                Ok(r) => return Ok(r),
                Err(e) if attempt < READ_RETRIES && DataDirLock::is_held(&self.data_dir) => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "the live server changed the data dir while it was opened; again");
                    std::thread::sleep(std::time::Duration::from_millis(20 * u64::from(attempt)));
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn try_open_read(&self, retention: u64) -> Result<Reading, DataDirError> {
        let engine = Engine::open_read_only(&self.engine_dir, engine_options(retention)).map_err(
            |source| DataDirError::Engine {
                path: self.engine_dir.clone(),
                source,
            },
        )?;
        if self.wal_dir.is_dir() {
            let records = WalRecords::open(&self.wal_dir)?;
            replay(&engine, &self.wal_dir, records, None)?;
        }
        Ok(Reading { engine })
    }
}

/// How often [`DataDir::open_read`] tries again beside a live server.
const READ_RETRIES: u32 = 8;
