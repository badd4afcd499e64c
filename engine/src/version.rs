//! Versions: which SSTables are live, per level, at one moment.
//!
//! A [`Version`] is immutable and shared: readers and iterators hold an `Arc` to the one
//! they started with, so a compaction can install a new version (and unlink its input
//! files — open file handles keep them readable) without waiting for them. The
//! [`VersionSet`] owns the manifest and is the only way versions change.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cache::BlockCache;
use crate::error::{EngineError, Result};
use crate::key;
use crate::manifest::{self, ManifestState, ManifestWriter, VersionEdit};
use crate::sstable::{Table, TableMeta};
use crate::stats::StatsCounters;

/// Number of levels (L0 … L6).
pub const NUM_LEVELS: usize = 7;

/// File name of table `id`.
pub fn table_name(id: u64) -> String {
    format!("{id:06}.sst")
}

/// What the manifest records about one SSTable: its file number, and what the builder
/// reported when it finished the file. The table's own facts live in one place,
/// [`TableMeta`], so the builder's result is recorded as it is instead of being copied
/// field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// File number.
    pub id: u64,
    /// Size, key range, seq range and entry count, as [`TableBuilder::finish`] returned
    /// them.
    ///
    /// [`TableBuilder::finish`]: crate::sstable::TableBuilder::finish
    pub props: TableMeta,
}

/// A live table: its metadata and its open file.
pub struct TableFile {
    /// Manifest metadata.
    pub meta: FileMeta,
    /// The open table.
    pub table: Arc<Table>,
}

impl TableFile {
    /// Smallest user key.
    pub fn smallest_user(&self) -> &[u8] {
        key::user_key(&self.meta.props.smallest)
    }

    /// Largest user key.
    pub fn largest_user(&self) -> &[u8] {
        key::user_key(&self.meta.props.largest)
    }

    /// Whether the file's user key range meets [lo, hi].
    pub fn overlaps(&self, lo: &[u8], hi: &[u8]) -> bool {
        self.largest_user() >= lo && self.smallest_user() <= hi
    }
}

/// The live tables. L0 is ordered newest first (its files may overlap); deeper levels are
/// ordered by key and do not overlap, and no user key is split across two files.
#[derive(Clone)]
pub struct Version {
    /// Files per level.
    pub levels: Vec<Vec<Arc<TableFile>>>,
}

impl Default for Version {
    fn default() -> Self {
        Version {
            levels: vec![Vec::new(); NUM_LEVELS],
        }
    }
}

impl Version {
    /// A copy with `deleted` removed and `added` inserted, re-sorted.
    pub fn apply(&self, deleted: &[(usize, u64)], added: &[(usize, Arc<TableFile>)]) -> Version {
        let gone: HashSet<u64> = deleted.iter().map(|d| d.1).collect();
        let mut v = Version {
            levels: self
                .levels
                .iter()
                .map(|l| {
                    l.iter()
                        .filter(|f| !gone.contains(&f.meta.id))
                        .cloned()
                        .collect()
                })
                .collect(),
        };
        for (level, f) in added {
            v.levels[*level].push(f.clone());
        }
        v.levels[0].sort_by(|a, b| {
            b.meta
                .props
                .max_seq
                .cmp(&a.meta.props.max_seq)
                .then(b.meta.id.cmp(&a.meta.id))
        });
        for l in v.levels.iter_mut().skip(1) {
            l.sort_by(|a, b| key::compare(&a.meta.props.smallest, &b.meta.props.smallest));
        }
        v
    }

    /// Files of `level` whose user key range meets [lo, hi].
    pub fn overlapping(&self, level: usize, lo: &[u8], hi: &[u8]) -> Vec<Arc<TableFile>> {
        self.levels[level]
            .iter()
            .filter(|f| f.overlaps(lo, hi))
            .cloned()
            .collect()
    }

    /// In a sorted level (≥ 1), the index of the first file whose largest user key is >= `user`.
    pub fn find_file(&self, level: usize, user: &[u8]) -> usize {
        self.levels[level].partition_point(|f| f.largest_user() < user)
    }

    /// Total bytes of `level`.
    pub fn level_bytes(&self, level: usize) -> u64 {
        self.levels[level].iter().map(|f| f.meta.props.size).sum()
    }

    /// Every live file id.
    pub fn live_ids(&self) -> HashSet<u64> {
        self.levels
            .iter()
            .flat_map(|l| l.iter().map(|f| f.meta.id))
            .collect()
    }
}

/// Owns the manifest and the current version.
pub struct VersionSet {
    dir: PathBuf,
    /// `None` when opened read-only: nothing is logged.
    manifest: Option<ManifestWriter>,
    state: ManifestState,
    current: Arc<Version>,
}

impl VersionSet {
    /// Recovers the version set from `dir` (creating an empty one in a new directory),
    /// opens every live table, starts a fresh manifest and deletes obsolete files.
    ///
    /// # Errors
    /// I/O errors, and corruption of the manifest or of any live table (naming the file).
    pub fn open(
        dir: &Path,
        cache: &Arc<BlockCache>,
        stats: &Arc<StatsCounters>,
    ) -> Result<VersionSet> {
        fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        let (manifest_number, mut state) = recover_state(dir)?;
        let added = open_live_tables(dir, &state, cache, stats)?;
        let current = Arc::new(Version::default().apply(&[], &added));
        state.next_file_id = state.next_file_id.max(1);
        let manifest = ManifestWriter::create(dir, manifest_number + 1, &state)?;
        let vs = VersionSet {
            dir: dir.to_path_buf(),
            manifest: Some(manifest),
            state,
            current,
        };
        vs.delete_obsolete(manifest_number + 1)?;
        Ok(vs)
    }

    /// Recovers the version set from `dir` without writing anything there: no new
    /// manifest, no deletions. Every live table is opened (and stays open), so another
    /// process that compacts them away afterwards does not take them from this one.
    ///
    /// # Errors
    /// I/O errors (a table the manifest names may have just been deleted by a process
    /// that owns the directory: open again), and corruption of the manifest or of a live
    /// table (naming the file).
    pub fn open_read_only(
        dir: &Path,
        cache: &Arc<BlockCache>,
        stats: &Arc<StatsCounters>,
    ) -> Result<VersionSet> {
        let (_, state) = recover_state(dir)?;
        let added = open_live_tables(dir, &state, cache, stats)?;
        Ok(VersionSet {
            dir: dir.to_path_buf(),
            manifest: None,
            current: Arc::new(Version::default().apply(&[], &added)),
            state,
        })
    }

    /// Removes tables that are not live and manifests other than `keep`.
    fn delete_obsolete(&self, keep: u64) -> Result<()> {
        let live = self.current.live_ids();
        let keep_manifest = manifest::manifest_name(keep);
        for name in list_dir(&self.dir)? {
            let doomed = if let Some(stem) = name.strip_suffix(".sst") {
                stem.parse::<u64>().is_ok_and(|id| !live.contains(&id))
            } else if name.starts_with("MANIFEST-") {
                name != keep_manifest
            } else {
                name == "CURRENT.tmp"
            };
            if doomed {
                let p = self.dir.join(&name);
                tracing::info!(file = %p.display(), "deleting obsolete file");
                fs::remove_file(&p).map_err(|e| EngineError::io(&p, e))?;
            }
        }
        Ok(())
    }

    /// The current version.
    pub fn current(&self) -> Arc<Version> {
        self.current.clone()
    }

    /// `persisted_seq` as recorded.
    pub fn persisted_seq(&self) -> u64 {
        self.state.persisted_seq
    }

    /// The highest horizon a compaction has dropped versions below, as recorded.
    pub fn gc_horizon(&self) -> u64 {
        self.state.gc_horizon
    }

    /// Next unused file number as recovered.
    pub fn next_file_id(&self) -> u64 {
        self.state.next_file_id
    }

    /// Size of the manifest log (0 when opened read-only).
    pub fn manifest_bytes(&self) -> u64 {
        self.manifest.as_ref().map_or(0, ManifestWriter::size)
    }

    /// Records `edit` durably, then makes the version with `added` current.
    ///
    /// # Errors
    /// I/O errors on the manifest; the current version is then unchanged.
    /// [`EngineError::ReadOnly`] when opened read-only.
    pub fn log_and_apply(
        &mut self,
        mut edit: VersionEdit,
        added: &[(usize, Arc<TableFile>)],
        next_file_id: u64,
    ) -> Result<Arc<Version>> {
        let Some(manifest) = self.manifest.as_mut() else {
            return Err(EngineError::ReadOnly);
        };
        edit.next_file_id = Some(next_file_id);
        if manifest.size() > manifest::ROTATE_BYTES {
            let mut st = self.state.clone();
            st.apply(&edit);
            let number = manifest.number();
            *manifest = ManifestWriter::create(&self.dir, number + 1, &st)?;
            self.state = st;
            let _ = fs::remove_file(self.dir.join(manifest::manifest_name(number)));
        } else {
            manifest.append(&edit)?;
            self.state.apply(&edit);
        }
        self.current = Arc::new(self.current.apply(&edit.deleted, added));
        Ok(self.current.clone())
    }
}

/// The number of the manifest `CURRENT` names (0 when there is none) and the state it
/// records; an empty state in a directory that holds no tables yet.
fn recover_state(dir: &Path) -> Result<(u64, ManifestState)> {
    match manifest::read_current(dir)? {
        Some(name) => {
            let number = name
                .strip_prefix("MANIFEST-")
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
            Ok((number, manifest::replay(&dir.join(name))?))
        }
        None => {
            if list_dir(dir)?.iter().any(|n| n.ends_with(".sst")) {
                return Err(EngineError::corruption(
                    dir.join("CURRENT"),
                    0,
                    "CURRENT is missing but the directory holds SSTables",
                ));
            }
            Ok((
                0,
                ManifestState {
                    next_file_id: 1,
                    ..Default::default()
                },
            ))
        }
    }
}

/// Opens every table `state` names, checking that each is at a real level and has the
/// size the manifest recorded.
fn open_live_tables(
    dir: &Path,
    state: &ManifestState,
    cache: &Arc<BlockCache>,
    stats: &Arc<StatsCounters>,
) -> Result<Vec<(usize, Arc<TableFile>)>> {
    let mut added = Vec::new();
    for (level, meta) in state.files.values() {
        if *level >= NUM_LEVELS {
            return Err(EngineError::corruption(
                dir.join(table_name(meta.id)),
                0,
                format!("manifest puts this table at level {level}"),
            ));
        }
        let path = dir.join(table_name(meta.id));
        let table = Table::open(&path, meta.id, cache.clone(), stats.clone())?;
        if table.size() != meta.props.size {
            return Err(EngineError::corruption(
                &path,
                table.size(),
                format!(
                    "table is {} bytes but the manifest recorded {}",
                    table.size(),
                    meta.props.size
                ),
            ));
        }
        added.push((
            *level,
            Arc::new(TableFile {
                meta: meta.clone(),
                table,
            }),
        ));
    }
    Ok(added)
}

fn list_dir(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| EngineError::io(dir, e))? {
        let e = e.map_err(|e| EngineError::io(dir, e))?;
        if let Some(n) = e.file_name().to_str() {
            out.push(n.to_string());
        }
    }
    Ok(out)
}
