//! Raft's log in the txn log: each entry is one WAL record whose seq is the entry's
//! index plus one (the WAL's seqs start above 0; Raft's first entry has index 0), and
//! whose payload is the entry in bincode.
//!
//! `append` queues the records and returns; a flusher thread waits for the group's
//! fdatasync and only then tells Raft the entries are durable, so the leader and every
//! follower acknowledge a batch of entries with one fsync. Entries still on their way to
//! disk are served from a bounded in-memory tail, which also spares the leader a file
//! read for each replication round.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::{mpsc, Arc};

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{ErrorSubject, ErrorVerb, LogState, RaftLogReader, StorageError, Vote};
use parking_lot::Mutex;
use warren_wal::{AppendTicket, Wal};

use crate::meta::{MetaDir, VoteState};
use crate::{Entry, LogId, ReplicationError, Warren};

/// Bytes of recent entries kept in memory beyond those not yet durable.
const TAIL_BYTES: usize = 64 << 20;
/// Bytes of entries in one replication batch (the peer frame limit is 256 MiB).
const BATCH_BYTES: usize = 32 << 20;

type StoreResult<T> = Result<T, StorageError<u64>>;

fn read_err(e: impl std::error::Error + 'static) -> StorageError<u64> {
    StorageError::from_io_error(
        ErrorSubject::Logs,
        ErrorVerb::Read,
        std::io::Error::other(e.to_string()),
    )
}

fn write_err(e: impl std::error::Error + 'static) -> StorageError<u64> {
    StorageError::from_io_error(
        ErrorSubject::Logs,
        ErrorVerb::Write,
        std::io::Error::other(e.to_string()),
    )
}

fn vote_err(e: impl std::error::Error + 'static) -> StorageError<u64> {
    StorageError::from_io_error(
        ErrorSubject::Vote,
        ErrorVerb::Write,
        std::io::Error::other(e.to_string()),
    )
}

/// Encodes an entry as a WAL payload.
///
/// # Errors
/// Never for entries of this crate's types; the error is bincode's.
pub fn encode_entry(entry: &Entry) -> Result<Vec<u8>, bincode::Error> {
    bincode::serialize(entry)
}

/// Decodes a WAL payload written by [`encode_entry`].
///
/// # Errors
/// When the payload is not an entry.
pub fn decode_entry(payload: &[u8]) -> Result<Entry, bincode::Error> {
    bincode::deserialize(payload)
}

/// Recent entries, oldest first, contiguous.
#[derive(Default)]
struct Tail {
    entries: VecDeque<(Entry, usize)>,
    bytes: usize,
}

impl Tail {
    fn first_index(&self) -> Option<u64> {
        self.entries.front().map(|(e, _)| e.log_id.index)
    }

    fn push(&mut self, entry: Entry, size: usize) {
        self.bytes += size;
        self.entries.push_back((entry, size));
    }

    /// Drops entries from the front while over budget, never one that is not durable.
    fn trim(&mut self, durable_seq: u64) {
        while self.bytes > TAIL_BYTES {
            match self.entries.front() {
                Some((e, size)) if e.log_id.index < durable_seq => {
                    self.bytes -= size;
                    self.entries.pop_front();
                }
                _ => break,
            }
        }
    }

    fn truncate_from(&mut self, index: u64) {
        while matches!(self.entries.back(), Some((e, _)) if e.log_id.index >= index) {
            if let Some((_, size)) = self.entries.pop_back() {
                self.bytes -= size;
            }
        }
    }
}

struct Inner {
    wal: Wal,
    meta: MetaDir,
    tail: Mutex<Tail>,
    vote: Mutex<VoteState>,
    last_log_id: Mutex<Option<LogId>>,
    flusher: Mutex<mpsc::Sender<(AppendTicket, LogFlushed<Warren>)>>,
}

/// The log store (and, cloned, its reader).
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Inner>,
}

impl LogStore {
    /// The store over an open `wal` and the vote in `meta`.
    ///
    /// # Errors
    /// When the last record cannot be read or is not an entry, or the vote cannot be read.
    pub fn open(wal: Wal, meta: MetaDir) -> Result<LogStore, ReplicationError> {
        let last_log_id = read_last(&wal)?;
        let vote = meta.read_vote()?;
        let (tx, rx) = mpsc::channel::<(AppendTicket, LogFlushed<Warren>)>();
        std::thread::Builder::new()
            .name("warren-raft-flush".into())
            .spawn(move || {
                while let Ok((ticket, done)) = rx.recv() {
                    done.log_io_completed(ticket.wait().map_err(std::io::Error::other));
                }
            })
            .map_err(|source| ReplicationError::Io {
                path: wal.dir().to_owned(),
                source,
            })?;
        Ok(LogStore {
            inner: Arc::new(Inner {
                wal,
                meta,
                tail: Mutex::new(Tail::default()),
                vote: Mutex::new(vote),
                last_log_id: Mutex::new(last_log_id),
                flusher: Mutex::new(tx),
            }),
        })
    }

    /// The WAL under the store (for its counters and a final sync).
    pub fn wal(&self) -> &Wal {
        &self.inner.wal
    }

    /// The index of the last entry in the log.
    pub fn last_index(&self) -> Option<u64> {
        self.inner.last_log_id.lock().map(|l| l.index)
    }

    /// The entries in `[start, end)`, contiguous from `start`, stopping after the first
    /// entry that brings their size to `max_bytes` or more.
    fn entries(&self, start: u64, end: u64, max_bytes: usize) -> StoreResult<Vec<Entry>> {
        let mut out = Vec::new();
        if start >= end {
            return Ok(out);
        }
        let mut bytes = 0usize;
        let tail = self.inner.tail.lock();
        let from_disk_end = tail.first_index().map_or(end, |f| f.min(end));
        if start < from_disk_end {
            for rec in self.inner.wal.read_from(start + 1).map_err(read_err)? {
                let rec = rec.map_err(read_err)?;
                if rec.seq > from_disk_end || bytes >= max_bytes {
                    break;
                }
                bytes += rec.payload.len();
                out.push(decode_entry(&rec.payload).map_err(read_err)?);
            }
        }
        for (e, size) in &tail.entries {
            if bytes >= max_bytes {
                break;
            }
            if e.log_id.index >= start && e.log_id.index < end {
                bytes += size;
                out.push(e.clone());
            }
        }
        Ok(out)
    }
}

fn read_last(wal: &Wal) -> Result<Option<LogId>, ReplicationError> {
    let last = wal.last_seq();
    if last == 0 {
        return Ok(None);
    }
    let rec =
        wal.read_from(last)?
            .next()
            .transpose()?
            .ok_or_else(|| ReplicationError::Corrupt {
                path: wal.dir().to_owned(),
                reason: format!("the last record (seq {last}) cannot be read back"),
            })?;
    let entry = decode_entry(&rec.payload).map_err(|e| ReplicationError::Corrupt {
        path: wal.dir().to_owned(),
        reason: format!(
            "record {last} is not a Raft entry ({e}): was this log written by a standalone \
             server? A standalone data dir cannot join an ensemble as it is; import it \
             with `warren import` on a fresh member instead"
        ),
    })?;
    Ok(Some(entry.log_id))
}

fn bounds(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s + 1,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e + 1,
        Bound::Excluded(&e) => e,
        Bound::Unbounded => u64::MAX,
    };
    (start, end)
}

impl RaftLogReader<Warren> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> StoreResult<Vec<Entry>> {
        let (start, end) = bounds(&range);
        let last = self.last_index().map_or(0, |l| l + 1);
        self.entries(start, end.min(last), usize::MAX)
    }

    /// Replication batches stop at [`BATCH_BYTES`] (at least one entry), so that one
    /// AppendEntries stays well under the peer frame limit whatever the txn sizes.
    async fn limited_get_log_entries(&mut self, start: u64, end: u64) -> StoreResult<Vec<Entry>> {
        let last = self.last_index().map_or(0, |l| l + 1);
        self.entries(start, end.min(last), BATCH_BYTES)
    }
}

impl RaftLogStorage<Warren> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> StoreResult<LogState<Warren>> {
        let purged = self.inner.vote.lock().purged;
        // After a snapshot install the log may hold only entries below the purged point
        // (they stay in the active segment until it is purged too), or none.
        let last = (*self.inner.last_log_id.lock()).max(purged);
        Ok(LogState {
            last_purged_log_id: purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> StoreResult<()> {
        let mut state = self.inner.vote.lock().clone();
        state.vote = Some(*vote);
        self.inner.meta.write_vote(&state).map_err(vote_err)?;
        *self.inner.vote.lock() = state;
        Ok(())
    }

    async fn read_vote(&mut self) -> StoreResult<Option<Vote<u64>>> {
        Ok(self.inner.vote.lock().vote)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<Warren>) -> StoreResult<()>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut last_ticket = None;
        for entry in entries {
            let bytes = encode_entry(&entry).map_err(write_err)?;
            let ticket = self
                .inner
                .wal
                .append(entry.log_id.index + 1, &bytes)
                .map_err(write_err)?;
            *self.inner.last_log_id.lock() = Some(entry.log_id);
            let mut tail = self.inner.tail.lock();
            tail.push(entry, bytes.len());
            tail.trim(self.inner.wal.durable_seq());
            last_ticket = Some(ticket);
        }
        match last_ticket {
            Some(t) => {
                let sent = self.inner.flusher.lock().send((t, callback));
                if let Err(mpsc::SendError((_, callback))) = sent {
                    callback
                        .log_io_completed(Err(std::io::Error::other("the log flusher stopped")));
                }
            }
            None => callback.log_io_completed(Ok(())),
        }
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> StoreResult<()> {
        self.inner.tail.lock().truncate_from(log_id.index);
        self.inner
            .wal
            .truncate_after(log_id.index)
            .map_err(write_err)?;
        let last = read_last(&self.inner.wal).map_err(write_err)?;
        *self.inner.last_log_id.lock() = last;
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> StoreResult<()> {
        let mut state = self.inner.vote.lock().clone();
        state.purged = Some(log_id);
        self.inner.meta.write_vote(&state).map_err(vote_err)?;
        *self.inner.vote.lock() = state;
        // Whole segments only; entries at or below `log_id` that remain are never read.
        self.inner
            .wal
            .purge_below(log_id.index + 2)
            .map_err(write_err)?;
        Ok(())
    }
}
