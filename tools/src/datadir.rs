//! A Warren data dir as the tools see it: `<dataDir>/engine/` (the LSM engine) and
//! `<dataLogDir or dataDir>/wal/` (the txn log). Opening one for reading replays the wal
//! records above the engine's `persisted_seq` through `warren_tree::apply_txn`, exactly as
//! the server does at start-up, so "latest" means what the server would serve. Nothing is
//! flushed: the replayed state lives in the tool's memtable only and the files on disk keep
//! their meaning (the engine does start a new manifest at open, as on every open).
//!
//! Also here: reading the tree at a zxid (nodes, children, ACLs, sessions) and applying a
//! logged txn, shared by `snapshot`, `replay` and `import`.

use std::path::{Path, PathBuf};

use warren_engine::{Engine, EngineOptions, ReadSeq};
use warren_proto::txn::{Txn, TxnHeader};
use warren_proto::{Acl, JVec, Jute};
use warren_tree::{
    apply_txn, children_prefix, meta_key, node_key, write_changes, Node, Outcome, View, NODE_COUNT,
};
use warren_wal::Record;

use crate::error::ToolError;

/// How far back the tools assume the engine keeps versions, when not told: the server's
/// default `warren.retentionTxns`. The engine does not record its horizon on disk, so a
/// read below `last_seq - retention` could miss versions compaction dropped.
pub const DEFAULT_RETENTION_TXNS: u64 = 100_000;

/// Where a data dir's parts are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    /// The engine directory.
    pub engine_dir: PathBuf,
    /// The wal directory (it may not exist: a dir whose log was purged or never written).
    pub wal_dir: PathBuf,
}

impl DataDir {
    /// Finds the engine and wal of the data dir `dir`; `log_dir` is the dataLogDir when
    /// the wal is not under `dir`.
    ///
    /// # Errors
    /// [`ToolError::Usage`] when `dir` has no `engine/CURRENT`.
    pub fn locate(dir: &Path, log_dir: Option<&Path>) -> Result<DataDir, ToolError> {
        let engine_dir = dir.join("engine");
        if !engine_dir.join("CURRENT").is_file() {
            return Err(ToolError::Usage(format!(
                "{}: not a Warren data dir (no engine/CURRENT)",
                dir.display()
            )));
        }
        Ok(DataDir {
            engine_dir,
            wal_dir: log_dir.unwrap_or(dir).join("wal"),
        })
    }

    /// Opens the engine keeping `retention` txns of history, and replays the wal tail.
    ///
    /// # Errors
    /// [`ToolError::Engine`] when the engine does not open; [`ToolError::Wal`] for a bad
    /// wal record (naming file and offset); [`ToolError::Decode`] for a payload that is not
    /// a txn.
    pub fn open(&self, retention: u64) -> Result<Engine, ToolError> {
        let engine = open_engine(&self.engine_dir, retention)?;
        if self.wal_dir.is_dir() {
            for item in WalRecords::open(&self.wal_dir)? {
                let (path, offset, rec) = item?;
                if rec.seq <= engine.last_seq() {
                    continue;
                }
                let t = decode_logged(&path, offset, &rec.payload)?;
                apply_logged(&engine, &self.engine_dir, &t.header, &t.txn)?;
            }
        }
        Ok(engine)
    }
}

/// Engine options for the tools: the server's defaults, with `retention` txns of history.
pub fn engine_options(retention: u64) -> EngineOptions {
    EngineOptions {
        retention_seqs: retention,
        ..EngineOptions::default()
    }
}

/// Opens (or creates) an engine.
///
/// # Errors
/// [`ToolError::Engine`] naming the directory.
pub fn open_engine(dir: &Path, retention: u64) -> Result<Engine, ToolError> {
    Engine::open(dir, engine_options(retention)).map_err(|e| ToolError::engine(dir, e))
}

/// Decodes a wal payload as a logged ZooKeeper txn.
///
/// # Errors
/// [`ToolError::Decode`] with the record's file and offset.
pub fn decode_logged(
    path: &Path,
    offset: u64,
    payload: &[u8],
) -> Result<warren_proto::txn::LoggedTxn, ToolError> {
    warren_proto::txn::LoggedTxn::decode(payload).map_err(|source| ToolError::Decode {
        path: path.to_owned(),
        offset,
        source,
    })
}

/// Applies one txn to the engine as the server does: through `apply_txn`, its changes
/// written as one batch at the txn's zxid (nothing is written when it changes nothing).
///
/// # Errors
/// [`ToolError::Engine`]/[`ToolError::Tree`] naming `engine_dir`.
pub fn apply_logged(
    engine: &Engine,
    engine_dir: &Path,
    hdr: &TxnHeader,
    txn: &Txn,
) -> Result<Outcome, ToolError> {
    let mut view = View::new(engine, None);
    let mut events = Vec::new();
    let out =
        apply_txn(&mut view, hdr, txn, &mut events).map_err(|e| ToolError::tree(engine_dir, e))?;
    let kv = view.take_changes();
    if !kv.is_empty() {
        write_changes(engine, hdr.zxid, &kv).map_err(|e| ToolError::tree(engine_dir, e))?;
    }
    Ok(out)
}

/// Whether an outcome (or any part of a multi) failed.
pub fn failed(o: &Outcome) -> bool {
    match o {
        Outcome::Failed(_) => true,
        Outcome::Multi(v) => v.iter().any(failed),
        _ => false,
    }
}

/// Every record of a wal dir, in seq order, with its file and offset. Read-only: no lock
/// is taken and nothing is repaired, so it is safe beside a running server.
pub struct WalRecords {
    segments: std::vec::IntoIter<(u64, PathBuf)>,
    current: Option<(PathBuf, warren_wal::SegmentReader)>,
}

impl WalRecords {
    /// Lists the segments of `dir`.
    ///
    /// # Errors
    /// [`ToolError::Wal`] when the directory cannot be listed.
    pub fn open(dir: &Path) -> Result<WalRecords, ToolError> {
        Ok(WalRecords {
            segments: warren_wal::list_segments(dir)?.into_iter(),
            current: None,
        })
    }
}

impl Iterator for WalRecords {
    type Item = Result<(PathBuf, u64, Record), ToolError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((path, reader)) = &mut self.current {
                match reader.next() {
                    Some(Ok((off, rec))) => return Some(Ok((path.clone(), off, rec))),
                    Some(Err(e)) => {
                        self.current = None;
                        self.segments = Vec::new().into_iter();
                        return Some(Err(e.into()));
                    }
                    None => self.current = None,
                }
            }
            let (_, path) = self.segments.next()?;
            match warren_wal::SegmentReader::open(&path) {
                Ok(r) => self.current = Some((path, r)),
                Err(e) => {
                    self.segments = Vec::new().into_iter();
                    return Some(Err(e.into()));
                }
            }
        }
    }
}

/// Reads of the tree at one zxid.
pub struct TreeAt<'a> {
    /// The engine.
    pub engine: &'a Engine,
    /// Its directory, for messages.
    pub dir: &'a Path,
    /// The zxid read at.
    pub zxid: u64,
}

impl<'a> TreeAt<'a> {
    /// Checks that `at` (default: the latest zxid) is readable.
    ///
    /// # Errors
    /// [`ToolError::TooOld`] below the retention window, [`ToolError::TooNew`] above the
    /// last zxid.
    pub fn new(engine: &'a Engine, dir: &'a Path, at: Option<u64>) -> Result<Self, ToolError> {
        let last = engine.last_seq();
        let zxid = at.unwrap_or(last);
        if zxid > last {
            return Err(ToolError::TooNew {
                requested: zxid,
                last,
            });
        }
        let oldest = engine.oldest_readable_seq();
        if zxid < oldest {
            return Err(ToolError::TooOld {
                requested: zxid,
                oldest,
            });
        }
        Ok(TreeAt { engine, dir, zxid })
    }

    fn at(&self) -> ReadSeq {
        ReadSeq::At(self.zxid)
    }

    fn err(&self, e: warren_engine::EngineError) -> ToolError {
        ToolError::engine(self.dir, e)
    }

    fn corrupt(&self, key: &[u8], e: warren_tree::TreeError) -> ToolError {
        ToolError::corrupt(
            self.dir,
            0,
            format!("record under key {:?}: {e}", String::from_utf8_lossy(key)),
        )
    }

    /// A node.
    ///
    /// # Errors
    /// Engine failures; a record that does not decode.
    pub fn node(&self, path: &str) -> Result<Option<Node>, ToolError> {
        let k = node_key(path);
        match self.engine.get(&k, self.at()).map_err(|e| self.err(e))? {
            None => Ok(None),
            Some(b) => Node::decode(&b).map(Some).map_err(|e| self.corrupt(&k, e)),
        }
    }

    /// The children of `path`, names and nodes, in key (byte) order.
    ///
    /// # Errors
    /// As [`TreeAt::node`].
    pub fn children(&self, path: &str) -> Result<Vec<(String, Node)>, ToolError> {
        let prefix = children_prefix(path);
        let mut out = Vec::new();
        for kv in self
            .engine
            .scan_prefix(&prefix, self.at())
            .map_err(|e| self.err(e))?
        {
            let (k, v) = kv.map_err(|e| self.err(e))?;
            let name = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            out.push((name, Node::decode(&v).map_err(|e| self.corrupt(&k, e))?));
        }
        Ok(out)
    }

    /// An ACL list by id.
    ///
    /// # Errors
    /// Engine failures; a missing or undecodable ACL record.
    pub fn acl(&self, id: u64) -> Result<Vec<Acl>, ToolError> {
        let k = warren_tree::acl_key(id);
        let b = self
            .engine
            .get(&k, self.at())
            .map_err(|e| self.err(e))?
            .ok_or_else(|| ToolError::corrupt(self.dir, 0, format!("ACL id {id:#x} is missing")))?;
        JVec::<Acl>::from_bytes(&b)
            .map(|v| v.0)
            .map_err(|e| ToolError::corrupt(self.dir, 0, format!("ACL id {id:#x}: {e}")))
    }

    /// The node counter.
    ///
    /// # Errors
    /// Engine failures.
    pub fn node_count(&self) -> Result<i64, ToolError> {
        let b = self
            .engine
            .get(&meta_key(NODE_COUNT), self.at())
            .map_err(|e| self.err(e))?;
        Ok(b.and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map_or(0, i64::from_le_bytes))
    }

    /// Sessions: id and timeout, in id order.
    ///
    /// # Errors
    /// Engine failures.
    pub fn sessions(&self) -> Result<Vec<(i64, i32)>, ToolError> {
        let mut out = Vec::new();
        for kv in self
            .engine
            .scan_prefix(b"s", self.at())
            .map_err(|e| self.err(e))?
        {
            let (k, v) = kv.map_err(|e| self.err(e))?;
            out.extend(warren_tree::session_entry(&k, &v));
        }
        Ok(out)
    }
}
