//! Major compaction: picking work by level scores and merging tables down a level.
//!
//! Leveled: L0 (overlapping flush outputs) is merged into L1 once it holds
//! `l0_compaction_trigger` files; a deeper level whose size exceeds its target
//! (`level1_bytes × 10^(n-1)`) pushes one file (round-robin by key) into the next level.
//! While merging, versions no reader can need are dropped: everything above the horizon is
//! kept, plus the newest version at or below it, and that one too is dropped when it is a
//! tombstone and no deeper level can hold the key.
//!
//! The work is split the way it runs: [`pick`](pick()) (in `pick.rs`) chooses the inputs
//! from level scores; `run.rs` merges them and installs the result in one manifest edit;
//! `gc.rs` holds the rule that decides which versions survive the merge; `output.rs`
//! cuts the merged stream into output tables.

use std::sync::Arc;

use crate::version::{TableFile, Version};

mod gc;
mod output;
mod pick;
mod run;

pub(crate) use pick::pick_all;
pub use pick::{best_score, level_target, pick};
pub(crate) use run::run;

/// One unit of compaction work.
pub struct Compaction {
    /// The version the inputs were picked from.
    pub version: Arc<Version>,
    /// Input files per level (each level's files in that level's order).
    pub inputs: Vec<(usize, Vec<Arc<TableFile>>)>,
    /// Level the outputs go to.
    pub output_level: usize,
    /// Whether a single input with nothing to merge may simply change level.
    pub allow_trivial_move: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::EngineOptions;
    use crate::{Engine, ReadSeq, WriteBatch};

    fn opts() -> EngineOptions {
        EngineOptions {
            memtable_bytes: 1 << 20,
            level1_bytes: 1 << 20,
            ..EngineOptions::default()
        }
    }

    #[test]
    fn level_targets_grow_tenfold() {
        let o = opts();
        assert_eq!(level_target(&o, 1), 1 << 20);
        assert_eq!(level_target(&o, 3), 100 << 20);
    }

    #[test]
    fn bottom_level_compaction_drops_overwritten_versions_and_tombstones() {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::open(dir.path(), opts()).unwrap();
        let mut b = WriteBatch::new();
        b.put("dead", "1");
        b.put("live", "1");
        e.write(1, b).unwrap();
        let mut b = WriteBatch::new();
        b.delete("dead");
        b.put("live", "2");
        e.write(2, b).unwrap();
        e.compact_all().unwrap();
        let st = e.stats();
        let files: u64 = st.levels.iter().map(|l| l.files).sum();
        assert_eq!(files, 1);
        // Only one entry ("live"@2) survives: the tombstone and both old versions are gone.
        let v = e.inner_version_for_tests();
        let entries: u64 = v
            .levels
            .iter()
            .flat_map(|l| l.iter().map(|f| f.meta.props.entries))
            .sum();
        assert_eq!(entries, 1);
        assert_eq!(
            e.get(b"live", ReadSeq::Latest).unwrap(),
            Some(b"2".to_vec())
        );
        assert_eq!(e.get(b"dead", ReadSeq::Latest).unwrap(), None);
    }

    #[test]
    fn everything_deleted_leaves_no_tables() {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::open(dir.path(), opts()).unwrap();
        let mut b = WriteBatch::new();
        b.put("k", "v");
        e.write(1, b).unwrap();
        e.flush().unwrap();
        let mut b = WriteBatch::new();
        b.delete("k");
        e.write(2, b).unwrap();
        e.compact_all().unwrap();
        assert_eq!(e.stats().levels.iter().map(|l| l.files).sum::<u64>(), 0);
        assert_eq!(e.persisted_seq(), 2);
    }
}
