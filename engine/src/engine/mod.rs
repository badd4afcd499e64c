//! The [`Engine`] façade: what the server calls to write, read, pin, flush and compact.
//!
//! Everything here is a thin layer over parts that each live in their own file, so a
//! reader can find one concern without the others:
//!
//! * [`inner`]: the state all handles share (memtables and table version published as one
//!   [`SuperVersion`](inner::SuperVersion), the manifest, the locks, the record of a
//!   background failure) and the operations on it;
//! * [`read`]: point lookups and scan merges over one published state;
//! * [`flush`]: freezing memtables and writing them to L0 tables;
//! * [`background`]: the flush and compaction threads and their shutdown.
//!
//! Compaction itself (picking inputs and merging them) is [`crate::compaction`].

use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

mod background;
mod flush;
mod inner;
mod read;

pub(crate) use inner::Inner;

use crate::batch::WriteBatch;
use crate::compaction;
use crate::error::{EngineError, Result};
use crate::iterator::EngineIter;
use crate::options::EngineOptions;
use crate::stats::{EngineStats, LevelStats, StatsCounters};
#[cfg(test)]
use crate::version::Version;
use background::Threads;

/// Which sequence number a read sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadSeq {
    /// Everything written so far.
    Latest,
    /// The newest version of each key with seq <= this.
    At(u64),
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
        self.inner.unpin_snapshot(self.seq);
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

impl Engine {
    /// Opens (or creates) the engine in `dir`, recovering the tables the manifest names.
    /// After open, `last_seq() == persisted_seq()`: writes above it were in memtables only
    /// and must be replayed by the caller from its log.
    ///
    /// # Errors
    /// Invalid options; I/O errors; a corrupt manifest or table (the error names the file).
    pub fn open(dir: &Path, opts: EngineOptions) -> Result<Engine> {
        opts.validate()?;
        let inner = Arc::new(Inner::open(dir, opts, false)?);
        let threads = Arc::new(Threads::start(&inner, dir)?);
        Ok(Engine { threads, inner })
    }

    /// Opens the engine in `dir` for reading, writing nothing there: no background
    /// threads, no new manifest, no deletions, so it can be opened beside the process
    /// that owns the directory. Writes (a caller replaying its log tail) stay in this
    /// process's memtable; [`Engine::flush`] and [`Engine::compact_all`] fail with
    /// [`EngineError::ReadOnly`]. Every live table is held open, so the owner compacting
    /// it away does not take it from this reader.
    ///
    /// # Errors
    /// As [`Engine::open`]; also when a table the manifest names is gone (the owner just
    /// compacted it away: open again).
    pub fn open_read_only(dir: &Path, opts: EngineOptions) -> Result<Engine> {
        opts.validate()?;
        let inner = Arc::new(Inner::open(dir, opts, true)?);
        let threads = Arc::new(Threads::none(&inner));
        Ok(Engine { threads, inner })
    }

    /// Applies `batch` atomically at `seq`. Blocks while too many memtables wait for flush
    /// or too many files sit in L0, so memory stays bounded (a read-only engine keeps
    /// every write in one memtable).
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
        if !inner.read_only {
            let mem_full = inner.current().mem.approx_bytes() >= inner.opts.memtable_bytes;
            inner.wait_for_room(mem_full)?;
            if mem_full {
                inner.freeze();
            }
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
        inner.current().get(key, seq)
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
        self.scan_bounds(
            Bound::Included(prefix.to_vec()),
            read::prefix_end(prefix),
            at,
        )
    }

    fn scan_bounds(
        &self,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
        at: ReadSeq,
    ) -> Result<EngineIter> {
        let seq = self.inner.resolve(at)?;
        let merge = self.inner.current().merge_iter(&start, &end, seq);
        Ok(EngineIter::new(merge, seq, start, end))
    }

    /// Pins the current `last_seq` until the snapshot is dropped.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            seq: self.inner.pin_snapshot(),
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
        if self.inner.read_only {
            return Err(EngineError::ReadOnly);
        }
        let target = self.inner.freeze_for_flush()?;
        self.inner.wait_until_persisted(target)
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
        let Some(c) = compaction::pick_all(&v) else {
            return Ok(());
        };
        let r = compaction::run(inner, c);
        inner.bg_cv.notify_all();
        r
    }

    /// A copy of the counters and the current shape of the tree.
    pub fn stats(&self) -> EngineStats {
        let inner = &*self.inner;
        let sv = inner.current();
        let levels: Vec<LevelStats> = sv
            .version
            .levels
            .iter()
            .map(|l| LevelStats {
                files: l.len() as u64,
                bytes: l.iter().map(|f| f.meta.props.size).sum(),
            })
            .collect();
        let live_sst_bytes: u64 = levels.iter().map(|l| l.bytes).sum();
        let manifest_bytes = inner.versions.lock().manifest_bytes();
        EngineStats {
            cache_hits: inner.cache.hits(),
            cache_misses: inner.cache.misses(),
            cache_charge: inner.cache.charge() as u64,
            cache_capacity: inner.cache.capacity() as u64,
            levels,
            live_sst_bytes,
            live_disk_bytes: live_sst_bytes + manifest_bytes,
            memtable_bytes: (sv.mem.approx_bytes()
                + sv.imms.iter().map(|m| m.approx_bytes()).sum::<usize>())
                as u64,
            immutable_memtables: sv.imms.len() as u64,
            last_seq: self.last_seq(),
            persisted_seq: self.persisted_seq(),
            ..inner.stats.snapshot()
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
        match self.inner.bg.lock().failure() {
            Some(e) => Err(e),
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
