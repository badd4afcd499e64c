//! How far the writer has got, and everyone waiting on it.
//!
//! The writer publishes two marks, written and durable, and at most one failure; the
//! rest of the log only reads them. A ticket is complete when the mark its fsync policy
//! names has reached its seq. Blocking waiters sleep on `progress_cv`; async ones leave
//! a waker keyed by the seq they want, so each publish wakes exactly the tasks it
//! satisfies instead of every task in flight.
//!
//! A failure is sticky. After a failed fsync the kernel may have dropped the dirty pages,
//! so a retry could report durability that is not there: once set, every waiter and
//! every later append gets the same `Failed` error until the log is reopened.

use std::collections::BTreeMap;
use std::io;
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::task::Waker;

use super::queue::Queue;
use super::shared::{lock, wait, Shared};
use crate::error::{Result, WalError};

/// The first write or fsync error, kept to be handed to every caller that asks.
#[derive(Clone)]
pub(super) struct Failure {
    pub(super) op: &'static str,
    pub(super) path: PathBuf,
    pub(super) source: Arc<io::Error>,
}

impl Failure {
    pub(super) fn new(op: &'static str, path: PathBuf, source: io::Error) -> Failure {
        Failure {
            op,
            path,
            source: Arc::new(source),
        }
    }

    pub(super) fn from_error(e: WalError, fallback_path: &Path) -> Failure {
        match e {
            WalError::Io { op, path, source } => Failure::new(op, path, source),
            WalError::Failed { op, path, source } => Failure { op, path, source },
            other => Failure::new(
                "write",
                fallback_path.to_path_buf(),
                io::Error::other(other.to_string()),
            ),
        }
    }

    /// The writer found no active segment to write to, which appends never allow.
    pub(super) fn missing_active(dir: &Path) -> Failure {
        Failure::new(
            "write",
            dir.to_path_buf(),
            io::Error::other("no active segment (internal error)"),
        )
    }

    pub(super) fn to_error(&self) -> WalError {
        WalError::Failed {
            op: self.op,
            path: self.path.clone(),
            source: self.source.clone(),
        }
    }
}

pub(super) struct Progress {
    pub(super) written_seq: u64,
    pub(super) durable_seq: u64,
    pub(super) failure: Option<Failure>,
    /// Async waiters keyed by (seq they wait for, unique id).
    pub(super) wakers: BTreeMap<(u64, u64), Waker>,
    pub(super) next_waker_id: u64,
}

impl Progress {
    /// Nothing in flight: everything up to `last_seq` is written and durable.
    pub(super) fn new(last_seq: u64) -> Progress {
        Progress {
            written_seq: last_seq,
            durable_seq: last_seq,
            failure: None,
            wakers: BTreeMap::new(),
            next_waker_id: 0,
        }
    }

    /// Whether the ticket for `seq`, issued in `epoch`, is complete.
    pub(super) fn acked(&self, seq: u64, epoch: u64, sh: &Shared) -> bool {
        if epoch < sh.epoch.load(Ordering::Acquire) {
            return true;
        }
        if sh.ack_on_write {
            self.written_seq >= seq
        } else {
            self.durable_seq >= seq
        }
    }

    /// How a wait ends, given whether what it waits for has happened: `Ok` if it has,
    /// the failure if the writer stopped first, `None` while it is still to come.
    pub(super) fn settled(&self, done: bool) -> Option<Result<()>> {
        if done {
            return Some(Ok(()));
        }
        self.failure.as_ref().map(|f| Err(f.to_error()))
    }
}

impl Shared {
    pub(super) fn failure(&self) -> Option<WalError> {
        lock(&self.progress).failure.as_ref().map(Failure::to_error)
    }

    /// Publishes writer progress and wakes whoever it satisfies.
    pub(super) fn publish(
        &self,
        written: Option<u64>,
        durable: Option<u64>,
        failure: Option<Failure>,
    ) {
        let ready = {
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
            if p.failure.is_some() {
                mem::take(&mut p.wakers)
            } else {
                let later = p.wakers.split_off(&(acked.saturating_add(1), 0));
                mem::replace(&mut p.wakers, later)
            }
        };
        self.wake(ready);
    }

    /// Sets both marks to `last_seq` after a truncation and wakes every waiter: tickets
    /// issued before it are complete (see `epoch`).
    pub(super) fn reset_progress(&self, last_seq: u64) {
        let wakers = {
            let mut p = lock(&self.progress);
            p.written_seq = last_seq;
            p.durable_seq = last_seq;
            self.durable_seq.store(last_seq, Ordering::Release);
            mem::take(&mut p.wakers)
        };
        self.wake(wakers);
    }

    /// Wakes the blocking waiters (to re-check) and the given async ones.
    fn wake(&self, wakers: BTreeMap<(u64, u64), Waker>) {
        self.progress_cv.notify_all();
        for w in wakers.into_values() {
            w.wake();
        }
    }

    /// Blocks until `done` holds for the progress, or the writer fails.
    pub(super) fn wait_until(&self, done: impl Fn(&Progress) -> bool) -> Result<()> {
        let mut p = lock(&self.progress);
        loop {
            if let Some(outcome) = p.settled(done(&p)) {
                return outcome;
            }
            p = wait(&self.progress_cv, p);
        }
    }

    /// Blocks until everything appended so far is durable.
    pub(super) fn sync(&self) -> Result<()> {
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
        self.wait_until(|p| p.durable_seq >= target)
    }

    /// Waits until every append is written and nothing is queued, and returns with the
    /// queue locked so that none can start.
    pub(super) fn quiesce(&self) -> Result<MutexGuard<'_, Queue>> {
        loop {
            self.sync()?;
            let q = lock(&self.queue);
            if q.chunks.is_empty() && lock(&self.progress).written_seq >= q.last_seq {
                return Ok(q);
            }
        }
    }
}
