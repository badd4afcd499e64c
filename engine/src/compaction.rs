//! Major compaction: picking work by level scores and merging tables down a level.
//!
//! Leveled: L0 (overlapping flush outputs) is merged into L1 once it holds
//! `l0_compaction_trigger` files; a deeper level whose size exceeds its target
//! (`level1_bytes × 10^(n-1)`) pushes one file (round-robin by key) into the next level.
//! While merging, versions no reader can need are dropped: everything above the horizon is
//! kept, plus the newest version at or below it, and that one too is dropped when it is a
//! tombstone and no deeper level can hold the key.

use std::sync::Arc;

use crate::engine::Inner;
use crate::error::{EngineError, Result};
use crate::iterator::{InternalIterator, LevelIter, MergeIter};
use crate::key::{self, KIND_DELETE};
use crate::manifest::VersionEdit;
use crate::options::EngineOptions;
use crate::sstable::{Table, TableBuilder};
use crate::stats::StatsCounters;
use crate::version::{table_name, FileMeta, TableFile, Version, NUM_LEVELS};

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

/// Target size of `level` (≥ 1).
pub fn level_target(opts: &EngineOptions, level: usize) -> u64 {
    let mut t = opts.level1_bytes;
    for _ in 1..level {
        t = t.saturating_mul(10);
    }
    t
}

/// The most urgent level and its score (≥ 1 means compaction is due).
pub fn best_score(v: &Version, opts: &EngineOptions) -> (usize, f64) {
    let mut best = (
        0,
        v.levels[0].len() as f64 / opts.l0_compaction_trigger as f64,
    );
    for l in 1..NUM_LEVELS - 1 {
        let s = v.level_bytes(l) as f64 / level_target(opts, l) as f64;
        if s > best.1 {
            best = (l, s);
        }
    }
    best
}

/// Picks the next compaction, if any level is over its target. `pointers[n]` remembers
/// the largest key last compacted out of level n, so successive picks sweep the key space.
pub fn pick(
    v: &Arc<Version>,
    opts: &EngineOptions,
    pointers: &mut [Vec<u8>],
) -> Option<Compaction> {
    let (level, score) = best_score(v, opts);
    if score < 1.0 {
        return None;
    }
    if level == 0 {
        let l0 = v.levels[0].clone();
        let lo = l0.iter().map(|f| f.smallest_user()).min()?.to_vec();
        let hi = l0.iter().map(|f| f.largest_user()).max()?.to_vec();
        let next = v.overlapping(1, &lo, &hi);
        return Some(Compaction {
            version: v.clone(),
            inputs: vec![(0, l0), (1, next)],
            output_level: 1,
            allow_trivial_move: true,
        });
    }
    let files = &v.levels[level];
    let ptr = &pointers[level];
    let f = files
        .iter()
        .find(|f| ptr.is_empty() || key::compare(&f.meta.largest, ptr).is_gt())
        .or_else(|| files.first())?
        .clone();
    pointers[level] = f.meta.largest.clone();
    let next = v.overlapping(level + 1, f.smallest_user(), f.largest_user());
    Some(Compaction {
        version: v.clone(),
        inputs: vec![(level, vec![f]), (level + 1, next)],
        output_level: level + 1,
        allow_trivial_move: true,
    })
}

/// Whether no level below `output_level` may hold `user`.
fn is_bottom(v: &Version, output_level: usize, user: &[u8]) -> bool {
    for l in output_level + 1..NUM_LEVELS {
        let files = &v.levels[l];
        let i = v.find_file(l, user);
        if i < files.len() && files[i].smallest_user() <= user {
            return false;
        }
    }
    true
}

/// Runs `c` to completion and installs the result.
///
/// # Errors
/// I/O and corruption errors (naming the file); [`EngineError::Closed`] when the engine
/// shuts down mid-way (partial outputs are removed).
pub(crate) fn run(inner: &Inner, c: Compaction) -> Result<()> {
    let stats = &inner.stats;
    StatsCounters::add(&stats.compactions_running, 1);
    let r = run_inner(inner, c);
    stats
        .compactions_running
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    r
}

fn run_inner(inner: &Inner, c: Compaction) -> Result<()> {
    let stats = &inner.stats;
    let opts = &inner.opts;
    let n_inputs: usize = c.inputs.iter().map(|(_, f)| f.len()).sum();
    if n_inputs == 0 {
        return Ok(());
    }
    if c.allow_trivial_move && n_inputs == 1 {
        let Some((from, f)) = c
            .inputs
            .iter()
            .find_map(|(l, fs)| fs.first().map(|f| (*l, f.clone())))
        else {
            return Ok(());
        };
        if from != c.output_level {
            let edit = VersionEdit {
                deleted: vec![(from, f.meta.id)],
                added: vec![(c.output_level, f.meta.clone())],
                ..Default::default()
            };
            inner.install(edit, &[(c.output_level, f)])?;
            StatsCounters::add(&stats.trivial_moves, 1);
            StatsCounters::add(&stats.compactions, 1);
            return Ok(());
        }
    }

    let horizon = inner.horizon();
    inner.raise_gc_floor(horizon);
    let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
    let mut input_bytes = 0;
    for (level, files) in &c.inputs {
        input_bytes += files.iter().map(|f| f.meta.size).sum::<u64>();
        if files.is_empty() {
            continue;
        }
        if *level == 0 {
            for f in files {
                children.push(Box::new(f.table.iter(false)));
            }
        } else {
            let ids: Vec<u64> = files.iter().map(|f| f.meta.id).collect();
            children.push(Box::new(LevelIter::with_files(
                c.version.clone(),
                *level,
                &ids,
            )));
        }
    }
    let mut merge = MergeIter::new(children);
    merge.seek_to_first()?;

    let mut outputs: Vec<(usize, Arc<TableFile>)> = Vec::new();
    let mut builder: Option<(u64, TableBuilder)> = None;
    let mut cur_user: Vec<u8> = Vec::new();
    let mut have_user = false;
    let mut seen_at_or_below = false;
    let mut last_written: Vec<u8> = Vec::new();
    let mut n = 0u64;

    let result = (|| -> Result<()> {
        while merge.valid() {
            n += 1;
            if n & 4095 == 0 && inner.is_shutting_down() {
                return Err(EngineError::Closed);
            }
            let k = merge.key();
            let user = key::user_key(k);
            if !have_user || user != cur_user.as_slice() {
                cur_user.clear();
                cur_user.extend_from_slice(user);
                have_user = true;
                seen_at_or_below = false;
            }
            let seq = key::seq(k);
            let keep = if seq > horizon {
                true
            } else if !seen_at_or_below {
                seen_at_or_below = true;
                let tomb = merge.value().first() == Some(&KIND_DELETE);
                !(tomb && is_bottom(&c.version, c.output_level, user))
            } else {
                false
            };
            if keep {
                let cut = match &builder {
                    Some((_, b)) => {
                        b.estimated_size().max(b.raw_size()) >= opts.target_file_bytes
                            && user != last_written.as_slice()
                    }
                    None => false,
                };
                if cut {
                    if let Some((id, b)) = builder.take() {
                        outputs.push(finish_output(inner, id, b, c.output_level)?);
                    }
                }
                if builder.is_none() {
                    let id = inner.new_file_id();
                    let b = TableBuilder::create(
                        &inner.dir.join(table_name(id)),
                        opts.block_bytes,
                        opts.compression,
                        opts.bloom_bits_per_key,
                    )?;
                    builder = Some((id, b));
                }
                if let Some((_, b)) = builder.as_mut() {
                    b.add(k, merge.value())?;
                }
                last_written.clear();
                last_written.extend_from_slice(user);
            }
            merge.next()?;
        }
        if let Some((id, b)) = builder.take() {
            outputs.push(finish_output(inner, id, b, c.output_level)?);
        }
        Ok(())
    })();
    if let Err(e) = result {
        if let Some((_, b)) = builder.take() {
            let _ = std::fs::remove_file(b.path());
        }
        for (_, f) in &outputs {
            let _ = std::fs::remove_file(f.table.path());
        }
        return Err(e);
    }
    inner.sync_dir()?;

    let mut edit = VersionEdit {
        gc_horizon: Some(horizon),
        ..Default::default()
    };
    for (level, files) in &c.inputs {
        for f in files {
            edit.deleted.push((*level, f.meta.id));
        }
    }
    let written: u64 = outputs.iter().map(|(_, f)| f.meta.size).sum();
    for (level, f) in &outputs {
        edit.added.push((*level, f.meta.clone()));
    }
    inner.install(edit, &outputs)?;
    for (_, files) in &c.inputs {
        for f in files {
            inner.remove_table_file(f.meta.id);
        }
    }
    StatsCounters::add(&stats.compaction_bytes_written, written);
    StatsCounters::add(&stats.compaction_bytes_read, input_bytes);
    StatsCounters::add(&stats.compactions, 1);
    Ok(())
}

fn finish_output(
    inner: &Inner,
    id: u64,
    b: TableBuilder,
    level: usize,
) -> Result<(usize, Arc<TableFile>)> {
    let path = b.path().to_path_buf();
    let meta = b.finish()?;
    let table = Table::open(&path, id, inner.cache.clone(), inner.stats.clone())?;
    Ok((
        level,
        Arc::new(TableFile {
            meta: FileMeta {
                id,
                size: meta.size,
                smallest: meta.smallest,
                largest: meta.largest,
                min_seq: meta.min_seq,
                max_seq: meta.max_seq,
                entries: meta.entries,
            },
            table,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
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
            .flat_map(|l| l.iter().map(|f| f.meta.entries))
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
