//! zxids from Raft log ids, in ZooKeeper's shape: `epoch << 32 | counter`.
//!
//! The epoch is the Raft term. An entry carries up to [`TXNS_PER_ENTRY`] txns, and the
//! counter of the txn at position `pos` of the entry `offset` entries after the first
//! of its term (the blank entry a new leader commits, which carries none) is
//! `(offset − 1) × TXNS_PER_ENTRY + pos + 1`: the first txn of a term has counter 1, as
//! in ZooKeeper, and zxids only grow along the log, with a gap wherever an entry holds
//! fewer txns than it could. All of it depends only on the committed log, so every
//! server gives a txn the same zxid.
//!
//! Where each term starts is learned when its first entry is applied and kept in
//! `raft/terms.jsonl` (written before any txn of that term reaches the engine), so the
//! engine's last zxid maps back to a place in the log after a restart.

use std::collections::BTreeMap;

use openraft::CommittedLeaderId;
use serde::{Deserialize, Serialize};

use crate::meta::MetaDir;
use crate::{LogId, ReplicationError};

pub(crate) const TERMS: &str = "terms.jsonl";

/// The most txns one entry carries (a power of two, so zxids split cleanly).
pub const TXNS_PER_ENTRY: usize = 256;

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
    #[error("entry {index} of term {term} is past what a zxid's 32-bit counter can number")]
    CounterOverflow { term: u64, index: u64 },
    #[error("entry {index} of term {term} holds more than {TXNS_PER_ENTRY} txns")]
    TooManyTxns { term: u64, index: u64 },
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

    /// Every term start, oldest first (what a snapshot carries).
    pub fn all(&self) -> Vec<TermStart> {
        self.starts.values().copied().collect()
    }

    /// Replaces every start with `starts` (those of an installed snapshot), durably.
    ///
    /// # Errors
    /// When the file cannot be replaced.
    pub fn replace(
        &mut self,
        meta: &MetaDir,
        starts: &[TermStart],
    ) -> Result<(), ReplicationError> {
        meta.replace_lines(TERMS, starts)?;
        self.starts = starts.iter().map(|s| (s.term, *s)).collect();
        Ok(())
    }

    /// The zxid of the txn at `pos` in the entry `log_id`, whose term must be known.
    ///
    /// # Errors
    /// [`ZxidError`] when the term is unknown or the numbers do not fit.
    pub fn zxid_of(&self, log_id: &LogId, pos: usize) -> Result<i64, ZxidError> {
        let term = log_id.leader_id.term;
        let start = self.starts.get(&term).ok_or(ZxidError::UnknownTerm(term))?;
        zxid(term, log_id.index, start.index, pos)
    }

    /// The zxid the txn at `pos` of the entry at `index` of `term` would get, when the
    /// term's start is known.
    pub fn zxid_at(&self, term: u64, index: u64, pos: usize) -> Option<i64> {
        let start = self.starts.get(&term)?;
        zxid(term, index, start.index, pos).ok()
    }

    /// Where the log stands when the engine's last txn is `zxid`: the last entry whose
    /// txns the engine surely holds all of (the one before the entry of `zxid`, since
    /// the engine may hold only part of an entry). `None` for zxids of no term (0 and
    /// the initial tree) or of a term never seen.
    pub fn applied_through(&self, zxid: i64) -> Option<LogId> {
        let zxid = u64::try_from(zxid).ok()?;
        let term = zxid >> 32;
        let start = self.starts.get(&term)?;
        let counter = zxid & 0xffff_ffff;
        let entries_before = counter.saturating_sub(1) / TXNS_PER_ENTRY as u64;
        Some(LogId::new(
            CommittedLeaderId::new(term, start.node),
            start.index + entries_before,
        ))
    }
}

fn zxid(term: u64, index: u64, start: u64, pos: usize) -> Result<i64, ZxidError> {
    if term > i32::MAX as u64 {
        return Err(ZxidError::TermTooLarge(term));
    }
    if pos >= TXNS_PER_ENTRY {
        return Err(ZxidError::TooManyTxns { term, index });
    }
    let offset = index.saturating_sub(start).max(1);
    let counter = (offset - 1)
        .checked_mul(TXNS_PER_ENTRY as u64)
        .map(|c| c + pos as u64 + 1)
        .filter(|&c| c <= u64::from(u32::MAX))
        .ok_or(ZxidError::CounterOverflow { term, index })?;
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
        // Term 1 starts at index 1 (a blank), term 3 at index 4.
        let log = [
            id(1, 1, 1),
            id(1, 1, 2),
            id(1, 1, 3),
            id(3, 2, 4),
            id(3, 2, 5),
        ];
        for l in &log {
            t.observe(&meta, l).unwrap();
        }
        let mut last = 0;
        for l in log.iter().filter(|l| l.index != 1 && l.index != 4) {
            for pos in [0, 1, TXNS_PER_ENTRY - 1] {
                let z = t.zxid_of(l, pos).unwrap();
                assert!(z > last, "{z:#x} after {last:#x}");
                last = z;
            }
        }
        assert_eq!(t.zxid_of(&log[1], 0).unwrap(), 1 << 32 | 1);
        assert_eq!(t.zxid_of(&log[1], 1).unwrap(), 1 << 32 | 2);
        assert_eq!(
            t.zxid_of(&log[2], 0).unwrap(),
            1 << 32 | (TXNS_PER_ENTRY as i64 + 1)
        );
        assert_eq!(t.zxid_of(&log[4], 0).unwrap(), 3 << 32 | 1);
        assert!(t.zxid_of(&log[4], TXNS_PER_ENTRY).is_err());
        let reopened = TermStarts::load(&meta).unwrap();
        // Part of an entry applied: the entry before it is the one applied in full.
        for (l, before) in [(&log[1], &log[0]), (&log[2], &log[1]), (&log[4], &log[3])] {
            for pos in [0, 5, TXNS_PER_ENTRY - 1] {
                let z = t.zxid_of(l, pos).unwrap();
                assert_eq!(reopened.applied_through(z), Some(*before));
            }
        }
        assert_eq!(reopened.applied_through(0), None);
        assert_eq!(reopened.applied_through(5), None, "term 0 holds no txn");
    }
}
