//! The read path over one [`SuperVersion`]: point lookups and the merge behind scans.
//!
//! Layers are consulted newest first — the active memtable, the frozen memtables newest
//! first, L0 tables newest first, then one table per deeper level — and the first layer
//! that holds a visible version of a key decides it, tombstone or value. A table whose
//! lowest sequence number is above the read sequence cannot hold a visible version and is
//! skipped without any I/O; deeper levels do not overlap, so each contributes at most one
//! table to a point lookup and one [`LevelIter`] (opening files as it reaches them) to a
//! scan.

use std::ops::Bound;

use super::inner::SuperVersion;
use crate::error::Result;
use crate::iterator::{InternalIterator, LevelIter, MergeIter};
use crate::key::{self, InternalKey};
use crate::memtable::{Lookup, MemtableIter};
use crate::sstable::filter;
use crate::version::{TableFile, NUM_LEVELS};

/// The smallest key greater than every key starting with `prefix`, if any.
pub(super) fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Bound::Excluded(end);
        }
    }
    Bound::Unbounded
}

/// What one layer says about a key: `None` to look further down, `Some(None)` for a
/// tombstone, `Some(Some(v))` for a value.
fn decided(l: Lookup) -> Option<Option<Vec<u8>>> {
    match l {
        Lookup::Value(v) => Some(Some(v)),
        Lookup::Deleted => Some(None),
        Lookup::NotHere => None,
    }
}

impl SuperVersion {
    /// The value of `key` as of `seq`.
    pub(super) fn get(&self, key: &[u8], seq: u64) -> Result<Option<Vec<u8>>> {
        let ik = InternalKey(key::encode(key, seq));
        for m in std::iter::once(&self.mem).chain(self.imms.iter().rev()) {
            if let Some(r) = decided(m.get(&ik)) {
                return Ok(r);
            }
        }
        let h = filter::hash_key(key);
        let probe = |f: &TableFile| -> Result<Option<Option<Vec<u8>>>> {
            if seq < f.meta.props.min_seq {
                return Ok(None);
            }
            Ok(decided(f.table.get(&ik.0, h)?))
        };
        for f in &self.version.levels[0] {
            if f.overlaps(key, key) {
                if let Some(r) = probe(f)? {
                    return Ok(r);
                }
            }
        }
        for l in 1..NUM_LEVELS {
            let files = &self.version.levels[l];
            let i = self.version.find_file(l, key);
            if i < files.len() && files[i].smallest_user() <= key {
                if let Some(r) = probe(&files[i])? {
                    return Ok(r);
                }
            }
        }
        Ok(None)
    }

    /// A merge of every layer that may hold a key in [`start`, `end`] visible at `seq`,
    /// newest layer first (the order [`MergeIter`] breaks ties by).
    pub(super) fn merge_iter(
        &self,
        start: &Bound<Vec<u8>>,
        end: &Bound<Vec<u8>>,
        seq: u64,
    ) -> MergeIter {
        let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
        children.push(Box::new(MemtableIter::new(self.mem.clone())));
        for m in self.imms.iter().rev() {
            children.push(Box::new(MemtableIter::new(m.clone())));
        }
        let before_start = |f: &TableFile| match start {
            Bound::Included(s) | Bound::Excluded(s) => f.largest_user() < s.as_slice(),
            Bound::Unbounded => false,
        };
        let after_end = |f: &TableFile| match end {
            Bound::Included(e) => f.smallest_user() > e.as_slice(),
            Bound::Excluded(e) => f.smallest_user() >= e.as_slice(),
            Bound::Unbounded => false,
        };
        for f in &self.version.levels[0] {
            if !before_start(f) && !after_end(f) && seq >= f.meta.props.min_seq {
                children.push(Box::new(f.table.iter(true)));
            }
        }
        for l in 1..NUM_LEVELS {
            if !self.version.levels[l].is_empty() {
                children.push(Box::new(LevelIter::new(self.version.clone(), l, true)));
            }
        }
        MergeIter::new(children)
    }
}
