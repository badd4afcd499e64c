//! The log itself: open (verify + repair), append with group commit, replay, purge,
//! truncate.
//!
//! # Threads and locks
//!
//! Appenders never touch a file. `append` copies the framed record into the tail of an
//! in-memory queue (one growing buffer per group) under the `queue` mutex and returns a
//! ticket. A single writer thread swaps the whole queue out, writes it with one `pwrite`
//! (or one io_uring submission) and issues one fdatasync for everything it took: that is
//! the group commit. While it is in fdatasync, new appends pile up in the queue and form
//! the next group, so the group size adapts to the disk's latency without any timer.
//!
//! Lock order is `queue` → `files` → `progress`, and the writer never holds `files` while
//! taking `queue`. `files` is held across I/O by the writer; `purge_below`,
//! `truncate_after`, `segments` and `read_from` take it briefly.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io;
use std::mem;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Result, WalError};
use crate::format::{encode_frame, parse_segment_file_name, FRAME_LEN, HEADER_LEN, MAX_PAYLOAD};
use crate::io::{create_segment, sync_dir, zero_range, Backend, IoBackend};
use crate::scan::{list_segments, scan_segment, FaultKind, Record, SegmentReader};

/// When the writer calls fdatasync, and therefore what a completed ticket promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// fdatasync every group before completing its tickets: a completed append survives
    /// power loss. The default, and what ZooKeeper semantics require.
    #[default]
    Always,
    /// Complete tickets once the group is written to the OS (it survives a process crash,
    /// not a power loss) and fdatasync at most every `n` milliseconds.
    EveryMillis(u64),
    /// Complete tickets once written to the OS; fdatasync only on `sync()`, segment
    /// rotation and close. For tests and throwaway data.
    Never,
}

/// How to open a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalOptions {
    /// Rotate to a new segment when the active one would grow past this many bytes.
    /// A record larger than this gets a segment of its own. Default 64 MiB.
    pub segment_bytes: u64,
    /// Reserve `segment_bytes` for each new segment up front (default true), so that the
    /// fdatasync of an append does not also have to commit block allocations.
    pub preallocate: bool,
    /// When to fdatasync. Default [`FsyncPolicy::Always`].
    pub fsync: FsyncPolicy,
    /// Which system calls write. Default [`Backend::Std`].
    pub backend: Backend,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: 64 << 20,
            preallocate: true,
            fsync: FsyncPolicy::Always,
            backend: Backend::Std,
        }
    }
}

/// One segment file as the log sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The file.
    pub path: PathBuf,
    /// Seq of its first record (from its name and header).
    pub first_seq: u64,
    /// Seq of its last written record; `None` if nothing is written yet.
    pub last_seq: Option<u64>,
    /// Bytes in use (header + written records); the file may be larger (preallocation).
    pub bytes: u64,
    /// Whether appends currently go to this segment.
    pub active: bool,
}

/// Counters since `open`. `fsyncs < appends` is what group commit buys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalStats {
    /// Records appended.
    pub appends: u64,
    /// Payload bytes appended.
    pub appended_bytes: u64,
    /// Group writes issued by the writer (each one write call, or one per segment).
    pub writes: u64,
    /// fdatasync calls on segment files.
    pub fsyncs: u64,
    /// Time spent in them, in nanoseconds (for a write issued together with its sync,
    /// the write's time too).
    pub fsync_nanos: u64,
    /// Segments created.
    pub segments_created: u64,
    /// Segments deleted by `purge_below`, `truncate_after` or open.
    pub segments_deleted: u64,
}

impl Counters {
    fn count_fsync(&self, started: Instant) {
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.fsync_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Counters {
    appends: AtomicU64,
    appended_bytes: AtomicU64,
    writes: AtomicU64,
    fsyncs: AtomicU64,
    fsync_nanos: AtomicU64,
    segments_created: AtomicU64,
    segments_deleted: AtomicU64,
}

/// A contiguous run of records bound for one segment. A chunk that starts a segment
/// carries its first seq; the writer creates the file before writing it.
struct Chunk {
    new_segment: Option<u64>,
    buf: Vec<u8>,
    last_seq: u64,
}

struct Queue {
    /// Highest seq appended (queued or written).
    last_seq: u64,
    chunks: Vec<Chunk>,
    /// Whether the segment the next record would go to exists (or is queued).
    tail_has_segment: bool,
    /// Bytes that segment will hold once the queue is written.
    tail_used: u64,
    /// Records that segment will hold once the queue is written.
    tail_records: u64,
    sync_requested: bool,
    shutdown: bool,
    /// Batch buffers handed back by the writer, so steady state allocates nothing.
    spare: Vec<Vec<u8>>,
}

struct Seg {
    path: PathBuf,
    first_seq: u64,
    last_seq: Option<u64>,
    used: u64,
}

struct ActiveFile {
    file: File,
    pos: u64,
    dirty: bool,
}

struct Files {
    /// In seq order; appends go to the last one, whose handle is `active`.
    segs: Vec<Seg>,
    active: Option<ActiveFile>,
}

#[derive(Clone)]
struct Failure {
    op: &'static str,
    path: PathBuf,
    source: Arc<io::Error>,
}

impl Failure {
    fn from_error(e: WalError, fallback_path: &Path) -> Failure {
        match e {
            WalError::Io { op, path, source } => Failure {
                op,
                path,
                source: Arc::new(source),
            },
            WalError::Failed { op, path, source } => Failure { op, path, source },
            other => Failure {
                op: "write",
                path: fallback_path.to_path_buf(),
                source: Arc::new(io::Error::other(other.to_string())),
            },
        }
    }

    fn to_error(&self) -> WalError {
        WalError::Failed {
            op: self.op,
            path: self.path.clone(),
            source: self.source.clone(),
        }
    }
}

struct Progress {
    written_seq: u64,
    durable_seq: u64,
    failure: Option<Failure>,
    /// Async waiters keyed by (seq they wait for, unique id).
    wakers: BTreeMap<(u64, u64), Waker>,
    next_waker_id: u64,
}

struct Shared {
    dir: PathBuf,
    opts: WalOptions,
    /// Under `Always`, tickets complete at fsync; otherwise once written.
    ack_on_write: bool,
    queue: Mutex<Queue>,
    writer_cv: Condvar,
    files: Mutex<Files>,
    progress: Mutex<Progress>,
    progress_cv: Condvar,
    failed: AtomicBool,
    last_seq: AtomicU64,
    durable_seq: AtomicU64,
    /// Bumped (under the queue lock) by every `truncate_after`. Tickets issued before a
    /// truncation are complete: it synced everything first, even records it then cut.
    epoch: AtomicU64,
    counters: Counters,
}

/// A poisoned mutex only means another thread panicked while holding it; the state it
/// guards is still consistent at every await point of this module, so carry on.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Progress {
    fn acked(&self, seq: u64, epoch: u64, sh: &Shared) -> bool {
        if epoch < sh.epoch.load(Ordering::Acquire) {
            return true;
        }
        if sh.ack_on_write {
            self.written_seq >= seq
        } else {
            self.durable_seq >= seq
        }
    }
}

impl Shared {
    fn failure(&self) -> Option<WalError> {
        lock(&self.progress).failure.as_ref().map(Failure::to_error)
    }

    /// Publishes writer progress and wakes whoever it satisfies.
    fn publish(&self, written: Option<u64>, durable: Option<u64>, failure: Option<Failure>) {
        let ready: Vec<Waker> = {
            let mut p = lock(&self.progress);
            if let Some(w) = written {
                p.written_seq = p.written_seq.max(w);
            }
            if let Some(d) = durable {
                p.durable_seq = p.durable_seq.max(d);
                self.durable_seq.store(p.durable_seq, Ordering::Release);
            }
            if failure.is_some() && p.failure.is_none() {
                p.failure = failure;
                self.failed.store(true, Ordering::Release);
            }
            let acked = if self.ack_on_write {
                p.written_seq
            } else {
                p.durable_seq
            };
            let ready = if p.failure.is_some() {
                mem::take(&mut p.wakers)
            } else {
                let later = p.wakers.split_off(&(acked.saturating_add(1), 0));
                mem::replace(&mut p.wakers, later)
            };
            ready.into_values().collect()
        };
        self.progress_cv.notify_all();
        for w in ready {
            w.wake();
        }
    }

    /// Blocks until everything appended so far is durable.
    fn sync(&self) -> Result<()> {
        let target = {
            let mut q = lock(&self.queue);
            let target = q.last_seq;
            if self.durable_seq.load(Ordering::Acquire) >= target {
                return Ok(());
            }
            q.sync_requested = true;
            self.writer_cv.notify_one();
            target
        };
        let mut p = lock(&self.progress);
        loop {
            if p.durable_seq >= target {
                return Ok(());
            }
            if let Some(f) = &p.failure {
                return Err(f.to_error());
            }
            p = self.progress_cv.wait(p).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The writer thread: take the whole queue, write it, fsync once, publish.
fn writer_main(sh: Arc<Shared>, mut io: IoBackend) {
    let mut last_sync = Instant::now();
    let mut dirty = false;
    let mut recycled: Vec<Vec<u8>> = Vec::new();
    loop {
        let (chunks, sync_requested, shutdown) = {
            let mut q = lock(&sh.queue);
            for mut b in recycled.drain(..) {
                // Keep a couple of buffers; drop ones a burst made huge.
                if q.spare.len() < 4 && b.capacity() <= 16 << 20 {
                    b.clear();
                    q.spare.push(b);
                }
            }
            loop {
                if !q.chunks.is_empty() || q.sync_requested || q.shutdown {
                    break;
                }
                match sh.opts.fsync {
                    FsyncPolicy::EveryMillis(ms) if dirty => {
                        let deadline = last_sync + Duration::from_millis(ms);
                        let now = Instant::now();
                        if now >= deadline {
                            break;
                        }
                        q = sh
                            .writer_cv
                            .wait_timeout(q, deadline - now)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                    _ => {
                        q = sh.writer_cv.wait(q).unwrap_or_else(|e| e.into_inner());
                    }
                }
            }
            (
                mem::take(&mut q.chunks),
                mem::take(&mut q.sync_requested),
                q.shutdown,
            )
        };
        let want_sync = match sh.opts.fsync {
            FsyncPolicy::Always => true,
            FsyncPolicy::EveryMillis(ms) => {
                sync_requested || shutdown || last_sync.elapsed() >= Duration::from_millis(ms)
            }
            FsyncPolicy::Never => sync_requested || shutdown,
        };
        match write_round(&sh, &mut io, &chunks, want_sync) {
            Ok(synced) => {
                let written = chunks.last().map(|c| c.last_seq);
                if written.is_some() {
                    dirty = true;
                }
                let durable = if synced {
                    dirty = false;
                    last_sync = Instant::now();
                    Some(lock(&sh.progress).written_seq.max(written.unwrap_or(0)))
                } else {
                    None
                };
                sh.publish(written, durable, None);
            }
            Err(f) => {
                tracing::error!(op = f.op, path = %f.path.display(), error = %f.source,
                    "wal: write failed; the log stops accepting appends");
                sh.publish(None, None, Some(f));
                return;
            }
        }
        recycled.extend(chunks.into_iter().map(|c| c.buf));
        if shutdown {
            let q = lock(&sh.queue);
            if q.chunks.is_empty() {
                return;
            }
        }
    }
}

/// Writes the chunks and, if asked, fdatasyncs. Returns whether the active segment is
/// now clean (everything written so far is durable).
fn write_round(
    sh: &Shared,
    io: &mut IoBackend,
    chunks: &[Chunk],
    want_sync: bool,
) -> std::result::Result<bool, Failure> {
    let mut files = lock(&sh.files);
    let n = chunks.len();
    for (i, chunk) in chunks.iter().enumerate() {
        if let Some(first_seq) = chunk.new_segment {
            // The segment being left must be durable before records after it are
            // acknowledged: the final fsync below only covers the new one.
            if let Some(a) = files.active.as_mut() {
                if a.dirty {
                    let path = files
                        .segs
                        .last()
                        .map(|s| s.path.clone())
                        .unwrap_or_default();
                    let a = files
                        .active
                        .as_mut()
                        .ok_or_else(|| missing_active(&sh.dir))?;
                    let t = Instant::now();
                    io.datasync(&a.file).map_err(|e| Failure {
                        op: "fsync",
                        path,
                        source: Arc::new(e),
                    })?;
                    a.dirty = false;
                    sh.counters.count_fsync(t);
                }
            }
            let prealloc = sh.opts.preallocate.then_some(sh.opts.segment_bytes);
            let (file, path) = create_segment(&sh.dir, first_seq, prealloc)
                .map_err(|e| Failure::from_error(e, &sh.dir))?;
            sh.counters.segments_created.fetch_add(1, Ordering::Relaxed);
            files.segs.push(Seg {
                path,
                first_seq,
                last_seq: None,
                used: HEADER_LEN,
            });
            files.active = Some(ActiveFile {
                file,
                pos: HEADER_LEN,
                dirty: false,
            });
        }
        let last = i + 1 == n;
        let Files { segs, active } = &mut *files;
        let a = active.as_mut().ok_or_else(|| missing_active(&sh.dir))?;
        let seg = segs.last_mut().ok_or_else(|| missing_active(&sh.dir))?;
        let sync_now = want_sync && last;
        let t = Instant::now();
        io.write_at(&a.file, &chunk.buf, a.pos, sync_now)
            .map_err(|(op, e)| Failure {
                op,
                path: seg.path.clone(),
                source: Arc::new(e),
            })?;
        sh.counters.writes.fetch_add(1, Ordering::Relaxed);
        a.pos += chunk.buf.len() as u64;
        seg.used = a.pos;
        seg.last_seq = Some(chunk.last_seq);
        if sync_now {
            sh.counters.count_fsync(t);
            a.dirty = false;
        } else {
            a.dirty = true;
        }
    }
    if !want_sync {
        return Ok(files.active.as_ref().is_none_or(|a| !a.dirty));
    }
    let Files { segs, active } = &mut *files;
    if let Some(a) = active.as_mut() {
        if a.dirty {
            let t = Instant::now();
            io.datasync(&a.file).map_err(|e| Failure {
                op: "fsync",
                path: segs.last().map(|s| s.path.clone()).unwrap_or_default(),
                source: Arc::new(e),
            })?;
            sh.counters.count_fsync(t);
            a.dirty = false;
        }
    }
    Ok(true)
}

fn missing_active(dir: &Path) -> Failure {
    Failure {
        op: "write",
        path: dir.to_path_buf(),
        source: Arc::new(io::Error::other("no active segment (internal error)")),
    }
}

/// Handle to an open log. Cheap to clone; all clones share one writer thread. The
/// writer stops, after writing and syncing everything queued, when the last clone drops.
#[derive(Clone)]
pub struct Wal {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
    backend: Backend,
    /// Holds the directory's advisory lock for the lifetime of the log.
    _lock: File,
}

impl Drop for Inner {
    fn drop(&mut self) {
        {
            let mut q = lock(&self.shared.queue);
            q.shutdown = true;
            self.shared.writer_cv.notify_one();
        }
        if let Some(h) = self.writer.take() {
            if h.join().is_err() {
                tracing::error!("wal: writer thread panicked");
            }
        }
    }
}

/// Proof of an append; redeem it to learn when the record is durable.
#[must_use = "an append is not durable until its ticket completes"]
pub struct AppendTicket {
    seq: u64,
    epoch: u64,
    shared: Arc<Shared>,
}

impl AppendTicket {
    /// The seq this ticket is for.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Blocks until the record is durable (as the fsync policy defines it).
    ///
    /// # Errors
    /// `WalError::Failed` if a write or fsync failed before the record became durable.
    pub fn wait(self) -> Result<()> {
        let mut p = lock(&self.shared.progress);
        loop {
            if p.acked(self.seq, self.epoch, &self.shared) {
                return Ok(());
            }
            if let Some(f) = &p.failure {
                return Err(f.to_error());
            }
            p = self
                .shared
                .progress_cv
                .wait(p)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Completes when the record is durable, without blocking a thread: usable from any
    /// async runtime, as the writer thread wakes the task directly.
    ///
    /// # Errors
    /// As [`AppendTicket::wait`].
    pub async fn durable(self) -> Result<()> {
        Durable {
            seq: self.seq,
            epoch: self.epoch,
            shared: self.shared,
            key: None,
        }
        .await
    }
}

struct Durable {
    seq: u64,
    epoch: u64,
    shared: Arc<Shared>,
    key: Option<(u64, u64)>,
}

impl Future for Durable {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut p = lock(&this.shared.progress);
        if p.acked(this.seq, this.epoch, &this.shared) {
            if let Some(k) = this.key.take() {
                p.wakers.remove(&k);
            }
            return Poll::Ready(Ok(()));
        }
        if let Some(f) = &p.failure {
            let e = f.to_error();
            if let Some(k) = this.key.take() {
                p.wakers.remove(&k);
            }
            return Poll::Ready(Err(e));
        }
        let key = match this.key {
            Some(k) => k,
            None => {
                let k = (this.seq, p.next_waker_id);
                p.next_waker_id += 1;
                this.key = Some(k);
                k
            }
        };
        match p.wakers.get_mut(&key) {
            Some(w) if w.will_wake(cx.waker()) => {}
            Some(w) => w.clone_from(cx.waker()),
            None => {
                p.wakers.insert(key, cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

impl Drop for Durable {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            lock(&self.shared.progress).wakers.remove(&k);
        }
    }
}

/// Iterator over records with `seq >= from`, returned by [`Wal::read_from`].
pub struct WalIter {
    from: u64,
    pending: std::vec::IntoIter<(PathBuf, Option<u64>)>,
    current: Option<SegmentReader>,
    done: bool,
}

impl Iterator for WalIter {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            if self.current.is_none() {
                let (path, limit) = self.pending.next()?;
                match SegmentReader::open_limited(&path, limit) {
                    Ok(r) => self.current = Some(r),
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            }
            let reader = self.current.as_mut()?;
            match reader.next() {
                Some(Ok((_, rec))) if rec.seq < self.from => continue,
                Some(Ok((_, rec))) => return Some(Ok(rec)),
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                None => self.current = None,
            }
        }
        None
    }
}

impl Wal {
    /// Opens (creating if missing) the log in `dir`: verifies every record of every
    /// segment, zeroes a torn tail in the last segment (with a warning), and starts the
    /// writer thread. Takes an advisory lock on `dir/LOCK` so two writers never share a
    /// directory.
    ///
    /// # Errors
    /// `Corrupt` (file + offset) for damage other than a torn tail; `Locked` if another
    /// writer has the directory; `Io` if the directory cannot be created, listed or read.
    pub fn open(dir: &Path, opts: WalOptions) -> Result<Wal> {
        std::fs::create_dir_all(dir).map_err(|e| WalError::io("create directory", dir, e))?;
        let lock_path = dir.join("LOCK");
        let lock_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| WalError::io("open", &lock_path, e))?;
        rustix::fs::flock(
            &lock_file,
            rustix::fs::FlockOperation::NonBlockingLockExclusive,
        )
        .map_err(|e| {
            if e == rustix::io::Errno::WOULDBLOCK {
                WalError::Locked {
                    dir: dir.to_path_buf(),
                }
            } else {
                WalError::io("lock", &lock_path, e.into())
            }
        })?;
        remove_temp_files(dir)?;

        let (segs, active, deleted) = recover(dir)?;
        let last_seq = segs.iter().rev().find_map(|s| s.last_seq).unwrap_or(0);
        let (tail_has_segment, tail_used, tail_records) = match (segs.last(), &active) {
            (Some(s), Some(a)) => (true, a.pos, u64::from(s.last_seq.is_some())),
            _ => (false, 0, 0),
        };
        let io = IoBackend::new(opts.backend);
        let backend = io.kind();
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            opts,
            ack_on_write: opts.fsync != FsyncPolicy::Always,
            queue: Mutex::new(Queue {
                last_seq,
                chunks: Vec::new(),
                tail_has_segment,
                tail_used,
                tail_records,
                sync_requested: false,
                shutdown: false,
                spare: Vec::new(),
            }),
            writer_cv: Condvar::new(),
            files: Mutex::new(Files { segs, active }),
            progress: Mutex::new(Progress {
                written_seq: last_seq,
                durable_seq: last_seq,
                failure: None,
                wakers: BTreeMap::new(),
                next_waker_id: 0,
            }),
            progress_cv: Condvar::new(),
            failed: AtomicBool::new(false),
            last_seq: AtomicU64::new(last_seq),
            durable_seq: AtomicU64::new(last_seq),
            epoch: AtomicU64::new(0),
            counters: Counters::default(),
        });
        shared
            .counters
            .segments_deleted
            .store(deleted, Ordering::Relaxed);
        let writer_shared = shared.clone();
        let writer = std::thread::Builder::new()
            .name("wal-writer".into())
            .spawn(move || writer_main(writer_shared, io))
            .map_err(|e| WalError::io("spawn writer thread for", dir, e))?;
        Ok(Wal {
            inner: Arc::new(Inner {
                shared,
                writer: Some(writer),
                backend,
                _lock: lock_file,
            }),
        })
    }

    fn sh(&self) -> &Shared {
        &self.inner.shared
    }

    /// Queues a record. `seq` must be above every seq appended before. Returns at once;
    /// the record is durable when the ticket completes. Records appended by one thread
    /// are written in order, and a ticket completing implies all lower seqs are durable.
    ///
    /// # Errors
    /// `SeqNotIncreasing`, `RecordTooLarge`, or `Failed` after an earlier I/O failure.
    pub fn append(&self, seq: u64, payload: &[u8]) -> Result<AppendTicket> {
        let sh = self.sh();
        if payload.len() > MAX_PAYLOAD {
            return Err(WalError::RecordTooLarge {
                len: payload.len(),
                max: MAX_PAYLOAD,
            });
        }
        if sh.failed.load(Ordering::Acquire) {
            if let Some(e) = sh.failure() {
                return Err(e);
            }
        }
        // Checksum outside the lock; only the memcpy into the group buffer is serialised.
        let frame = encode_frame(seq, payload);
        let rec_len = FRAME_LEN + payload.len() as u64;
        let epoch;
        {
            let mut q = lock(&sh.queue);
            if seq <= q.last_seq {
                return Err(WalError::SeqNotIncreasing {
                    seq,
                    last: q.last_seq,
                });
            }
            let rotate = !q.tail_has_segment
                || (q.tail_records > 0 && q.tail_used + rec_len > sh.opts.segment_bytes);
            let was_idle = q.chunks.is_empty();
            if rotate || q.chunks.is_empty() {
                let buf = q.spare.pop().unwrap_or_default();
                q.chunks.push(Chunk {
                    new_segment: rotate.then_some(seq),
                    buf,
                    last_seq: seq,
                });
            }
            if rotate {
                q.tail_has_segment = true;
                q.tail_used = HEADER_LEN;
                q.tail_records = 0;
            }
            if let Some(c) = q.chunks.last_mut() {
                c.buf.extend_from_slice(&frame);
                c.buf.extend_from_slice(payload);
                c.last_seq = seq;
            }
            q.tail_used += rec_len;
            q.tail_records += 1;
            q.last_seq = seq;
            sh.last_seq.store(seq, Ordering::Release);
            epoch = sh.epoch.load(Ordering::Acquire);
            // The writer only sleeps on an empty queue, so only that transition needs a
            // wake-up (saving a futex syscall per append under load).
            if was_idle {
                sh.writer_cv.notify_one();
            }
        }
        sh.counters.appends.fetch_add(1, Ordering::Relaxed);
        sh.counters
            .appended_bytes
            .fetch_add(payload.len() as u64, Ordering::Relaxed);
        Ok(AppendTicket {
            seq,
            epoch,
            shared: self.inner.shared.clone(),
        })
    }

    /// Highest seq appended (queued or written); 0 for an empty log.
    pub fn last_seq(&self) -> u64 {
        self.sh().last_seq.load(Ordering::Acquire)
    }

    /// Highest seq known to be fdatasynced.
    pub fn durable_seq(&self) -> u64 {
        self.sh().durable_seq.load(Ordering::Acquire)
    }

    /// Writes and fdatasyncs everything appended so far, whatever the fsync policy.
    ///
    /// # Errors
    /// `Failed` if a write or fsync failed.
    pub fn sync(&self) -> Result<()> {
        self.sh().sync()
    }

    /// Iterates written records with `seq >= seq`, oldest first, verifying each.
    /// Records still queued are not included (call `sync` first to include them).
    /// A segment purged during iteration ends it with an `Io` error.
    ///
    /// # Errors
    /// None when creating the iterator; items may be `Io` or `Corrupt` errors.
    pub fn read_from(&self, seq: u64) -> Result<WalIter> {
        let files = lock(&self.sh().files);
        let start = files
            .segs
            .iter()
            .rposition(|s| s.first_seq <= seq)
            .unwrap_or(0);
        let n = files.segs.len();
        let list: Vec<(PathBuf, Option<u64>)> = files.segs[start..]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let limit = if start + i + 1 == n {
                    Some(s.used)
                } else {
                    None
                };
                (s.path.clone(), limit)
            })
            .collect();
        Ok(WalIter {
            from: seq,
            pending: list.into_iter(),
            current: None,
            done: false,
        })
    }

    /// Deletes segments all of whose records are below `seq` (never the active one),
    /// oldest first so a crash leaves a valid suffix. Returns how many were deleted.
    ///
    /// # Errors
    /// `Io` if a file cannot be removed or the directory synced.
    pub fn purge_below(&self, seq: u64) -> Result<usize> {
        let sh = self.sh();
        let mut files = lock(&sh.files);
        let mut n = 0;
        // Segment i holds only seqs below segs[i+1].first_seq.
        while files.segs.len() >= 2 && files.segs[1].first_seq <= seq {
            let seg = files.segs.remove(0);
            std::fs::remove_file(&seg.path).map_err(|e| WalError::io("remove", &seg.path, e))?;
            n += 1;
        }
        if n > 0 {
            sync_dir(&sh.dir)?;
            sh.counters
                .segments_deleted
                .fetch_add(n as u64, Ordering::Relaxed);
            tracing::info!(segments = n, below = seq, "wal: purged segments");
        }
        Ok(n)
    }

    /// Drops every record with a seq above `seq`: later segments are deleted (newest
    /// first, so every intermediate state is a valid prefix) and the rest of the
    /// containing segment is zeroed. Appends then continue above the new last seq.
    /// Meant for recovery tools and for followers told to truncate; it waits for
    /// in-flight appends to be written first.
    ///
    /// # Errors
    /// `Io` on file failures, `Corrupt` if the kept segment no longer verifies, `Failed`
    /// if the writer had already failed.
    pub fn truncate_after(&self, seq: u64) -> Result<()> {
        let sh = self.sh();
        let mut q = loop {
            sh.sync()?;
            let q = lock(&sh.queue);
            if q.chunks.is_empty() && lock(&sh.progress).written_seq >= q.last_seq {
                break q;
            }
        };
        if seq >= q.last_seq {
            return Ok(());
        }
        let mut files = lock(&sh.files);
        let mut deleted = 0u64;
        while files.segs.last().is_some_and(|s| s.first_seq > seq) {
            files.active = None;
            if let Some(seg) = files.segs.pop() {
                std::fs::remove_file(&seg.path)
                    .map_err(|e| WalError::io("remove", &seg.path, e))?;
                deleted += 1;
            }
        }
        if deleted > 0 {
            sync_dir(&sh.dir)?;
        }
        files.active = None;
        let mut new_last = 0;
        if let Some(seg) = files.segs.last_mut() {
            let mut cut = HEADER_LEN;
            let mut kept = None;
            let mut reader = SegmentReader::open_limited(&seg.path, Some(seg.used))?;
            while let Some(item) = reader.next() {
                let (_, rec) = item?;
                if rec.seq > seq {
                    break;
                }
                kept = Some(rec.seq);
                cut = reader.offset();
            }
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&seg.path)
                .map_err(|e| WalError::io("open", &seg.path, e))?;
            zero_range(&file, &seg.path, cut, seg.used)?;
            seg.used = cut;
            seg.last_seq = kept;
            new_last = kept.unwrap_or(0);
            files.active = Some(ActiveFile {
                file,
                pos: cut,
                dirty: false,
            });
            q.tail_has_segment = true;
            q.tail_used = cut;
            q.tail_records = u64::from(kept.is_some());
        } else {
            q.tail_has_segment = false;
            q.tail_used = 0;
            q.tail_records = 0;
        }
        q.last_seq = new_last;
        sh.last_seq.store(new_last, Ordering::Release);
        sh.epoch.fetch_add(1, Ordering::AcqRel);
        let wakers = {
            let mut p = lock(&sh.progress);
            p.written_seq = new_last;
            p.durable_seq = new_last;
            sh.durable_seq.store(new_last, Ordering::Release);
            mem::take(&mut p.wakers)
        };
        sh.progress_cv.notify_all();
        for w in wakers.into_values() {
            w.wake();
        }
        sh.counters
            .segments_deleted
            .fetch_add(deleted, Ordering::Relaxed);
        tracing::warn!(
            after = seq,
            segments_deleted = deleted,
            "wal: truncated records"
        );
        Ok(())
    }

    /// The segment files, oldest first.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        let files = lock(&self.sh().files);
        let n = files.segs.len();
        files
            .segs
            .iter()
            .enumerate()
            .map(|(i, s)| SegmentInfo {
                path: s.path.clone(),
                first_seq: s.first_seq,
                last_seq: s.last_seq,
                bytes: s.used,
                active: i + 1 == n && files.active.is_some(),
            })
            .collect()
    }

    /// Counters since open.
    pub fn stats(&self) -> WalStats {
        let c = &self.sh().counters;
        WalStats {
            appends: c.appends.load(Ordering::Relaxed),
            appended_bytes: c.appended_bytes.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            fsyncs: c.fsyncs.load(Ordering::Relaxed),
            fsync_nanos: c.fsync_nanos.load(Ordering::Relaxed),
            segments_created: c.segments_created.load(Ordering::Relaxed),
            segments_deleted: c.segments_deleted.load(Ordering::Relaxed),
        }
    }

    /// The backend actually in use (`Std` after a fallback).
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The directory of the log.
    pub fn dir(&self) -> &Path {
        &self.sh().dir
    }

    /// The options the log was opened with.
    pub fn options(&self) -> WalOptions {
        self.sh().opts
    }
}

/// Removes `wal-*.log.tmp` left by a crash during segment creation; they never held
/// records (a segment is renamed into place before its first write).
fn remove_temp_files(dir: &Path) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|e| WalError::io("list directory", dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| WalError::io("list directory", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(base) = name.strip_suffix(".tmp") {
            if parse_segment_file_name(base).is_some() {
                let p = entry.path();
                tracing::warn!(path = %p.display(), "wal: removing unfinished segment file");
                std::fs::remove_file(&p).map_err(|e| WalError::io("remove", &p, e))?;
            }
        }
    }
    Ok(())
}

/// Verifies every segment and repairs a torn tail; returns the segment list, the open
/// active segment and how many (empty) segments were deleted.
fn recover(dir: &Path) -> Result<(Vec<Seg>, Option<ActiveFile>, u64)> {
    let listed = list_segments(dir)?;
    let mut segs: Vec<Seg> = Vec::with_capacity(listed.len());
    let mut prev_last: Option<u64> = None;
    let mut last_valid_end = HEADER_LEN;
    for (i, (name_seq, path)) in listed.iter().enumerate() {
        let is_last = i + 1 == listed.len();
        let report = scan_segment(path, is_last, false)?;
        if let Some(fault) = report.faults.first() {
            if fault.kind != FaultKind::TornTail {
                return Err(fault.to_error());
            }
            tracing::warn!(
                file = %fault.file.display(),
                offset = fault.offset,
                bytes = fault.end.saturating_sub(fault.offset),
                reason = %fault.reason,
                "wal: truncating torn tail"
            );
            let file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| WalError::io("open", path, e))?;
            zero_range(&file, path, report.valid_end, fault.end)?;
        }
        let header = report
            .header
            .ok_or_else(|| WalError::corrupt(path, 0, "bad header"))?;
        if header.first_seq != *name_seq {
            return Err(WalError::corrupt(
                path,
                0,
                format!(
                    "header first seq {} does not match the file name",
                    header.first_seq
                ),
            ));
        }
        if let Some(prev) = prev_last {
            if header.first_seq <= prev {
                return Err(WalError::corrupt(
                    path,
                    0,
                    format!(
                        "segment starts at seq {} but the previous segment reaches {prev}",
                        header.first_seq
                    ),
                ));
            }
        }
        if report.last_seq.is_some() {
            prev_last = report.last_seq;
        }
        last_valid_end = report.valid_end;
        segs.push(Seg {
            path: path.clone(),
            first_seq: header.first_seq,
            last_seq: report.last_seq,
            used: report.valid_end,
        });
    }
    let mut deleted = 0;
    // An empty last segment is one whose first write never landed; its first seq may be
    // reused, so drop it rather than append below its name.
    if segs.last().is_some_and(|s| s.last_seq.is_none()) {
        if let Some(seg) = segs.pop() {
            tracing::warn!(path = %seg.path.display(), "wal: removing empty last segment");
            std::fs::remove_file(&seg.path).map_err(|e| WalError::io("remove", &seg.path, e))?;
            sync_dir(dir)?;
            deleted += 1;
            last_valid_end = segs.last().map_or(HEADER_LEN, |s| s.used);
        }
    }
    let active = match segs.last() {
        Some(seg) => {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&seg.path)
                .map_err(|e| WalError::io("open", &seg.path, e))?;
            // Whatever a crashed process left in the page cache is made durable now, so
            // durable_seq can start at last_seq.
            file.sync_data()
                .map_err(|e| WalError::io("fsync", &seg.path, e))?;
            Some(ActiveFile {
                file,
                pos: last_valid_end,
                dirty: false,
            })
        }
        None => None,
    };
    Ok((segs, active, deleted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Wake;

    struct CountingWaker(AtomicU64);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn pending_async_waiter_is_woken_and_deregistered_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::open(tmp.path(), WalOptions::default()).unwrap();
        let counter = Arc::new(CountingWaker(AtomicU64::new(0)));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);

        // Holding `files` stalls the writer, so the tickets cannot complete yet.
        let files = lock(&wal.sh().files);
        let t1 = wal.append(1, b"a").unwrap();
        let t2 = wal.append(2, b"b").unwrap();
        let mut f1 = Box::pin(t1.durable());
        let mut f2 = Box::pin(t2.durable());
        assert!(f1.as_mut().poll(&mut cx).is_pending());
        assert!(f2.as_mut().poll(&mut cx).is_pending());
        assert!(f2.as_mut().poll(&mut cx).is_pending()); // re-poll does not re-register
        assert_eq!(lock(&wal.sh().progress).wakers.len(), 2);
        drop(f2);
        assert_eq!(lock(&wal.sh().progress).wakers.len(), 1);
        drop(files);

        while counter.0.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(matches!(f1.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
        assert!(lock(&wal.sh().progress).wakers.is_empty());
    }

    #[test]
    fn failed_write_fails_waiters_and_later_appends() {
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::open(tmp.path(), WalOptions::default()).unwrap();
        wal.append(1, b"ok").unwrap().wait().unwrap();
        {
            // Swap the active segment's handle for a read-only one: the next pwrite
            // fails with EBADF, as a dying disk would fail it.
            let mut files = lock(&wal.sh().files);
            let path = files.segs.last().unwrap().path.clone();
            files.active.as_mut().unwrap().file = File::open(path).unwrap();
        }
        let err = wal.append(2, b"lost").unwrap().wait().unwrap_err();
        assert!(matches!(err, WalError::Failed { op: "write", .. }), "{err}");
        assert!(matches!(wal.append(3, b"x"), Err(WalError::Failed { .. })));
        assert!(wal.sync().is_err());
        assert_eq!(wal.durable_seq(), 1);
        drop(wal);
        // Reopening recovers what was durable.
        let wal = Wal::open(tmp.path(), WalOptions::default()).unwrap();
        assert_eq!(wal.last_seq(), 1);
    }
}
