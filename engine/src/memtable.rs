//! The memtable: recent writes, ordered by internal key, in memory.
//!
//! A `BTreeMap` behind a reader-writer lock: writes are already serialised by sequence
//! number (the server applies txns in zxid order), so a lock-free skiplist would buy
//! little, while the map keeps memory accounting simple. Iterators do not hold the lock:
//! they copy a run of entries at a time and re-seek after the last key they saw, which is
//! correct because later inserts only add newer sequence numbers that readers filter out.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::batch::{BatchOp, WriteBatch};
use crate::error::Result;
use crate::iterator::InternalIterator;
use crate::key::{self, InternalKey, KIND_DELETE, KIND_PUT};

/// Bytes charged per entry on top of key and value: map node share, vec headers.
const ENTRY_OVERHEAD: usize = 64;

/// Outcome of a point lookup in one layer of the tree.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The newest visible version is this value.
    Value(Vec<u8>),
    /// The newest visible version is a tombstone.
    Deleted,
    /// This layer has no visible version; look further down.
    NotHere,
}

/// One memtable. Values are stored with their kind byte first.
pub struct Memtable {
    map: RwLock<BTreeMap<InternalKey, Vec<u8>>>,
    approx_bytes: AtomicUsize,
    /// Highest seq applied to this memtable (including empty batches); starts at the seq
    /// the previous memtable ended at, so flushing an empty memtable never moves
    /// `persisted_seq` backwards.
    max_seq: AtomicU64,
}

impl Memtable {
    /// An empty memtable whose `max_seq` starts at `base_seq`.
    pub fn new(base_seq: u64) -> Self {
        Memtable {
            map: RwLock::new(BTreeMap::new()),
            approx_bytes: AtomicUsize::new(0),
            max_seq: AtomicU64::new(base_seq),
        }
    }

    /// Inserts every op of `batch` at `seq`.
    pub fn apply(&self, seq: u64, batch: &WriteBatch) {
        let mut added = 0usize;
        {
            let mut map = self.map.write();
            for op in batch.iter() {
                let (k, kind, v) = match op {
                    BatchOp::Put(k, v) => (k, KIND_PUT, v),
                    BatchOp::Delete(k) => (k, KIND_DELETE, &[][..]),
                };
                let mut val = Vec::with_capacity(v.len() + 1);
                val.push(kind);
                val.extend_from_slice(v);
                added += k.len() + key::TRAILER_LEN + val.len() + ENTRY_OVERHEAD;
                map.insert(InternalKey(key::encode(k, seq)), val);
            }
        }
        self.approx_bytes.fetch_add(added, Ordering::Relaxed);
        self.max_seq.fetch_max(seq, Ordering::Release);
    }

    /// Approximate memory use in bytes.
    pub fn approx_bytes(&self) -> usize {
        self.approx_bytes.load(Ordering::Relaxed)
    }

    /// Highest sequence number applied.
    pub fn max_seq(&self) -> u64 {
        self.max_seq.load(Ordering::Acquire)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.read().len()
    }

    /// Whether the memtable holds no entries.
    pub fn is_empty(&self) -> bool {
        self.map.read().is_empty()
    }

    /// Newest version of the user key of `ikey` with seq <= the seq of `ikey`.
    pub fn get(&self, ikey: &InternalKey) -> Lookup {
        let map = self.map.read();
        let user = key::user_key(&ikey.0);
        match map.range((Bound::Included(ikey), Bound::Unbounded)).next() {
            Some((k, v)) if key::user_key(&k.0) == user => match v.first() {
                Some(&KIND_PUT) => Lookup::Value(v[1..].to_vec()),
                _ => Lookup::Deleted,
            },
            _ => Lookup::NotHere,
        }
    }

    /// Calls `f` on every entry in order, holding the read lock (used by flush, when the
    /// memtable is immutable so nobody waits on the lock).
    pub fn for_each(&self, mut f: impl FnMut(&[u8], &[u8]) -> Result<()>) -> Result<()> {
        let map = self.map.read();
        for (k, v) in map.iter() {
            f(&k.0, v)?;
        }
        Ok(())
    }

    /// Copies up to `n` entries after `from` into `out`; returns whether the end was hit.
    fn fill(&self, from: Bound<&InternalKey>, n: usize, out: &mut Vec<(Vec<u8>, Vec<u8>)>) -> bool {
        let map = self.map.read();
        let mut it = map.range((from, Bound::Unbounded));
        for _ in 0..n {
            match it.next() {
                Some((k, v)) => out.push((k.0.clone(), v.clone())),
                None => return true,
            }
        }
        it.next().is_none()
    }
}

/// Forward iterator over a memtable that copies entries in growing chunks.
pub struct MemtableIter {
    mem: Arc<Memtable>,
    buf: Vec<(Vec<u8>, Vec<u8>)>,
    pos: usize,
    at_end: bool,
    chunk: usize,
}

impl MemtableIter {
    /// An unpositioned iterator; call `seek` or `seek_to_first`.
    pub fn new(mem: Arc<Memtable>) -> Self {
        MemtableIter {
            mem,
            buf: Vec::new(),
            pos: 0,
            at_end: true,
            chunk: 16,
        }
    }

    fn load(&mut self, from: Bound<&InternalKey>) {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        self.at_end = self.mem.fill(from, self.chunk, &mut buf);
        self.buf = buf;
        self.pos = 0;
        self.chunk = (self.chunk * 2).min(1024);
    }
}

impl InternalIterator for MemtableIter {
    fn valid(&self) -> bool {
        self.pos < self.buf.len()
    }

    fn key(&self) -> &[u8] {
        &self.buf[self.pos].0
    }

    fn value(&self) -> &[u8] {
        &self.buf[self.pos].1
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.chunk = 16;
        let t = InternalKey(target.to_vec());
        self.load(Bound::Included(&t));
        Ok(())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.chunk = 16;
        self.load(Bound::Unbounded);
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        self.pos += 1;
        if self.pos >= self.buf.len() && !self.at_end {
            if let Some((last, _)) = self.buf.last() {
                let last = InternalKey(last.clone());
                self.load(Bound::Excluded(&last));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_sees_newest_version_at_or_below_seq() {
        let m = Memtable::new(0);
        let mut b = WriteBatch::new();
        b.put("k", "v1");
        m.apply(1, &b);
        let mut b = WriteBatch::new();
        b.delete("k");
        m.apply(3, &b);
        let mut b = WriteBatch::new();
        b.put("k", "v5");
        m.apply(5, &b);
        let at = |s| m.get(&InternalKey(key::encode(b"k", s)));
        assert_eq!(at(0), Lookup::NotHere);
        assert_eq!(at(1), Lookup::Value(b"v1".to_vec()));
        assert_eq!(at(2), Lookup::Value(b"v1".to_vec()));
        assert_eq!(at(4), Lookup::Deleted);
        assert_eq!(at(9), Lookup::Value(b"v5".to_vec()));
        assert_eq!(m.max_seq(), 5);
        assert_eq!(m.get(&InternalKey(key::encode(b"j", 9))), Lookup::NotHere);
    }

    #[test]
    fn iterator_walks_all_entries_across_chunks() {
        let m = Arc::new(Memtable::new(0));
        for i in 0..1000u32 {
            let mut b = WriteBatch::new();
            b.put(format!("{i:05}"), "x");
            m.apply(u64::from(i) + 1, &b);
        }
        let mut it = MemtableIter::new(m.clone());
        it.seek_to_first().unwrap();
        let mut n = 0;
        while it.valid() {
            assert_eq!(key::user_key(it.key()), format!("{n:05}").as_bytes());
            it.next().unwrap();
            n += 1;
        }
        assert_eq!(n, 1000);
        it.seek(&key::encode(b"00500", u64::MAX)).unwrap();
        assert_eq!(key::user_key(it.key()), b"00500");
    }
}
