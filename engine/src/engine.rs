//! The [`Engine`]: write path, read path, snapshots and the background threads.

use std::collections::BTreeMap;
use std::fs::File;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, RwLock};

use crate::batch::WriteBatch;
use crate::cache::BlockCache;
use crate::compaction::{self, Compaction};
use crate::error::{EngineError, Result};
use crate::iterator::{EngineIter, InternalIterator, LevelIter, MergeIter};
use crate::key::{self, InternalKey};
use crate::manifest::VersionEdit;
use crate::memtable::{Lookup, Memtable, MemtableIter};
use crate::options::EngineOptions;
use crate::sstable::{filter, Table, TableBuilder};
use crate::stats::{EngineStats, LevelStats, StatsCounters};
use crate::version::{table_name, FileMeta, TableFile, Version, VersionSet, NUM_LEVELS};

/// Which sequence number a read sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadSeq {
    /// Everything written so far.
    Latest,
    /// The newest version of each key with seq <= this.
    At(u64),
}

/// What a reader needs, swapped atomically: the memtables and the table version.
pub(crate) struct SuperVersion {
    pub(crate) mem: Arc<Memtable>,
    /// Frozen memtables, oldest first.
    pub(crate) imms: Vec<Arc<Memtable>>,
    pub(crate) version: Arc<Version>,
}

#[derive(Default)]
pub(crate) struct BgState {
    shutdown: bool,
    error: Option<String>,
}

/// Shared state of an engine.
pub(crate) struct Inner {
    pub(crate) opts: EngineOptions,
    pub(crate) dir: PathBuf,
    sv: RwLock<Arc<SuperVersion>>,
    write_lock: Mutex<()>,
    last_seq: AtomicU64,
    persisted_seq: AtomicU64,
    /// The highest horizon a compaction has used (from the manifest, then raised by each
    /// compaction): no read below it can be answered, whatever the retention now.
    gc_floor: AtomicU64,
    versions: Mutex<VersionSet>,
    next_file_id: AtomicU64,
    pub(crate) cache: Arc<BlockCache>,
    pub(crate) stats: Arc<StatsCounters>,
    snapshots: Mutex<BTreeMap<u64, usize>>,
    bg: Mutex<BgState>,
    bg_cv: Condvar,
    compaction_lock: Mutex<()>,
    compact_pointers: Mutex<Vec<Vec<u8>>>,
}

/// Stops and joins the background threads when the last [`Engine`] handle goes away.
struct Threads {
    inner: Arc<Inner>,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl Threads {
    fn stop(&self) {
        self.inner.bg.lock().shutdown = true;
        self.inner.bg_cv.notify_all();
        let handles: Vec<_> = self.handles.lock().drain(..).collect();
        for h in handles {
            if h.join().is_err() {
                tracing::error!("an engine background thread panicked");
            }
        }
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The LSM engine. Cheap to clone (all clones share one engine); `Send + Sync`.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
    threads: Arc<Threads>,
}

/// Pins a sequence number: compaction keeps every version a read at [`Snapshot::seq`]
/// needs until the snapshot is dropped.
pub struct Snapshot {
    seq: u64,
    inner: Arc<Inner>,
}

impl Snapshot {
    /// The pinned sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// `ReadSeq::At(self.seq())`.
    pub fn read_seq(&self) -> ReadSeq {
        ReadSeq::At(self.seq)
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let mut s = self.inner.snapshots.lock();
        if let Some(n) = s.get_mut(&self.seq) {
            *n -= 1;
            if *n == 0 {
                s.remove(&self.seq);
            }
        }
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("dir", &self.inner.dir)
            .field("last_seq", &self.last_seq())
            .finish()
    }
}

/// The smallest key greater than every key starting with `prefix`, if any.
fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Bound::Excluded(end);
        }
    }
    Bound::Unbounded
}

impl Engine {
    /// Opens (or creates) the engine in `dir`, recovering the tables the manifest names.
    /// After open, `last_seq() == persisted_seq()`: writes above it were in memtables only
    /// and must be replayed by the caller from its log.
    ///
    /// # Errors
    /// Invalid options; I/O errors; a corrupt manifest or table (the error names the file).
    pub fn open(dir: &Path, opts: EngineOptions) -> Result<Engine> {
        opts.validate()?;
        let cache = Arc::new(BlockCache::new(opts.block_cache_bytes));
        let stats = Arc::new(StatsCounters::default());
        let vs = VersionSet::open(dir, &cache, &stats)?;
        let persisted = vs.persisted_seq();
        let gc_floor = vs.gc_horizon();
        let sv = SuperVersion {
            mem: Arc::new(Memtable::new(persisted)),
            imms: Vec::new(),
            version: vs.current(),
        };
        let next_id = vs.next_file_id();
        let inner = Arc::new(Inner {
            opts,
            dir: dir.to_path_buf(),
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
        });
        let mut handles = Vec::new();
        let spawn = |name: &str, f: fn(Arc<Inner>), inner: Arc<Inner>| {
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn(move || f(inner))
                .map_err(|e| EngineError::io(dir, e))
        };
        handles.push(spawn("warren-flush", flush_loop, inner.clone())?);
        for i in 0..inner.opts.background_threads.saturating_sub(1).clamp(1, 1) {
            handles.push(spawn(
                &format!("warren-compact-{i}"),
                compaction_loop,
                inner.clone(),
            )?);
        }
        Ok(Engine {
            threads: Arc::new(Threads {
                inner: inner.clone(),
                handles: Mutex::new(handles),
            }),
            inner,
        })
    }

    /// Applies `batch` atomically at `seq`. Blocks while too many memtables wait for flush
    /// or too many files sit in L0, so memory stays bounded.
    ///
    /// # Errors
    /// [`EngineError::SeqNotIncreasing`] when `seq <= last_seq()`; a background failure;
    /// [`EngineError::Closed`].
    pub fn write(&self, seq: u64, batch: WriteBatch) -> Result<()> {
        let inner = &*self.inner;
        let _w = inner.write_lock.lock();
        let last = inner.last_seq.load(Ordering::Acquire);
        // Sequence 0 is the bootstrap state (the server's initial tree, written before
        // any txn); it may be written only while nothing else has been.
        if seq <= last && !(seq == 0 && last == 0) {
            return Err(EngineError::SeqNotIncreasing { seq, last });
        }
        let mem_full = {
            let sv = inner.current();
            sv.mem.approx_bytes() >= inner.opts.memtable_bytes
        };
        inner.wait_for_room(mem_full)?;
        if mem_full {
            inner.freeze();
        }
        let sv = inner.current();
        sv.mem.apply(seq, &batch);
        inner.last_seq.store(seq, Ordering::Release);
        StatsCounters::add(&inner.stats.writes, 1);
        StatsCounters::add(
            &inner.stats.user_bytes_written,
            batch.payload_bytes() as u64,
        );
        Ok(())
    }

    /// The value of `key` as of `at`.
    ///
    /// # Errors
    /// [`EngineError::SeqTooOld`] for `At(s)` below `oldest_readable_seq()`; I/O or
    /// corruption of a table (naming the file).
    pub fn get(&self, key: &[u8], at: ReadSeq) -> Result<Option<Vec<u8>>> {
        let inner = &*self.inner;
        let seq = inner.resolve(at)?;
        StatsCounters::add(&inner.stats.point_reads, 1);
        let sv = inner.current();
        let ik = InternalKey(key::encode(key, seq));
        for m in std::iter::once(&sv.mem).chain(sv.imms.iter().rev()) {
            match m.get(&ik) {
                Lookup::Value(v) => return Ok(Some(v)),
                Lookup::Deleted => return Ok(None),
                Lookup::NotHere => {}
            }
        }
        let h = filter::hash_key(key);
        let probe = |f: &TableFile| -> Result<Option<Option<Vec<u8>>>> {
            if seq < f.meta.min_seq {
                return Ok(None);
            }
            Ok(match f.table.get(&ik.0, h)? {
                Lookup::Value(v) => Some(Some(v)),
                Lookup::Deleted => Some(None),
                Lookup::NotHere => None,
            })
        };
        for f in &sv.version.levels[0] {
            if f.overlaps(key, key) {
                if let Some(r) = probe(f)? {
                    return Ok(r);
                }
            }
        }
        for l in 1..NUM_LEVELS {
            let files = &sv.version.levels[l];
            let i = sv.version.find_file(l, key);
            if i < files.len() && files[i].smallest_user() <= key {
                if let Some(r) = probe(&files[i])? {
                    return Ok(r);
                }
            }
        }
        Ok(None)
    }

    /// Forward iterator over the live keys in `range` as of `at`, in key order. It seeks to
    /// the start of the range in every layer; it never reads the whole tree.
    ///
    /// # Errors
    /// [`EngineError::SeqTooOld`]; errors while iterating come as `Err` items.
    pub fn scan(&self, range: impl RangeBounds<Vec<u8>>, at: ReadSeq) -> Result<EngineIter> {
        let start = range.start_bound().cloned();
        let end = range.end_bound().cloned();
        self.scan_bounds(start, end, at)
    }

    /// Forward iterator over the live keys starting with `prefix` as of `at` (how the
    /// server lists the children of a znode).
    ///
    /// # Errors
    /// As [`Engine::scan`].
    pub fn scan_prefix(&self, prefix: &[u8], at: ReadSeq) -> Result<EngineIter> {
        self.scan_bounds(Bound::Included(prefix.to_vec()), prefix_end(prefix), at)
    }

    fn scan_bounds(
        &self,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
        at: ReadSeq,
    ) -> Result<EngineIter> {
        let inner = &*self.inner;
        let seq = inner.resolve(at)?;
        let sv = inner.current();
        let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
        children.push(Box::new(MemtableIter::new(sv.mem.clone())));
        for m in sv.imms.iter().rev() {
            children.push(Box::new(MemtableIter::new(m.clone())));
        }
        let before_start = |f: &TableFile| match &start {
            Bound::Included(s) | Bound::Excluded(s) => f.largest_user() < s.as_slice(),
            Bound::Unbounded => false,
        };
        let after_end = |f: &TableFile| match &end {
            Bound::Included(e) => f.smallest_user() > e.as_slice(),
            Bound::Excluded(e) => f.smallest_user() >= e.as_slice(),
            Bound::Unbounded => false,
        };
        for f in &sv.version.levels[0] {
            if !before_start(f) && !after_end(f) && seq >= f.meta.min_seq {
                children.push(Box::new(f.table.iter(true)));
            }
        }
        for l in 1..NUM_LEVELS {
            if !sv.version.levels[l].is_empty() {
                children.push(Box::new(LevelIter::new(sv.version.clone(), l, true)));
            }
        }
        Ok(EngineIter::new(MergeIter::new(children), seq, start, end))
    }

    /// Pins the current `last_seq` until the snapshot is dropped.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = self.inner.snapshots.lock();
        let seq = self.inner.last_seq.load(Ordering::Acquire);
        *s.entry(seq).or_insert(0) += 1;
        Snapshot {
            seq,
            inner: self.inner.clone(),
        }
    }

    /// Highest sequence number written.
    pub fn last_seq(&self) -> u64 {
        self.inner.last_seq.load(Ordering::Acquire)
    }

    /// Highest sequence number contained in SSTables, as recorded in the manifest. Every
    /// write at or below it survives a crash; the caller replays its log from `+ 1`.
    pub fn persisted_seq(&self) -> u64 {
        self.inner.persisted_seq.load(Ordering::Acquire)
    }

    /// Reads at sequence numbers below this may miss versions compaction dropped, so they
    /// fail with [`EngineError::SeqTooOld`]: min(oldest snapshot, last_seq - retention_seqs).
    pub fn oldest_readable_seq(&self) -> u64 {
        self.inner.horizon()
    }

    /// Freezes the memtable and waits until it (and every older one) is in an SSTable,
    /// i.e. until `persisted_seq() >= last_seq()` as of the call.
    ///
    /// # Errors
    /// A background failure; [`EngineError::Closed`].
    pub fn flush(&self) -> Result<()> {
        let inner = &*self.inner;
        let target = {
            let _w = inner.write_lock.lock();
            let sv = inner.current();
            let target = sv.mem.max_seq();
            if !sv.mem.is_empty() || target > inner.persisted_seq.load(Ordering::Acquire) {
                inner.wait_for_room(true)?;
                inner.freeze();
            }
            target
        };
        let mut g = inner.bg.lock();
        loop {
            if let Some(e) = &g.error {
                return Err(EngineError::Background(e.clone()));
            }
            if inner.persisted_seq.load(Ordering::Acquire) >= target
                && inner.current().imms.is_empty()
            {
                return Ok(());
            }
            if g.shutdown {
                return Err(EngineError::Closed);
            }
            inner.bg_cv.wait_for(&mut g, Duration::from_millis(100));
        }
    }

    /// Flushes, then merges every table into the deepest used level (at least L1),
    /// dropping every version and tombstone no reader can need. Waits for completion.
    ///
    /// # Errors
    /// As [`Engine::flush`], plus I/O and corruption during the merge.
    pub fn compact_all(&self) -> Result<()> {
        self.flush()?;
        let inner = &*self.inner;
        let _c = inner.compaction_lock.lock();
        let v = inner.current().version.clone();
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
            return Ok(());
        }
        let r = compaction::run(
            inner,
            Compaction {
                version: v,
                inputs,
                output_level: deepest,
                allow_trivial_move: false,
            },
        );
        inner.bg_cv.notify_all();
        r
    }

    /// A copy of the counters and the current shape of the tree.
    pub fn stats(&self) -> EngineStats {
        let inner = &*self.inner;
        let s = &inner.stats;
        let g = StatsCounters::get;
        let sv = inner.current();
        let levels: Vec<LevelStats> = sv
            .version
            .levels
            .iter()
            .map(|l| LevelStats {
                files: l.len() as u64,
                bytes: l.iter().map(|f| f.meta.size).sum(),
            })
            .collect();
        let live_sst_bytes: u64 = levels.iter().map(|l| l.bytes).sum();
        let manifest_bytes = inner.versions.lock().manifest_bytes();
        EngineStats {
            user_bytes_written: g(&s.user_bytes_written),
            writes: g(&s.writes),
            flush_bytes_written: g(&s.flush_bytes_written),
            compaction_bytes_written: g(&s.compaction_bytes_written),
            compaction_bytes_read: g(&s.compaction_bytes_read),
            flushes: g(&s.flushes),
            compactions: g(&s.compactions),
            trivial_moves: g(&s.trivial_moves),
            blocks_read: g(&s.blocks_read),
            block_bytes_read: g(&s.block_bytes_read),
            point_reads: g(&s.point_reads),
            bloom_negatives: g(&s.bloom_negatives),
            cache_hits: inner.cache.hits(),
            cache_misses: inner.cache.misses(),
            cache_charge: inner.cache.charge() as u64,
            cache_capacity: inner.cache.capacity() as u64,
            write_stalls: g(&s.write_stalls),
            flushes_running: g(&s.flushes_running),
            compactions_running: g(&s.compactions_running),
            levels,
            live_sst_bytes,
            live_disk_bytes: live_sst_bytes + manifest_bytes,
            memtable_bytes: (sv.mem.approx_bytes()
                + sv.imms.iter().map(|m| m.approx_bytes()).sum::<usize>())
                as u64,
            immutable_memtables: sv.imms.len() as u64,
            last_seq: self.last_seq(),
            persisted_seq: self.persisted_seq(),
        }
    }

    /// Stops background work (a flush or compaction in progress is finished or abandoned;
    /// memtables are not flushed) and waits for the threads. Other clones see
    /// [`EngineError::Closed`] afterwards.
    ///
    /// # Errors
    /// [`EngineError::Background`] when background work had failed.
    pub fn close(self) -> Result<()> {
        self.threads.stop();
        match &self.inner.bg.lock().error {
            Some(e) => Err(EngineError::Background(e.clone())),
            None => Ok(()),
        }
    }

    #[cfg(test)]
    pub(crate) fn inner_version_for_tests(&self) -> Arc<Version> {
        self.inner.current().version.clone()
    }

    /// The directory the engine lives in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }
}

impl Inner {
    pub(crate) fn current(&self) -> Arc<SuperVersion> {
        self.sv.read().clone()
    }

    fn resolve(&self, at: ReadSeq) -> Result<u64> {
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

    /// Waits while L0 is at its stall limit, or (when `need_imm_slot`) while the frozen
    /// memtables are at their limit. Called with the write lock held.
    fn wait_for_room(&self, need_imm_slot: bool) -> Result<()> {
        let mut stalled = false;
        let mut g = self.bg.lock();
        loop {
            if let Some(e) = &g.error {
                return Err(EngineError::Background(e.clone()));
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

    /// Makes the active memtable immutable and queues it for flush.
    fn freeze(&self) {
        {
            let mut g = self.sv.write();
            let cur = g.clone();
            let mut imms = cur.imms.clone();
            imms.push(cur.mem.clone());
            *g = Arc::new(SuperVersion {
                mem: Arc::new(Memtable::new(cur.mem.max_seq())),
                imms,
                version: cur.version.clone(),
            });
        }
        let _g = self.bg.lock();
        self.bg_cv.notify_all();
    }

    /// Records `edit` in the manifest and publishes the new version to readers.
    pub(crate) fn install(
        &self,
        edit: VersionEdit,
        added: &[(usize, Arc<TableFile>)],
    ) -> Result<()> {
        self.install_with(edit, added, None)
    }

    fn install_with(
        &self,
        edit: VersionEdit,
        added: &[(usize, Arc<TableFile>)],
        flushed: Option<&Arc<Memtable>>,
    ) -> Result<()> {
        let mut vs = self.versions.lock();
        let v = vs.log_and_apply(edit, added, self.next_file_id.load(Ordering::Relaxed))?;
        let mut g = self.sv.write();
        let cur = g.clone();
        let imms = match flushed {
            Some(m) => cur
                .imms
                .iter()
                .filter(|x| !Arc::ptr_eq(x, m))
                .cloned()
                .collect(),
            None => cur.imms.clone(),
        };
        *g = Arc::new(SuperVersion {
            mem: cur.mem.clone(),
            imms,
            version: v,
        });
        Ok(())
    }

    /// Unlinks an obsolete table. Readers that still hold it keep reading through their
    /// open file handle.
    pub(crate) fn remove_table_file(&self, id: u64) {
        let p = self.dir.join(table_name(id));
        if let Err(e) = std::fs::remove_file(&p) {
            tracing::warn!(file = %p.display(), error = %e, "could not delete obsolete table");
        }
        self.cache.erase_file(id);
    }

    /// Writes `imm` to a new L0 table and records it with `persisted_seq = imm.max_seq()`
    /// in one manifest edit.
    fn flush_memtable(&self, imm: &Arc<Memtable>) -> Result<()> {
        StatsCounters::add(&self.stats.flushes_running, 1);
        let r = self.flush_memtable_inner(imm);
        self.stats.flushes_running.fetch_sub(1, Ordering::Relaxed);
        r
    }

    fn flush_memtable_inner(&self, imm: &Arc<Memtable>) -> Result<()> {
        let max_seq = imm.max_seq();
        let mut edit = VersionEdit {
            persisted_seq: Some(max_seq),
            ..Default::default()
        };
        let mut added = Vec::new();
        if !imm.is_empty() {
            let id = self.new_file_id();
            let path = self.dir.join(table_name(id));
            let built = (|| {
                let mut b = TableBuilder::create(
                    &path,
                    self.opts.block_bytes,
                    self.opts.compression,
                    self.opts.bloom_bits_per_key,
                )?;
                imm.for_each(|k, v| b.add(k, v))?;
                b.finish()
            })();
            let meta = match built {
                Ok(m) => m,
                Err(e) => {
                    let _ = std::fs::remove_file(&path);
                    return Err(e);
                }
            };
            self.sync_dir()?;
            let table = Table::open(&path, id, self.cache.clone(), self.stats.clone())?;
            let fm = FileMeta {
                id,
                size: meta.size,
                smallest: meta.smallest,
                largest: meta.largest,
                min_seq: meta.min_seq,
                max_seq: meta.max_seq,
                entries: meta.entries,
            };
            StatsCounters::add(&self.stats.flush_bytes_written, fm.size);
            edit.added.push((0, fm.clone()));
            added.push((0, Arc::new(TableFile { meta: fm, table })));
        }
        self.install_with(edit, &added, Some(imm))?;
        self.persisted_seq.fetch_max(max_seq, Ordering::AcqRel);
        StatsCounters::add(&self.stats.flushes, 1);
        Ok(())
    }

    fn fail(&self, what: &str, e: &EngineError) {
        tracing::error!(error = %e, "{what} failed; the engine stops accepting writes");
        let mut g = self.bg.lock();
        if g.error.is_none() {
            g.error = Some(format!("{what}: {e}"));
        }
        self.bg_cv.notify_all();
    }
}

fn flush_loop(inner: Arc<Inner>) {
    loop {
        let imm = {
            let mut g = inner.bg.lock();
            loop {
                if g.shutdown || g.error.is_some() {
                    return;
                }
                if let Some(m) = inner.current().imms.first().cloned() {
                    break m;
                }
                inner.bg_cv.wait(&mut g);
            }
        };
        if let Err(e) = inner.flush_memtable(&imm) {
            inner.fail("flush", &e);
            return;
        }
        let _g = inner.bg.lock();
        inner.bg_cv.notify_all();
    }
}

fn compaction_loop(inner: Arc<Inner>) {
    loop {
        {
            let mut g = inner.bg.lock();
            loop {
                if g.shutdown || g.error.is_some() {
                    return;
                }
                let v = inner.current().version.clone();
                if compaction::best_score(&v, &inner.opts).1 >= 1.0 {
                    break;
                }
                inner.bg_cv.wait_for(&mut g, Duration::from_millis(200));
            }
        }
        let r = {
            let _c = inner.compaction_lock.lock();
            let v = inner.current().version.clone();
            let picked = {
                let mut ptrs = inner.compact_pointers.lock();
                compaction::pick(&v, &inner.opts, &mut ptrs)
            };
            match picked {
                Some(c) => compaction::run(&inner, c),
                None => Ok(()),
            }
        };
        match r {
            Ok(()) | Err(EngineError::Closed) => {}
            Err(e) => {
                inner.fail("compaction", &e);
                return;
            }
        }
        let _g = inner.bg.lock();
        inner.bg_cv.notify_all();
    }
}
