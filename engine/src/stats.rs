//! Counters behind [`Engine::stats`](crate::Engine::stats).
//!
//! They exist so the benchmark can compute write amplification (bytes written by flush
//! and compaction over bytes the user wrote) and read amplification (blocks read from disk
//! per point read) without instrumenting the engine from outside.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, updated with relaxed atomics on the hot paths.
#[derive(Default, Debug)]
pub struct StatsCounters {
    pub(crate) user_bytes_written: AtomicU64,
    pub(crate) writes: AtomicU64,
    pub(crate) flush_bytes_written: AtomicU64,
    pub(crate) compaction_bytes_written: AtomicU64,
    pub(crate) compaction_bytes_read: AtomicU64,
    pub(crate) flushes: AtomicU64,
    pub(crate) compactions: AtomicU64,
    pub(crate) trivial_moves: AtomicU64,
    pub(crate) blocks_read: AtomicU64,
    pub(crate) block_bytes_read: AtomicU64,
    pub(crate) point_reads: AtomicU64,
    pub(crate) bloom_negatives: AtomicU64,
    pub(crate) write_stalls: AtomicU64,
    pub(crate) flushes_running: AtomicU64,
    pub(crate) compactions_running: AtomicU64,
}

impl StatsCounters {
    #[inline]
    pub(crate) fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    /// The counters' current values; every field that is not a counter here (cache,
    /// levels, memtables, sequence numbers) is left at zero for the engine to fill in.
    pub(crate) fn snapshot(&self) -> EngineStats {
        let g = StatsCounters::get;
        EngineStats {
            user_bytes_written: g(&self.user_bytes_written),
            writes: g(&self.writes),
            flush_bytes_written: g(&self.flush_bytes_written),
            compaction_bytes_written: g(&self.compaction_bytes_written),
            compaction_bytes_read: g(&self.compaction_bytes_read),
            flushes: g(&self.flushes),
            compactions: g(&self.compactions),
            trivial_moves: g(&self.trivial_moves),
            blocks_read: g(&self.blocks_read),
            block_bytes_read: g(&self.block_bytes_read),
            point_reads: g(&self.point_reads),
            bloom_negatives: g(&self.bloom_negatives),
            write_stalls: g(&self.write_stalls),
            flushes_running: g(&self.flushes_running),
            compactions_running: g(&self.compactions_running),
            ..EngineStats::default()
        }
    }
}

/// Size of one level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LevelStats {
    /// Number of SSTables.
    pub files: u64,
    /// Their total size on disk.
    pub bytes: u64,
}

/// A point-in-time copy of the engine's counters.
#[derive(Debug, Clone, Default)]
pub struct EngineStats {
    /// Key + value bytes passed to `write`.
    pub user_bytes_written: u64,
    /// Number of `write` calls.
    pub writes: u64,
    /// SSTable bytes written by memtable flushes.
    pub flush_bytes_written: u64,
    /// SSTable bytes written by compactions.
    pub compaction_bytes_written: u64,
    /// SSTable bytes read as compaction input.
    pub compaction_bytes_read: u64,
    /// Completed flushes.
    pub flushes: u64,
    /// Completed compactions (including trivial moves).
    pub compactions: u64,
    /// Compactions that only moved a file down a level.
    pub trivial_moves: u64,
    /// Blocks read from disk (block cache misses that went to the file).
    pub blocks_read: u64,
    /// Bytes of those blocks.
    pub block_bytes_read: u64,
    /// `get` calls.
    pub point_reads: u64,
    /// Table probes answered by the bloom filter alone.
    pub bloom_negatives: u64,
    /// Block cache hits.
    pub cache_hits: u64,
    /// Block cache misses.
    pub cache_misses: u64,
    /// Bytes the block cache currently charges.
    pub cache_charge: u64,
    /// Block cache capacity.
    pub cache_capacity: u64,
    /// Times a write waited for flush or compaction.
    pub write_stalls: u64,
    /// Flushes in progress now (0 or 1).
    pub flushes_running: u64,
    /// Compactions in progress now.
    pub compactions_running: u64,
    /// Per level, L0 first.
    pub levels: Vec<LevelStats>,
    /// Total bytes of live SSTables.
    pub live_sst_bytes: u64,
    /// Live SSTables plus the manifest.
    pub live_disk_bytes: u64,
    /// Approximate bytes of the active and immutable memtables.
    pub memtable_bytes: u64,
    /// Frozen memtables waiting for flush.
    pub immutable_memtables: u64,
    /// Highest seq written.
    pub last_seq: u64,
    /// Highest seq in SSTables.
    pub persisted_seq: u64,
}

impl EngineStats {
    /// (flush + compaction bytes) / user bytes; 0 when nothing was written.
    pub fn write_amplification(&self) -> f64 {
        if self.user_bytes_written == 0 {
            0.0
        } else {
            (self.flush_bytes_written + self.compaction_bytes_written) as f64
                / self.user_bytes_written as f64
        }
    }

    /// Blocks read from disk per point read; 0 when there were no point reads.
    pub fn read_amplification(&self) -> f64 {
        if self.point_reads == 0 {
            0.0
        } else {
            self.blocks_read as f64 / self.point_reads as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amplification_ratios() {
        let mut s = EngineStats::default();
        assert_eq!(s.write_amplification(), 0.0);
        assert_eq!(s.read_amplification(), 0.0);
        s.user_bytes_written = 100;
        s.flush_bytes_written = 100;
        s.compaction_bytes_written = 300;
        s.point_reads = 10;
        s.blocks_read = 5;
        assert_eq!(s.write_amplification(), 4.0);
        assert_eq!(s.read_amplification(), 0.5);
    }
}
