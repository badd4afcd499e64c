//! [`Wal`], the handle callers hold, and [`WalIter`], its replay.
//!
//! The handle is a façade: every method is a short sequence of steps whose substance is
//! elsewhere (recovery, the queue, the writer, the segment files). What lives here is the
//! order of those steps and which locks they run under, because that is what makes each
//! operation safe beside concurrent appends.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use super::options::{SegmentInfo, WalOptions, WalStats};
use super::recovery::recover;
use super::shared::{lock, Shared};
use super::ticket::AppendTicket;
use super::writer;
use crate::error::{Result, WalError};
use crate::format::{encode_frame, MAX_PAYLOAD};
use crate::io::{sync_dir, Backend, IoBackend};
use crate::scan::{Record, SegmentReader};

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
        let lock_file = lock_dir(dir)?;
        let (files, deleted) = recover(dir, opts.verify_from)?;
        let io = IoBackend::new(opts.backend);
        let backend = io.kind();
        let shared = Arc::new(Shared::new(dir, opts, files, deleted));
        let writer = writer::spawn(shared.clone(), io)
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

    pub(super) fn sh(&self) -> &Shared {
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
        let epoch = {
            let mut q = lock(&sh.queue);
            let was_idle = q.push(seq, &frame, payload, sh.opts.segment_bytes)?;
            sh.last_seq.store(seq, Ordering::Release);
            let epoch = sh.epoch.load(Ordering::Acquire);
            // The writer only sleeps on an empty queue, so only that transition needs a
            // wake-up (saving a futex syscall per append under load).
            if was_idle {
                sh.writer_cv.notify_one();
            }
            epoch
        };
        sh.counters.appends.fetch_add(1, Ordering::Relaxed);
        sh.counters
            .appended_bytes
            .fetch_add(payload.len() as u64, Ordering::Relaxed);
        Ok(AppendTicket::new(seq, epoch, self.inner.shared.clone()))
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
        let list = lock(&self.sh().files).replay_list(seq);
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
        let n = files.purge_below(seq)?;
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
        // Holding the queue keeps appends out until the cut is done.
        let mut q = sh.quiesce()?;
        if seq >= q.last_seq {
            return Ok(());
        }
        let mut files = lock(&sh.files);
        let deleted = files.delete_after(seq)?;
        if deleted > 0 {
            sync_dir(&sh.dir)?;
        }
        let new_last = files.cut_last_after(seq)?;
        q.tail = files.tail();
        q.last_seq = new_last;
        sh.last_seq.store(new_last, Ordering::Release);
        sh.epoch.fetch_add(1, Ordering::AcqRel);
        sh.reset_progress(new_last);
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
        lock(&self.sh().files).infos()
    }

    /// Counters since open.
    pub fn stats(&self) -> WalStats {
        self.sh().counters.snapshot()
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

/// Takes the advisory lock on `dir/LOCK`, held through the returned file.
fn lock_dir(dir: &Path) -> Result<File> {
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
    Ok(lock_file)
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
