//! Engine configuration.
//!
//! The options exist mainly to bound memory: the engine's footprint is roughly
//! `memtable_bytes × (1 + max_immutable_memtables) + block_cache_bytes` plus a small fixed
//! overhead, whatever the size of the data.

use crate::error::{EngineError, Result};

/// How data blocks are compressed on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Blocks are stored as they are.
    None,
    /// Blocks are compressed with zstd at `level` (a block that does not shrink is stored raw).
    Zstd {
        /// zstd compression level (1 is fast and usually enough for znode data).
        level: i32,
    },
}

/// Tuning knobs of an [`Engine`](crate::Engine). `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// A memtable is frozen (made immutable and queued for flush) at this size.
    pub memtable_bytes: usize,
    /// Writes stall while this many frozen memtables wait for flush.
    pub max_immutable_memtables: usize,
    /// Capacity of the block cache shared by data, index and filter blocks.
    pub block_cache_bytes: usize,
    /// Target uncompressed size of a data block.
    pub block_bytes: usize,
    /// Compression of data and index blocks.
    pub compression: Compression,
    /// Bloom filter bits per distinct user key (0 disables filters).
    pub bloom_bits_per_key: u32,
    /// Number of L0 files that triggers an L0 → L1 compaction.
    pub l0_compaction_trigger: usize,
    /// Writes wait while L0 holds at least this many files.
    pub l0_stall_files: usize,
    /// Target size of L1; each deeper level is ten times larger.
    pub level1_bytes: u64,
    /// Compaction output files are cut at about this size.
    pub target_file_bytes: u64,
    /// Every version needed to read at any seq >= `last_seq - retention_seqs` is kept.
    pub retention_seqs: u64,
    /// Background threads: one flushes, the others compact (at least 2 in total are used:
    /// one flush thread and one compaction thread).
    pub background_threads: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            memtable_bytes: 64 << 20,
            max_immutable_memtables: 2,
            block_cache_bytes: 64 << 20,
            block_bytes: 4 << 10,
            compression: Compression::Zstd { level: 1 },
            bloom_bits_per_key: 10,
            l0_compaction_trigger: 4,
            l0_stall_files: 12,
            level1_bytes: 256 << 20,
            target_file_bytes: 64 << 20,
            retention_seqs: 0,
            background_threads: 2,
        }
    }
}

impl EngineOptions {
    /// Rejects combinations that would deadlock or divide by zero.
    ///
    /// # Errors
    /// [`EngineError::InvalidOptions`] naming the offending field.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(EngineError::InvalidOptions(m.to_string()));
        if self.memtable_bytes == 0 {
            return bad("memtable_bytes must be > 0");
        }
        if self.max_immutable_memtables == 0 {
            return bad("max_immutable_memtables must be >= 1");
        }
        if self.block_bytes == 0 {
            return bad("block_bytes must be > 0");
        }
        if self.l0_compaction_trigger == 0 {
            return bad("l0_compaction_trigger must be >= 1");
        }
        if self.l0_stall_files <= self.l0_compaction_trigger {
            return bad("l0_stall_files must be greater than l0_compaction_trigger");
        }
        if self.level1_bytes == 0 || self.target_file_bytes == 0 {
            return bad("level1_bytes and target_file_bytes must be > 0");
        }
        if let Compression::Zstd { level } = self.compression {
            if !(-7..=22).contains(&level) {
                return bad("zstd level must be within -7..=22");
            }
        }
        Ok(())
    }
}
