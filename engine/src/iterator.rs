//! Iterators: the internal cursor trait, the merge of all layers, and the user-facing
//! [`EngineIter`] that resolves versions at one read sequence.

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;

use crate::error::{EngineError, Result};
use crate::key::{self, KIND_PUT};
use crate::sstable::TableIter;
use crate::version::Version;

/// A forward cursor over internal keys (user key ascending, seq descending).
/// Values start with the kind byte.
pub trait InternalIterator: Send {
    /// Whether the cursor is on an entry.
    fn valid(&self) -> bool;
    /// Current internal key (only when valid).
    fn key(&self) -> &[u8];
    /// Current value, kind byte first (only when valid).
    fn value(&self) -> &[u8];
    /// Positions on the first entry >= `target`.
    ///
    /// # Errors
    /// I/O or corruption of the underlying files.
    fn seek(&mut self, target: &[u8]) -> Result<()>;
    /// Positions on the first entry.
    ///
    /// # Errors
    /// As [`InternalIterator::seek`].
    fn seek_to_first(&mut self) -> Result<()>;
    /// Advances by one entry.
    ///
    /// # Errors
    /// As [`InternalIterator::seek`].
    fn next(&mut self) -> Result<()>;
}

/// Concatenation of one sorted level's tables; opens each table only when reached, so a
/// short scan touches only the files it needs.
pub struct LevelIter {
    version: Arc<Version>,
    level: usize,
    file: usize,
    cur: Option<TableIter>,
    fill_cache: bool,
    /// Restrict to these files (compaction inputs); `None` = the whole level.
    only: Option<Vec<usize>>,
}

impl LevelIter {
    /// Iterator over every file of `level` in `version`.
    pub fn new(version: Arc<Version>, level: usize, fill_cache: bool) -> Self {
        LevelIter {
            version,
            level,
            file: 0,
            cur: None,
            fill_cache,
            only: None,
        }
    }

    /// Iterator over the files of `level` with the given ids (which must be in key order
    /// within the level, as compaction inputs are).
    pub fn with_files(version: Arc<Version>, level: usize, ids: &[u64]) -> Self {
        let only = version.levels[level]
            .iter()
            .enumerate()
            .filter(|(_, f)| ids.contains(&f.meta.id))
            .map(|(i, _)| i)
            .collect();
        LevelIter {
            version,
            level,
            file: 0,
            cur: None,
            fill_cache: false,
            only: Some(only),
        }
    }

    fn count(&self) -> usize {
        match &self.only {
            Some(o) => o.len(),
            None => self.version.levels[self.level].len(),
        }
    }

    fn open(&mut self, i: usize) {
        let idx = match &self.only {
            Some(o) => o.get(i).copied(),
            None => Some(i),
        };
        self.file = i;
        self.cur = idx
            .and_then(|idx| self.version.levels[self.level].get(idx))
            .map(|f| f.table.iter(self.fill_cache));
    }

    fn skip_forward(&mut self) -> Result<()> {
        while self.cur.as_ref().is_some_and(|c| !c.valid()) {
            if self.file + 1 >= self.count() {
                self.cur = None;
                return Ok(());
            }
            self.open(self.file + 1);
            if let Some(c) = self.cur.as_mut() {
                c.seek_to_first()?;
            }
        }
        Ok(())
    }
}

impl InternalIterator for LevelIter {
    fn valid(&self) -> bool {
        self.cur.as_ref().is_some_and(|c| c.valid())
    }
    fn key(&self) -> &[u8] {
        self.cur.as_ref().map_or(&[], |c| c.key())
    }
    fn value(&self) -> &[u8] {
        self.cur.as_ref().map_or(&[], |c| c.value())
    }
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        let user = key::user_key(target);
        let files = &self.version.levels[self.level];
        let i = match &self.only {
            None => self.version.find_file(self.level, user),
            Some(o) => o.partition_point(|&i| files[i].largest_user() < user),
        };
        if i >= self.count() {
            self.cur = None;
            return Ok(());
        }
        self.open(i);
        if let Some(c) = self.cur.as_mut() {
            c.seek(target)?;
        }
        self.skip_forward()
    }
    fn seek_to_first(&mut self) -> Result<()> {
        if self.count() == 0 {
            self.cur = None;
            return Ok(());
        }
        self.open(0);
        if let Some(c) = self.cur.as_mut() {
            c.seek_to_first()?;
        }
        self.skip_forward()
    }
    fn next(&mut self) -> Result<()> {
        if let Some(c) = self.cur.as_mut() {
            c.next()?;
        }
        self.skip_forward()
    }
}

/// Merges children into one ordered stream. Children are few (memtables, L0 files, one
/// per deeper level), so picking the minimum by a linear scan is cheaper than a heap.
/// On equal keys the earlier child wins (children are passed newest first).
pub struct MergeIter {
    children: Vec<Box<dyn InternalIterator>>,
    cur: Option<usize>,
}

impl MergeIter {
    /// Merge of `children`, newest layer first.
    pub fn new(children: Vec<Box<dyn InternalIterator>>) -> Self {
        MergeIter {
            children,
            cur: None,
        }
    }

    fn find_min(&mut self) {
        let mut best: Option<usize> = None;
        for (i, c) in self.children.iter().enumerate() {
            if !c.valid() {
                continue;
            }
            best = match best {
                Some(b) if key::compare(self.children[b].key(), c.key()) != Ordering::Greater => {
                    Some(b)
                }
                _ => Some(i),
            };
        }
        self.cur = best;
    }
}

impl InternalIterator for MergeIter {
    fn valid(&self) -> bool {
        self.cur.is_some()
    }
    fn key(&self) -> &[u8] {
        self.cur.map_or(&[], |i| self.children[i].key())
    }
    fn value(&self) -> &[u8] {
        self.cur.map_or(&[], |i| self.children[i].value())
    }
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        for c in &mut self.children {
            c.seek(target)?;
        }
        self.find_min();
        Ok(())
    }
    fn seek_to_first(&mut self) -> Result<()> {
        for c in &mut self.children {
            c.seek_to_first()?;
        }
        self.find_min();
        Ok(())
    }
    fn next(&mut self) -> Result<()> {
        if let Some(i) = self.cur {
            self.children[i].next()?;
        }
        self.find_min();
        Ok(())
    }
}

/// Forward iterator over live (key, value) pairs as of one sequence number, in key order.
/// It holds the memtables and tables it started with, so it sees a consistent view even
/// while flushes and compactions replace them.
pub struct EngineIter {
    merge: MergeIter,
    read_seq: u64,
    end: Bound<Vec<u8>>,
    last_user: Vec<u8>,
    has_last: bool,
    started: bool,
    start: Bound<Vec<u8>>,
    done: bool,
}

impl EngineIter {
    pub(crate) fn new(
        merge: MergeIter,
        read_seq: u64,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
    ) -> Self {
        EngineIter {
            merge,
            read_seq,
            end,
            last_user: Vec::new(),
            has_last: false,
            started: false,
            start,
            done: false,
        }
    }

    /// The sequence number this iterator reads at.
    pub fn read_seq(&self) -> u64 {
        self.read_seq
    }

    fn past_end(&self, user: &[u8]) -> bool {
        match &self.end {
            Bound::Included(e) => user > e.as_slice(),
            Bound::Excluded(e) => user >= e.as_slice(),
            Bound::Unbounded => false,
        }
    }

    fn start(&mut self) -> Result<()> {
        self.started = true;
        match std::mem::replace(&mut self.start, Bound::Unbounded) {
            Bound::Included(s) => self.merge.seek(&key::encode(&s, u64::MAX)),
            Bound::Excluded(s) => {
                self.merge.seek(&key::encode(&s, u64::MAX))?;
                self.last_user = s;
                self.has_last = true;
                Ok(())
            }
            Bound::Unbounded => self.merge.seek_to_first(),
        }
    }

    fn step(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        if !self.started {
            self.start()?;
        }
        loop {
            if !self.merge.valid() {
                return Ok(None);
            }
            let k = self.merge.key();
            let user = key::user_key(k);
            if self.has_last && user == self.last_user.as_slice() {
                self.merge.next()?;
                continue;
            }
            if self.past_end(user) {
                return Ok(None);
            }
            if key::seq(k) > self.read_seq {
                self.merge.next()?;
                continue;
            }
            // The newest visible version of a new user key.
            self.last_user.clear();
            self.last_user.extend_from_slice(user);
            self.has_last = true;
            let v = self.merge.value();
            let item = match v.split_first() {
                Some((&KIND_PUT, val)) => Some((self.last_user.clone(), val.to_vec())),
                Some(_) => None,
                None => {
                    return Err(EngineError::Background(
                        "entry without a kind byte".to_string(),
                    ))
                }
            };
            self.merge.next()?;
            if let Some(item) = item {
                return Ok(Some(item));
            }
        }
    }
}

impl Iterator for EngineIter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(kv)) => Some(Ok(kv)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::WriteBatch;
    use crate::memtable::{Memtable, MemtableIter};

    #[test]
    fn merge_resolves_versions_and_tombstones_across_layers() {
        let old = Arc::new(Memtable::new(0));
        let new = Arc::new(Memtable::new(0));
        let mut b = WriteBatch::new();
        b.put("a", "a1");
        b.put("b", "b1");
        b.put("c", "c1");
        old.apply(1, &b);
        let mut b = WriteBatch::new();
        b.delete("b");
        b.put("c", "c2");
        new.apply(2, &b);
        let mk = |seq| {
            EngineIter::new(
                MergeIter::new(vec![
                    Box::new(MemtableIter::new(new.clone())),
                    Box::new(MemtableIter::new(old.clone())),
                ]),
                seq,
                Bound::Unbounded,
                Bound::Unbounded,
            )
            .map(|r| r.unwrap())
            .collect::<Vec<_>>()
        };
        let kv = |k: &str, v: &str| (k.as_bytes().to_vec(), v.as_bytes().to_vec());
        assert_eq!(mk(2), vec![kv("a", "a1"), kv("c", "c2")]);
        assert_eq!(mk(1), vec![kv("a", "a1"), kv("b", "b1"), kv("c", "c1")]);
        assert_eq!(mk(0), vec![]);
    }
}
