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
use crate::sstable::TableBuilder;
use crate::stats::StatsCounters;
use crate::version::{TableFile, Version, NUM_LEVELS};

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
        .find(|f| ptr.is_empty() || key::compare(&f.meta.props.largest, ptr).is_gt())
        .or_else(|| files.first())?
        .clone();
    pointers[level] = f.meta.props.largest.clone();
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

/// Everything into the deepest used level (at least L1), as
/// [`Engine::compact_all`](crate::Engine::compact_all) asks; `None` when there are no
/// tables.
pub(crate) fn pick_all(v: &Arc<Version>) -> Option<Compaction> {
    let deepest = (1..NUM_LEVELS)
        .rev()
        .find(|&l| !v.levels[l].is_empty())
        .unwrap_or(1);
    let inputs: Vec<_> = v
        .levels
        .iter()
        .enumerate()
        .filter(|(_, fs)| !fs.is_empty())
        .map(|(l, fs)| (l, fs.clone()))
        .collect();
    if inputs.is_empty() {
        return None;
    }
    Some(Compaction {
        version: v.clone(),
        inputs,
        output_level: deepest,
        allow_trivial_move: false,
    })
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
    let n_inputs: usize = c.inputs.iter().map(|(_, f)| f.len()).sum();
    if n_inputs == 0 {
        return Ok(());
    }
    if c.allow_trivial_move && n_inputs == 1 && try_trivial_move(inner, &c)? {
        return Ok(());
    }
    let horizon = inner.horizon();
    inner.raise_gc_floor(horizon);
    let input_bytes: u64 = c
        .inputs
        .iter()
        .flat_map(|(_, files)| files.iter().map(|f| f.meta.props.size))
        .sum();
    let mut merge = merge_inputs(&c);
    merge.seek_to_first()?;
    let outputs = write_outputs(inner, &c, &mut merge, horizon)?;
    inner.sync_dir()?;
    install_outputs(inner, &c, horizon, &outputs)?;
    let written: u64 = outputs.iter().map(|(_, f)| f.meta.props.size).sum();
    let stats = &inner.stats;
    StatsCounters::add(&stats.compaction_bytes_written, written);
    StatsCounters::add(&stats.compaction_bytes_read, input_bytes);
    StatsCounters::add(&stats.compactions, 1);
    Ok(())
}

/// Moves the single input file of `c` to the output level without rewriting it, when it
/// is on another level. Returns whether it did (the compaction is then complete).
fn try_trivial_move(inner: &Inner, c: &Compaction) -> Result<bool> {
    let Some((from, f)) = c
        .inputs
        .iter()
        .find_map(|(l, fs)| fs.first().map(|f| (*l, f.clone())))
    else {
        return Ok(true);
    };
    if from == c.output_level {
        return Ok(false);
    }
    let edit = VersionEdit {
        deleted: vec![(from, f.meta.id)],
        added: vec![(c.output_level, f.meta.clone())],
        ..Default::default()
    };
    inner.install(edit, &[(c.output_level, f)])?;
    StatsCounters::add(&inner.stats.trivial_moves, 1);
    StatsCounters::add(&inner.stats.compactions, 1);
    Ok(true)
}

/// One ordered stream over every input: each L0 file on its own (they overlap), one
/// [`LevelIter`] for the inputs of a sorted level. None of them fills the block cache.
fn merge_inputs(c: &Compaction) -> MergeIter {
    let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
    for (level, files) in &c.inputs {
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
    MergeIter::new(children)
}

/// Decides, entry by entry of the merged stream (user key ascending, newest version
/// first), which versions a reader may still need.
struct VersionFilter<'a> {
    horizon: u64,
    version: &'a Version,
    output_level: usize,
    cur_user: Vec<u8>,
    have_user: bool,
    seen_at_or_below: bool,
}

impl<'a> VersionFilter<'a> {
    fn new(c: &'a Compaction, horizon: u64) -> Self {
        VersionFilter {
            horizon,
            version: &c.version,
            output_level: c.output_level,
            cur_user: Vec::new(),
            have_user: false,
            seen_at_or_below: false,
        }
    }

    /// Whether the entry (`k`, `value`) is kept: every version above the horizon, and the
    /// newest at or below it unless that is a tombstone no deeper level needs to shadow.
    fn keep(&mut self, k: &[u8], value: &[u8]) -> bool {
        let user = key::user_key(k);
        if !self.have_user || user != self.cur_user.as_slice() {
            self.cur_user.clear();
            self.cur_user.extend_from_slice(user);
            self.have_user = true;
            self.seen_at_or_below = false;
        }
        if key::seq(k) > self.horizon {
            true
        } else if !self.seen_at_or_below {
            self.seen_at_or_below = true;
            let tomb = value.first() == Some(&KIND_DELETE);
            !(tomb && is_bottom(self.version, self.output_level, user))
        } else {
            false
        }
    }
}

/// The output tables of one compaction: the finished ones and the one being written.
struct Outputs<'a> {
    inner: &'a Inner,
    level: usize,
    done: Vec<(usize, Arc<TableFile>)>,
    building: Option<(u64, TableBuilder)>,
    /// User key of the last entry written, so that no user key is split across files.
    last_written: Vec<u8>,
}

impl<'a> Outputs<'a> {
    fn new(inner: &'a Inner, level: usize) -> Self {
        Outputs {
            inner,
            level,
            done: Vec::new(),
            building: None,
            last_written: Vec::new(),
        }
    }

    /// Appends one entry, first finishing the current file when it has reached the
    /// target size and `k` starts a new user key.
    fn add(&mut self, k: &[u8], value: &[u8]) -> Result<()> {
        let user = key::user_key(k);
        let cut = match &self.building {
            Some((_, b)) => {
                b.estimated_size().max(b.raw_size()) >= self.inner.opts.target_file_bytes
                    && user != self.last_written.as_slice()
            }
            None => false,
        };
        if cut {
            self.finish_current()?;
        }
        if self.building.is_none() {
            let id = self.inner.new_file_id();
            let b = self.inner.create_table(&self.inner.table_path(id))?;
            self.building = Some((id, b));
        }
        if let Some((_, b)) = self.building.as_mut() {
            b.add(k, value)?;
        }
        self.last_written.clear();
        self.last_written.extend_from_slice(user);
        Ok(())
    }

    /// Finishes and opens the file being written, if any.
    fn finish_current(&mut self) -> Result<()> {
        if let Some((id, b)) = self.building.take() {
            let path = b.path().to_path_buf();
            let props = b.finish()?;
            let f = self.inner.open_new_table(id, &path, props)?;
            self.done.push((self.level, f));
        }
        Ok(())
    }

    /// Removes every file this compaction wrote, after a failure.
    fn abandon(&mut self) {
        if let Some((_, b)) = self.building.take() {
            let _ = std::fs::remove_file(b.path());
        }
        for (_, f) in &self.done {
            let _ = std::fs::remove_file(f.table.path());
        }
    }
}

/// Writes every kept entry of `merge` to new tables of the output level; on failure (or
/// shutdown, checked every 4096 entries) removes what it wrote.
fn write_outputs(
    inner: &Inner,
    c: &Compaction,
    merge: &mut MergeIter,
    horizon: u64,
) -> Result<Vec<(usize, Arc<TableFile>)>> {
    let mut filter = VersionFilter::new(c, horizon);
    let mut out = Outputs::new(inner, c.output_level);
    let mut n = 0u64;
    let result = (|| -> Result<()> {
        while merge.valid() {
            n += 1;
            if n & 4095 == 0 && inner.is_shutting_down() {
                return Err(EngineError::Closed);
            }
            if filter.keep(merge.key(), merge.value()) {
                out.add(merge.key(), merge.value())?;
            }
            merge.next()?;
        }
        out.finish_current()
    })();
    match result {
        Ok(()) => Ok(out.done),
        Err(e) => {
            out.abandon();
            Err(e)
        }
    }
}

/// Records in one manifest edit that the inputs are gone and the outputs live, with the
/// horizon versions were dropped below; then unlinks the inputs.
fn install_outputs(
    inner: &Inner,
    c: &Compaction,
    horizon: u64,
    outputs: &[(usize, Arc<TableFile>)],
) -> Result<()> {
    let mut edit = VersionEdit {
        gc_horizon: Some(horizon),
        ..Default::default()
    };
    for (level, files) in &c.inputs {
        for f in files {
            edit.deleted.push((*level, f.meta.id));
        }
    }
    for (level, f) in outputs {
        edit.added.push((*level, f.meta.clone()));
    }
    inner.install(edit, outputs)?;
    for (_, files) in &c.inputs {
        for f in files {
            inner.remove_table_file(f.meta.id);
        }
    }
    Ok(())
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
