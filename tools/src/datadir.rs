//! Reading the tree of a Warren data dir at a zxid (nodes, children, ACLs, sessions), for
//! `snapshot`, `replay` and `import`. Where the data dir's parts live, opening it and
//! replaying its log are `warren-datadir`'s job, shared with the server.

use std::path::Path;

use warren_engine::{Engine, ReadSeq};
use warren_proto::txn::LoggedTxn;
use warren_proto::{Acl, JVec, Jute};
use warren_tree::{children_prefix, meta_key, node_key, Node, Outcome, NODE_COUNT, SESSIONS};

use crate::error::ToolError;

/// How far back the tools assume the engine keeps versions, when not told: the server's
/// default `warren.retentionTxns`. The engine does not record its horizon on disk, so a
/// read below `last_seq - retention` could miss versions compaction dropped.
pub const DEFAULT_RETENTION_TXNS: u64 = 100_000;

/// Applies one txn to the engine as the server does (`warren_tree::apply_committed`).
///
/// # Errors
/// [`ToolError::Engine`]/[`ToolError::Tree`] naming `engine_dir`.
pub fn apply_logged(
    engine: &Engine,
    engine_dir: &Path,
    txn: &LoggedTxn,
) -> Result<Outcome, ToolError> {
    warren_tree::apply_committed(engine, txn)
        .map(|a| a.outcome)
        .map_err(|e| ToolError::tree(engine_dir, e))
}

/// Whether an outcome (or any part of a multi) failed.
pub fn failed(o: &Outcome) -> bool {
    match o {
        Outcome::Failed(_) => true,
        Outcome::Multi(v) => v.iter().any(failed),
        _ => false,
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
            .scan_prefix(&[SESSIONS], self.at())
            .map_err(|e| self.err(e))?
        {
            let (k, v) = kv.map_err(|e| self.err(e))?;
            out.extend(warren_tree::session_entry(&k, &v));
        }
        Ok(out)
    }
}
