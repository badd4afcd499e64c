//! zxids from Raft log ids, in ZooKeeper's shape: `epoch << 32 | counter`.
//!
//! The epoch is the Raft term; the counter is the entry's distance from the first entry
//! of its term (the blank entry a new leader commits, counter 0, so the first txn of a
//! term has counter 1, as in ZooKeeper). Both depend only on the committed log, so every
//! server gives a txn the same zxid, and zxids only grow along the log.
//!
//! Where each term starts is learned when its first entry is applied and kept in
//! `raft/terms.jsonl` (written before any txn of that term reaches the engine), so the
//! engine's last zxid maps back to a log id after a restart.

use std::collections::BTreeMap;

use openraft::CommittedLeaderId;
use serde::{Deserialize, Serialize};

use crate::meta::MetaDir;
use crate::{LogId, ReplicationError};

const TERMS: &str = "terms.jsonl";

/// The first entry of one term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermStart {
    pub term: u64,
    pub node: u64,
    pub index: u64,
}

/// Where every term seen in the applied log starts.
#[derive(Debug, Clone, Default)]
pub struct TermStarts {
    starts: BTreeMap<u64, TermStart>,
}

/// Why a log id has no zxid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZxidError {
    #[error("term {0} does not fit the 32-bit epoch of a zxid")]
    TermTooLarge(u64),
    #[error("entry {index} is {counter} entries into term {term}, past a zxid's 32-bit counter")]
    CounterOverflow { term: u64, index: u64, counter: u64 },
    #[error("the start of term {0} is not known")]
    UnknownTerm(u64),
}

impl TermStarts {
    /// The starts recorded in `meta`.
    ///
    /// # Errors
    /// When the file cannot be read or parsed.
    pub fn load(meta: &MetaDir) -> Result<TermStarts, ReplicationError> {
        let starts = meta
            .read_lines::<TermStart>(TERMS)?
            .into_iter()
            .map(|s| (s.term, s))
            .collect();
        Ok(TermStarts { starts })
    }

    /// Records `log_id` as the first entry of its term if its term is new; durably, so
    /// call it before the entry's txn is applied.
    ///
    /// # Errors
    /// When the record cannot be written.
    pub fn observe(&mut self, meta: &MetaDir, log_id: &LogId) -> Result<(), ReplicationError> {
        let term = log_id.leader_id.term;
        if self.starts.contains_key(&term) {
            return Ok(());
        }
        let start = TermStart {
            term,
            node: log_id.leader_id.node_id,
            index: log_id.index,
        };
        meta.append_line(TERMS, &start)?;
        self.starts.insert(term, start);
        Ok(())
    }

    /// The zxid of the entry `log_id`, whose term must be known.
    ///
    /// # Errors
    /// [`ZxidError`] when the term is unknown or the numbers do not fit.
    pub fn zxid_of(&self, log_id: &LogId) -> Result<i64, ZxidError> {
        let term = log_id.leader_id.term;
        let start = self.starts.get(&term).ok_or(ZxidError::UnknownTerm(term))?;
        zxid(term, log_id.index, start.index)
    }

    /// The zxid the entry at `index` of `term` would get, when the term's start is known.
    pub fn zxid_at(&self, term: u64, index: u64) -> Option<i64> {
        let start = self.starts.get(&term)?;
        zxid(term, index, start.index).ok()
    }

    /// The log id of the entry whose zxid is `zxid`; `None` for zxids of no term (0 and
    /// the initial tree) or of a term never seen.
    pub fn log_id_of(&self, zxid: i64) -> Option<LogId> {
        let zxid = u64::try_from(zxid).ok()?;
        let term = zxid >> 32;
        let start = self.starts.get(&term)?;
        Some(LogId::new(
            CommittedLeaderId::new(term, start.node),
            start.index + (zxid & 0xffff_ffff),
        ))
    }
}

fn zxid(term: u64, index: u64, start: u64) -> Result<i64, ZxidError> {
    if term > i32::MAX as u64 {
        return Err(ZxidError::TermTooLarge(term));
    }
    let counter = index.saturating_sub(start);
    if counter > u64::from(u32::MAX) {
        return Err(ZxidError::CounterOverflow {
            term,
            index,
            counter,
        });
    }
    Ok(((term << 32) | counter) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(term: u64, node: u64, index: u64) -> LogId {
        LogId::new(CommittedLeaderId::new(term, node), index)
    }

    #[test]
    fn zxids_grow_along_the_log_and_map_back_after_a_restart() {
        let d = tempfile::tempdir().unwrap();
        let meta = MetaDir::open(d.path()).unwrap();
        let mut t = TermStarts::load(&meta).unwrap();
        let log = [
            id(1, 1, 1),
            id(1, 1, 2),
            id(1, 1, 3),
            id(3, 2, 4),
            id(3, 2, 5),
        ];
        let mut last = 0;
        for l in &log {
            t.observe(&meta, l).unwrap();
            let z = t.zxid_of(l).unwrap();
            assert!(z > last);
            last = z;
        }
        assert_eq!(t.zxid_of(&log[1]).unwrap(), 1 << 32 | 1);
        assert_eq!(t.zxid_of(&log[4]).unwrap(), 3 << 32 | 1);
        let reopened = TermStarts::load(&meta).unwrap();
        for l in &log {
            assert_eq!(reopened.log_id_of(t.zxid_of(l).unwrap()), Some(*l));
        }
        assert_eq!(reopened.log_id_of(0), None);
        assert_eq!(reopened.log_id_of(5), None, "term 0 holds no txn");
    }
}
