//! Running one compaction: merge the inputs, write the surviving versions to new tables
//! of the output level, and swap inputs for outputs in one manifest edit.
//!
//! The edit also records the horizon versions were dropped below (`gc_horizon`), so that
//! an engine reopened with a longer retention still refuses reads it can no longer answer.
//! Inputs are unlinked only after the edit is durable; readers that still hold them keep
//! reading through their open file handles. A single input with nothing to merge it with
//! is moved to the output level by the edit alone (a trivial move).

use std::sync::Arc;

use super::gc::VersionFilter;
use super::output::Outputs;
use super::Compaction;
use crate::engine::Inner;
use crate::error::{EngineError, Result};
use crate::iterator::{InternalIterator, LevelIter, MergeIter};
use crate::manifest::VersionEdit;
use crate::stats::StatsCounters;
use crate::version::TableFile;

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
