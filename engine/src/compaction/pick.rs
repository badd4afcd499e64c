//! Choosing compaction work: level scores, the round-robin pointer per level, and the
//! "everything" compaction of [`Engine::compact_all`](crate::Engine::compact_all).
//!
//! A level's score is its size over its target (for L0: its file count over
//! `l0_compaction_trigger`); the level with the highest score at or above 1 is compacted
//! next, so the tree is kept near its targets without ever compacting a level that is
//! within them.

use std::sync::Arc;

use super::Compaction;
use crate::key;
use crate::options::EngineOptions;
use crate::version::{Version, NUM_LEVELS};

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
