//! The block cache: a byte-bounded, sharded LRU shared by data, index and filter blocks.
//!
//! Index and filter blocks go through this cache like data blocks instead of being pinned
//! per open table, so the engine's memory is set by configuration and not by how many
//! tables exist. Sharding by key hash keeps lock hold times short under concurrent reads.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

/// Bytes charged per entry for the node, map slot and `Arc` header.
pub const ENTRY_OVERHEAD: usize = 96;
const SHARDS: usize = 16;
const NIL: usize = usize::MAX;

/// Cache key: (table file id, block offset).
pub type CacheKey = (u64, u64);

/// A multiplicative hasher for the two-u64 key (SipHash is needlessly slow here).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type Map = HashMap<CacheKey, usize, BuildHasherDefault<KeyHasher>>;

struct Node {
    key: CacheKey,
    value: Option<Arc<Vec<u8>>>,
    charge: usize,
    prev: usize,
    next: usize,
}

struct Shard {
    map: Map,
    nodes: Vec<Node>,
    free: Vec<usize>,
    head: usize,
    tail: usize,
    charge: usize,
    capacity: usize,
}

impl Shard {
    fn unlink(&mut self, i: usize) {
        let (p, n) = (self.nodes[i].prev, self.nodes[i].next);
        if p == NIL {
            self.head = n;
        } else {
            self.nodes[p].next = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.nodes[n].prev = p;
        }
    }

    fn push_front(&mut self, i: usize) {
        self.nodes[i].prev = NIL;
        self.nodes[i].next = self.head;
        if self.head != NIL {
            self.nodes[self.head].prev = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }

    fn remove(&mut self, i: usize) {
        self.unlink(i);
        let key = self.nodes[i].key;
        self.map.remove(&key);
        self.charge -= self.nodes[i].charge;
        self.nodes[i].value = None;
        self.free.push(i);
    }
}

/// The block cache. Values are shared, so an evicted block stays alive while a reader
/// still uses it, but is no longer charged.
pub struct BlockCache {
    shards: Vec<Mutex<Shard>>,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl BlockCache {
    /// A cache holding at most `capacity` bytes of charged blocks.
    pub fn new(capacity: usize) -> Self {
        let per = capacity / SHARDS;
        BlockCache {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        map: Map::default(),
                        nodes: Vec::new(),
                        free: Vec::new(),
                        head: NIL,
                        tail: NIL,
                        charge: 0,
                        capacity: per,
                    })
                })
                .collect(),
            capacity: per * SHARDS,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn shard(&self, key: &CacheKey) -> &Mutex<Shard> {
        let mut h = KeyHasher::default();
        h.write_u64(key.0);
        h.write_u64(key.1);
        &self.shards[(h.finish() >> 32) as usize % SHARDS]
    }

    /// The cached block, counting a hit or a miss.
    pub fn get(&self, key: CacheKey) -> Option<Arc<Vec<u8>>> {
        let mut s = self.shard(&key).lock();
        match s.map.get(&key).copied() {
            Some(i) => {
                s.unlink(i);
                s.push_front(i);
                self.hits.fetch_add(1, Ordering::Relaxed);
                s.nodes[i].value.clone()
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Inserts a block, evicting least recently used blocks to stay within capacity.
    /// A block larger than a shard's capacity is not cached at all.
    pub fn insert(&self, key: CacheKey, value: Arc<Vec<u8>>) {
        let charge = value.len() + ENTRY_OVERHEAD;
        let mut s = self.shard(&key).lock();
        if charge > s.capacity {
            return;
        }
        if let Some(i) = s.map.get(&key).copied() {
            s.remove(i);
        }
        while s.charge + charge > s.capacity && s.tail != NIL {
            let t = s.tail;
            s.remove(t);
        }
        let node = Node {
            key,
            value: Some(value),
            charge,
            prev: NIL,
            next: NIL,
        };
        let i = match s.free.pop() {
            Some(i) => {
                s.nodes[i] = node;
                i
            }
            None => {
                s.nodes.push(node);
                s.nodes.len() - 1
            }
        };
        s.push_front(i);
        s.map.insert(key, i);
        s.charge += charge;
    }

    /// Drops every block of table `file_id` (called when the table is deleted).
    pub fn erase_file(&self, file_id: u64) {
        for shard in &self.shards {
            let mut s = shard.lock();
            let doomed: Vec<usize> = s
                .map
                .iter()
                .filter(|(k, _)| k.0 == file_id)
                .map(|(_, &i)| i)
                .collect();
            for i in doomed {
                s.remove(i);
            }
        }
    }

    /// Bytes currently charged.
    pub fn charge(&self) -> usize {
        self.shards.iter().map(|s| s.lock().charge).sum()
    }

    /// Capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Lookups that found their block.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that did not.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charge_never_exceeds_capacity_and_lru_evicts_oldest() {
        let c = BlockCache::new(16 * 10_000);
        for i in 0..10_000u64 {
            c.insert((1, i), Arc::new(vec![0u8; 1000]));
            assert!(c.charge() <= c.capacity());
        }
        assert!(c.get((1, 9_999)).is_some());
        assert!(c.get((1, 0)).is_none());
        assert!(c.hits() >= 1 && c.misses() >= 1);
        c.erase_file(1);
        assert_eq!(c.charge(), 0);
    }

    #[test]
    fn recently_used_survives() {
        let c = BlockCache::new(16 * 3 * (100 + ENTRY_OVERHEAD));
        // All keys land in some shard; use one key we keep touching.
        c.insert((7, 0), Arc::new(vec![1u8; 100]));
        for i in 1..1000u64 {
            assert!(c.get((7, 0)).is_some());
            c.insert((7, i), Arc::new(vec![0u8; 100]));
        }
        assert!(c.get((7, 0)).is_some());
        assert!(c.insert_too_big_is_ignored());
    }

    impl BlockCache {
        fn insert_too_big_is_ignored(&self) -> bool {
            let before = self.charge();
            self.insert((9, 9), Arc::new(vec![0u8; self.capacity()]));
            self.charge() == before
        }
    }
}
