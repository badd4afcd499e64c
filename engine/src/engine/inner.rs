//! The state every [`Engine`](super::Engine) handle, snapshot and background thread
//! shares: one [`Inner`] behind an `Arc`.
//!
//! Readers never take a lock longer than it takes to clone an `Arc`: what they need (the
//! active memtable, the frozen ones and the table [`Version`]) is one immutable
//! [`SuperVersion`], and a flush or compaction publishes a new one by swapping that `Arc`
//! under the write half of `sv`. The other locks each guard one thing, so none is held
//! while I/O runs:
//!
//! * `write_lock` serialises writers (sequence numbers must rise) and memtable freezes;
//! * `versions` owns the manifest, so edits are logged and applied one at a time;
//! * `bg` holds the shutdown flag and the first background failure, and `bg_cv` is how
//!   writers, `flush` and the background threads wake each other;
//! * `compaction_lock` keeps the background compactor and `compact_all` from merging the
//!   same files at once.
//!
//! A background failure is recorded once ([`Inner::fail`]) and from then on every write
//! and every wait returns it: the engine stops accepting writes rather than carry on over
//! a table or manifest it could not write.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, RwLock};

use super::ReadSeq;
use crate::cache::BlockCache;
use crate::error::{EngineError, Result};
use crate::manifest::VersionEdit;
use crate::memtable::Memtable;
use crate::options::EngineOptions;
use crate::sstable::{Table, TableBuilder, TableMeta};
use crate::stats::StatsCounters;
use crate::version::{table_name, FileMeta, TableFile, Version, VersionSet, NUM_LEVELS};

/// What a reader needs, swapped atomically: the memtables and the table version.
pub(crate) struct SuperVersion {
    pub(crate) mem: Arc<Memtable>,
    /// Frozen memtables, oldest first.
    pub(crate) imms: Vec<Arc<Memtable>>,
    pub(crate) version: Arc<Version>,
}

/// Shutdown flag and first background failure, guarded by [`Inner::bg`].
#[derive(Default)]
pub(super) struct BgState {
    pub(super) shutdown: bool,
    pub(super) error: Option<String>,
}

impl BgState {
    /// The recorded background failure, as the error callers get.
    pub(super) fn failure(&self) -> Option<EngineError> {
        self.error.clone().map(EngineError::Background)
    }
}

/// Shared state of an engine.
pub(crate) struct Inner {
    pub(crate) opts: EngineOptions,
    pub(crate) dir: PathBuf,
    /// Opened read-only: writes stay in the memtable, which is never frozen, and nothing
    /// is written to the directory.
    pub(crate) read_only: bool,
    sv: RwLock<Arc<SuperVersion>>,
    pub(super) write_lock: Mutex<()>,
    pub(super) last_seq: AtomicU64,
    pub(super) persisted_seq: AtomicU64,
    /// The highest horizon a compaction has used (from the manifest, then raised by each
    /// compaction): no read below it can be answered, whatever the retention now.
    gc_floor: AtomicU64,
    pub(super) versions: Mutex<VersionSet>,
    next_file_id: AtomicU64,
    pub(crate) cache: Arc<BlockCache>,
    pub(crate) stats: Arc<StatsCounters>,
    /// Pinned sequence numbers and how many snapshots pin each.
    snapshots: Mutex<BTreeMap<u64, usize>>,
    pub(super) bg: Mutex<BgState>,
    pub(super) bg_cv: Condvar,
    pub(super) compaction_lock: Mutex<()>,
    pub(super) compact_pointers: Mutex<Vec<Vec<u8>>>,
}

impl Inner {
    /// Recovers the version set in `dir` (without writing there when `read_only`) and
    /// starts with an empty memtable whose sequence numbers continue from
    /// `persisted_seq`.
    pub(super) fn open(dir: &Path, opts: EngineOptions, read_only: bool) -> Result<Inner> {
        let cache = Arc::new(BlockCache::new(opts.block_cache_bytes));
        let stats = Arc::new(StatsCounters::default());
        let vs = if read_only {
            VersionSet::open_read_only(dir, &cache, &stats)?
        } else {
            VersionSet::open(dir, &cache, &stats)?
        };
        let persisted = vs.persisted_seq();
        let gc_floor = vs.gc_horizon();
        let sv = SuperVersion {
            mem: Arc::new(Memtable::new(persisted)),
            imms: Vec::new(),
            version: vs.current(),
        };
        let next_id = vs.next_file_id();
        Ok(Inner {
            opts,
            dir: dir.to_path_buf(),
            read_only,
            sv: RwLock::new(Arc::new(sv)),
            write_lock: Mutex::new(()),
            last_seq: AtomicU64::new(persisted),
            persisted_seq: AtomicU64::new(persisted),
            gc_floor: AtomicU64::new(gc_floor),
            versions: Mutex::new(vs),
            next_file_id: AtomicU64::new(next_id),
            cache,
            stats,
            snapshots: Mutex::new(BTreeMap::new()),
            bg: Mutex::new(BgState::default()),
            bg_cv: Condvar::new(),
            compaction_lock: Mutex::new(()),
            compact_pointers: Mutex::new(vec![Vec::new(); NUM_LEVELS]),
        })
    }

    pub(crate) fn current(&self) -> Arc<SuperVersion> {
        self.sv.read().clone()
    }

    /// Replaces the published [`SuperVersion`] with `f(current)`, under the write lock of
    /// `sv` so that no two swaps interleave.
    pub(super) fn swap_super_version(&self, f: impl FnOnce(&SuperVersion) -> SuperVersion) {
        let mut g = self.sv.write();
        let next = f(&g);
        *g = Arc::new(next);
    }

    /// The sequence number a read at `at` sees.
    pub(super) fn resolve(&self, at: ReadSeq) -> Result<u64> {
        let last = self.last_seq.load(Ordering::Acquire);
        match at {
            ReadSeq::Latest => Ok(last),
            ReadSeq::At(s) => {
                let oldest = self.horizon();
                if s < oldest {
                    Err(EngineError::SeqTooOld {
                        requested: s,
                        oldest,
                    })
                } else {
                    Ok(s.min(last))
                }
            }
        }
    }

    /// min(oldest pinned snapshot, last_seq - retention_seqs), but never below a horizon
    /// an earlier compaction already dropped versions under.
    pub(crate) fn horizon(&self) -> u64 {
        let snaps = self.snapshots.lock();
        let r = self
            .last_seq
            .load(Ordering::Acquire)
            .saturating_sub(self.opts.retention_seqs);
        let h = match snaps.keys().next() {
            Some(&s) => s.min(r),
            None => r,
        };
        h.max(self.gc_floor.load(Ordering::Acquire))
    }

    /// Pins the current `last_seq` (read under the snapshot lock, so no compaction can pick
    /// a horizon above it in between) and returns it.
    pub(super) fn pin_snapshot(&self) -> u64 {
        let mut s = self.snapshots.lock();
        let seq = self.last_seq.load(Ordering::Acquire);
        *s.entry(seq).or_insert(0) += 1;
        seq
    }

    /// Releases one pin of `seq`.
    pub(super) fn unpin_snapshot(&self, seq: u64) {
        let mut s = self.snapshots.lock();
        if let Some(n) = s.get_mut(&seq) {
            *n -= 1;
            if *n == 0 {
                s.remove(&seq);
            }
        }
    }

    /// Records that a compaction dropped versions below `h`.
    pub(crate) fn raise_gc_floor(&self, h: u64) {
        self.gc_floor.fetch_max(h, Ordering::AcqRel);
    }

    pub(crate) fn new_file_id(&self) -> u64 {
        self.next_file_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.bg.lock().shutdown
    }

    pub(crate) fn sync_dir(&self) -> Result<()> {
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| EngineError::io(&self.dir, e))
    }

    /// Wakes every thread waiting on [`Inner::bg_cv`] (taking the lock first, so a waiter
    /// between its check and its wait cannot miss the signal).
    pub(super) fn notify_background(&self) {
        let _g = self.bg.lock();
        self.bg_cv.notify_all();
    }

    /// Waits while L0 is at its stall limit, or (when `need_imm_slot`) while the frozen
    /// memtables are at their limit. Called with the write lock held.
    pub(super) fn wait_for_room(&self, need_imm_slot: bool) -> Result<()> {
        let mut stalled = false;
        let mut g = self.bg.lock();
        loop {
            if let Some(e) = g.failure() {
                return Err(e);
            }
            if g.shutdown {
                return Err(EngineError::Closed);
            }
            let sv = self.current();
            let l0_full = sv.version.levels[0].len() >= self.opts.l0_stall_files;
            let imm_full = need_imm_slot && sv.imms.len() >= self.opts.max_immutable_memtables;
            if !l0_full && !imm_full {
                return Ok(());
            }
            if !stalled {
                stalled = true;
                StatsCounters::add(&self.stats.write_stalls, 1);
            }
            self.bg_cv.notify_all();
            self.bg_cv.wait_for(&mut g, Duration::from_millis(50));
        }
    }

    /// Records `edit` in the manifest and publishes the new version to readers.
    pub(crate) fn install(
        &self,
        edit: VersionEdit,
        added: &[(usize, Arc<TableFile>)],
    ) -> Result<()> {
        self.install_with(edit, added, None)
    }

    /// As [`Inner::install`]; when `flushed` is given, that frozen memtable leaves the
    /// published state in the same swap that makes its table visible, so no reader ever
    /// sees the data twice or not at all.
    pub(super) fn install_with(
        &self,
        edit: VersionEdit,
        added: &[(usize, Arc<TableFile>)],
        flushed: Option<&Arc<Memtable>>,
    ) -> Result<()> {
        let mut vs = self.versions.lock();
        let v = vs.log_and_apply(edit, added, self.next_file_id.load(Ordering::Relaxed))?;
        self.swap_super_version(|cur| {
            let imms = match flushed {
                Some(m) => cur
                    .imms
                    .iter()
                    .filter(|x| !Arc::ptr_eq(x, m))
                    .cloned()
                    .collect(),
                None => cur.imms.clone(),
            };
            SuperVersion {
                mem: cur.mem.clone(),
                imms,
                version: v,
            }
        });
        Ok(())
    }

    /// Where table `id` lives.
    pub(crate) fn table_path(&self, id: u64) -> PathBuf {
        self.dir.join(table_name(id))
    }

    /// Starts writing a new table at `path` with the engine's block size, compression and
    /// bloom filter settings (the one place flush and compaction take them from).
    pub(crate) fn create_table(&self, path: &Path) -> Result<TableBuilder> {
        TableBuilder::create(
            path,
            self.opts.block_bytes,
            self.opts.compression,
            self.opts.bloom_bits_per_key,
        )
    }

    /// Opens the finished table `id` at `path`, described by what its builder returned.
    pub(crate) fn open_new_table(
        &self,
        id: u64,
        path: &Path,
        props: TableMeta,
    ) -> Result<Arc<TableFile>> {
        let table = Table::open(path, id, self.cache.clone(), self.stats.clone())?;
        Ok(Arc::new(TableFile {
            meta: FileMeta { id, props },
            table,
        }))
    }

    /// Unlinks an obsolete table. Readers that still hold it keep reading through their
    /// open file handle.
    pub(crate) fn remove_table_file(&self, id: u64) {
        let p = self.table_path(id);
        if let Err(e) = std::fs::remove_file(&p) {
            tracing::warn!(file = %p.display(), error = %e, "could not delete obsolete table");
        }
        self.cache.erase_file(id);
    }

    /// Records the first background failure; from then on writes and waits return it.
    pub(super) fn fail(&self, what: &str, e: &EngineError) {
        tracing::error!(error = %e, "{what} failed; the engine stops accepting writes");
        let mut g = self.bg.lock();
        if g.error.is_none() {
            g.error = Some(format!("{what}: {e}"));
        }
        self.bg_cv.notify_all();
    }
}
