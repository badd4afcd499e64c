//! The state that every handle, every ticket and the writer thread share, and the rules
//! for touching it.
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
//!
//! What each lock guards lives in a module of its own: the queue in `queue`, the segment
//! files in `files`, the writer's progress and its waiters in `progress`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

use super::files::Files;
use super::options::{FsyncPolicy, WalOptions, WalStats};
use super::progress::Progress;
use super::queue::Queue;

pub(super) struct Shared {
    pub(super) dir: PathBuf,
    pub(super) opts: WalOptions,
    /// Under `Always`, tickets complete at fsync; otherwise once written.
    pub(super) ack_on_write: bool,
    pub(super) queue: Mutex<Queue>,
    pub(super) writer_cv: Condvar,
    pub(super) files: Mutex<Files>,
    pub(super) progress: Mutex<Progress>,
    pub(super) progress_cv: Condvar,
    pub(super) failed: AtomicBool,
    pub(super) last_seq: AtomicU64,
    pub(super) durable_seq: AtomicU64,
    /// Bumped (under the queue lock) by every `truncate_after`. Tickets issued before a
    /// truncation are complete: it synced everything first, even records it then cut.
    pub(super) epoch: AtomicU64,
    pub(super) counters: Counters,
}

impl Shared {
    /// The state of a log just recovered: everything in `files` is durable (recovery
    /// synced it), so written, durable and last seq all start at its last record.
    /// `deleted` counts the segments recovery removed.
    pub(super) fn new(dir: &Path, opts: WalOptions, files: Files, deleted: u64) -> Shared {
        let last_seq = files.last_seq();
        let shared = Shared {
            dir: dir.to_path_buf(),
            opts,
            ack_on_write: opts.fsync != FsyncPolicy::Always,
            queue: Mutex::new(Queue::new(last_seq, files.tail())),
            writer_cv: Condvar::new(),
            files: Mutex::new(files),
            progress: Mutex::new(Progress::new(last_seq)),
            progress_cv: Condvar::new(),
            failed: AtomicBool::new(false),
            last_seq: AtomicU64::new(last_seq),
            durable_seq: AtomicU64::new(last_seq),
            epoch: AtomicU64::new(0),
            counters: Counters::default(),
        };
        shared
            .counters
            .segments_deleted
            .store(deleted, Ordering::Relaxed);
        shared
    }
}

/// The live side of [`WalStats`]: bumped without a lock, read as a snapshot.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) appends: AtomicU64,
    pub(super) appended_bytes: AtomicU64,
    pub(super) writes: AtomicU64,
    pub(super) fsyncs: AtomicU64,
    pub(super) fsync_nanos: AtomicU64,
    pub(super) segments_created: AtomicU64,
    pub(super) segments_deleted: AtomicU64,
}

impl Counters {
    pub(super) fn count_fsync(&self, started: Instant) {
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.fsync_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> WalStats {
        WalStats {
            appends: self.appends.load(Ordering::Relaxed),
            appended_bytes: self.appended_bytes.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            fsyncs: self.fsyncs.load(Ordering::Relaxed),
            fsync_nanos: self.fsync_nanos.load(Ordering::Relaxed),
            segments_created: self.segments_created.load(Ordering::Relaxed),
            segments_deleted: self.segments_deleted.load(Ordering::Relaxed),
        }
    }
}

/// A poisoned mutex only means another thread panicked while holding it; the state it
/// guards is still consistent at every await point of this module, so carry on.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `cv.wait(guard)`, carrying on past poisoning as [`lock`] does.
pub(super) fn wait<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    cv.wait(guard).unwrap_or_else(|e| e.into_inner())
}
