//! The state machine is the server's applier: committed entries are handed to it in log
//! order, each of their txns with its zxid, and `apply` returns once the applier has
//! applied them through the one apply function (the same code as recovery), so what Raft
//! reports as applied is what the engine holds.
//!
//! The applier tells the bridge it is done with a txn by asking for the next one
//! ([`Feed::next_delivery`]), which keeps the server's side a plain loop.
//!
//! After a restart the applied point is the last entry the engine holds in full, found
//! from its last zxid (or the current snapshot's, when the engine holds it); Raft
//! re-applies what follows once it learns the commit point, and the txns of a partly
//! applied entry that the engine already holds are skipped. Blank and membership
//! entries change no znode; the memberships are kept in `raft/`. An entry whose command
//! names another term than its own is void (see [`Command`]).
//!
//! Snapshots ([`crate::snapshot`]) are built from a pinned engine while applies go on,
//! and installed by the applier, handed an [`Install`] through the same feed.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{mpsc, Arc};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    EntryPayload, ErrorSubject, ErrorVerb, RaftSnapshotBuilder, SnapshotMeta, StorageError,
    StoredMembership,
};
use parking_lot::Mutex;
use tokio::sync::{oneshot, watch};
use warren_engine::Engine;

use crate::meta::MetaDir;
use crate::snapshot::{self, Header, Install};
use crate::zxid::TermStarts;
use crate::{Command, Entry, LogId, ReplicationError, Warren};

pub(crate) const MEMBERSHIPS: &str = "membership.jsonl";

type StoreResult<T> = Result<T, StorageError<u64>>;

fn sm_err(e: impl std::fmt::Display) -> StorageError<u64> {
    StorageError::from_io_error(
        ErrorSubject::StateMachine,
        ErrorVerb::Write,
        std::io::Error::other(e.to_string()),
    )
}

fn snap_err(e: impl std::fmt::Display) -> StorageError<u64> {
    StorageError::from_io_error(
        ErrorSubject::Snapshot(None),
        ErrorVerb::Write,
        std::io::Error::other(e.to_string()),
    )
}

/// A committed txn on its way to the applier.
#[derive(Debug, Clone)]
pub struct CommittedTxn {
    pub log_id: LogId,
    pub zxid: i64,
    /// The proposing run ([`Command::incarnation`]) and its number for the txn.
    pub incarnation: u64,
    pub proposal: u64,
    pub txn: Vec<u8>,
    /// Whether this is the last txn of its entry to be applied.
    pub ends_entry: bool,
}

/// What the applier is handed next.
#[derive(Debug)]
pub enum Delivery {
    /// A committed txn to apply.
    Txn(CommittedTxn),
    /// The leader's snapshot, to replace the whole state with.
    Install(Install),
}

/// The applier's end of the bridge.
pub struct Feed {
    rx: mpsc::Receiver<Delivery>,
    done: watch::Sender<u64>,
    /// The entry of the txn returned last, if that txn ends it.
    ending: Option<u64>,
}

impl Feed {
    /// Marks what was returned last as done and blocks for the next delivery; `None`
    /// once Raft has stopped.
    pub fn next_delivery(&mut self) -> Option<Delivery> {
        if let Some(index) = self.ending.take() {
            self.done.send_replace(index + 1);
        }
        let next = self.rx.recv().ok()?;
        if let Delivery::Txn(t) = &next {
            self.ending = t.ends_entry.then_some(t.log_id.index);
        }
        Some(next)
    }
}

/// Shared with the server: the term starts, for zxid hints.
pub type SharedTerms = Arc<Mutex<TermStarts>>;

/// Raft's state machine.
pub struct StateMachine {
    meta: MetaDir,
    engine: Engine,
    terms: SharedTerms,
    last_applied: Option<LogId>,
    memberships: Vec<StoredMembership<u64, openraft::BasicNode>>,
    feed: mpsc::Sender<Delivery>,
    /// One past the index of the last entry whose txns the applier finished.
    applied: watch::Receiver<u64>,
    /// The engine's last zxid at start-up (or after an install): txns up to it are not
    /// applied again.
    engine_zxid: i64,
    /// The files snapshots are being received into, by inode, with their numbers:
    /// openraft hands back only the file, and each stream needs a file of its own. A
    /// stream's last chunk queues its install and releases the receiver, so the next
    /// stream (the leader's newer snapshot, sent when the install outlasted its call)
    /// can begin before that install has read its file.
    receiving: HashMap<u64, (u64, PathBuf)>,
    /// Numbers the receiving files (`snapshot.recv.<n>`).
    received: u64,
}

impl StateMachine {
    /// The state machine over `engine`, whose last applied zxid is `engine_zxid`, and
    /// the applier's feed.
    ///
    /// # Errors
    /// When `raft/` cannot be read.
    pub fn open(
        meta: MetaDir,
        engine: Engine,
        engine_zxid: i64,
    ) -> Result<(StateMachine, Feed, SharedTerms), ReplicationError> {
        let terms = TermStarts::load(&meta)?;
        let mut last_applied = terms.applied_through(engine_zxid);
        if let Some(h) = snapshot::current(&meta)? {
            // The engine was flushed through the snapshot's zxid before the snapshot
            // existed, so when it holds that zxid it holds every entry the snapshot
            // covers (including blank ones after its last txn).
            if h.zxid <= engine_zxid && h.meta.last_log_id > last_applied {
                last_applied = h.meta.last_log_id;
            }
        }
        let memberships = meta.read_lines(MEMBERSHIPS)?;
        snapshot::remove_received(&meta)?;
        let (tx, rx) = mpsc::channel();
        let first = last_applied.map_or(0, |l| l.index + 1);
        let (done, applied) = watch::channel(first);
        let terms = Arc::new(Mutex::new(terms));
        let sm = StateMachine {
            meta,
            engine,
            terms: terms.clone(),
            last_applied,
            memberships,
            feed: tx,
            applied,
            engine_zxid,
            receiving: HashMap::new(),
            received: 0,
        };
        let feed = Feed {
            rx,
            done,
            ending: None,
        };
        Ok((sm, feed, terms))
    }

    fn membership_at(&self, applied: Option<LogId>) -> StoredMembership<u64, openraft::BasicNode> {
        self.memberships
            .iter()
            .rev()
            .find(|m| m.log_id() <= &applied)
            .cloned()
            .unwrap_or_default()
    }

    fn apply_one(&mut self, entry: Entry) -> StoreResult<Option<u64>> {
        let log_id = entry.log_id;
        self.terms
            .lock()
            .observe(&self.meta, &log_id)
            .map_err(sm_err)?;
        self.last_applied = Some(log_id);
        match entry.payload {
            EntryPayload::Blank => Ok(None),
            EntryPayload::Membership(m) => {
                let stored = StoredMembership::new(Some(log_id), m);
                if !self
                    .memberships
                    .iter()
                    .any(|x| x.log_id() == stored.log_id())
                {
                    self.meta
                        .append_line(MEMBERSHIPS, &stored)
                        .map_err(sm_err)?;
                    self.memberships.push(stored);
                }
                Ok(None)
            }
            EntryPayload::Normal(command) => self.feed_txns(log_id, command),
        }
    }

    /// Hands the entry's txns to the applier; the entry's index when there was any.
    fn feed_txns(&mut self, log_id: LogId, command: Command) -> StoreResult<Option<u64>> {
        if command.term != log_id.leader_id.term {
            tracing::info!(%log_id, %command, "a void entry: proposed in another term");
            return Ok(None);
        }
        let terms = self.terms.lock();
        let mut txns = Vec::with_capacity(command.txns.len());
        for (pos, t) in command.txns.into_iter().enumerate() {
            let zxid = terms.zxid_of(&log_id, pos).map_err(sm_err)?;
            if zxid > self.engine_zxid {
                txns.push(CommittedTxn {
                    log_id,
                    zxid,
                    incarnation: command.incarnation,
                    proposal: t.proposal,
                    txn: t.txn,
                    ends_entry: false,
                });
            }
        }
        drop(terms);
        let Some(last) = txns.last_mut() else {
            return Ok(None);
        };
        last.ends_entry = true;
        for t in txns {
            self.feed
                .send(Delivery::Txn(t))
                .map_err(|_| sm_err("the applier has stopped"))?;
        }
        Ok(Some(log_id.index))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.meta.path().join(name)
    }

    /// Installs the received snapshot `meta` (see [`crate::snapshot`]): verified, made
    /// current, the log facts replaced, then the engine rewritten by the applier.
    async fn install(
        &mut self,
        meta: &SnapshotMeta<u64, openraft::BasicNode>,
        received: PathBuf,
    ) -> StoreResult<()> {
        let current = self.path(snapshot::CURRENT);
        let pending = self.path(snapshot::PENDING);
        let header = blocking({
            let received = received.clone();
            move || snapshot::file::verify(&received)
        })
        .await?;
        if header.meta.last_log_id != meta.last_log_id {
            return Err(snap_err(format!(
                "the received snapshot is of {:?}, not of {:?} as announced",
                header.meta.last_log_id, meta.last_log_id
            )));
        }
        tracing::warn!(
            last_log_id = ?meta.last_log_id,
            zxid = format_args!("{:#x}", header.zxid),
            "installing the leader's snapshot: this member lags behind what the leader's \
             log still holds"
        );
        std::fs::write(&pending, meta.snapshot_id.as_bytes()).map_err(snap_err)?;
        std::fs::rename(&received, &current).map_err(snap_err)?;
        snapshot::sync_parent(&current).map_err(snap_err)?;
        snapshot::write_log_facts(&self.meta, &header).map_err(snap_err)?;
        self.terms
            .lock()
            .replace(&self.meta, &header.terms)
            .map_err(snap_err)?;
        self.memberships = header.memberships.clone();
        let (done, finished) = oneshot::channel();
        let job = Install::new(self.engine.clone(), current, header.zxid, done);
        self.feed
            .send(Delivery::Install(job))
            .map_err(|_| sm_err("the applier has stopped"))?;
        finished
            .await
            .map_err(|_| sm_err("the applier has stopped"))?
            .map_err(snap_err)?;
        snapshot::remove_marker(&pending).map_err(snap_err)?;
        self.last_applied = meta.last_log_id;
        self.engine_zxid = header.zxid;
        Ok(())
    }
}

/// Runs `f` on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ReplicationError> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(snap_err)?
        .map_err(snap_err)
}

/// The current snapshot of `meta`, opened for streaming.
async fn open_current(meta: &MetaDir) -> StoreResult<Option<Snapshot<Warren>>> {
    let m = meta.clone();
    let Some(header) = blocking(move || snapshot::current(&m)).await? else {
        return Ok(None);
    };
    let file = tokio::fs::File::open(snapshot::path(meta, snapshot::CURRENT))
        .await
        .map_err(snap_err)?;
    Ok(Some(Snapshot {
        meta: header.meta,
        snapshot: Box::new(file),
    }))
}

impl RaftStateMachine<Warren> for StateMachine {
    type SnapshotBuilder = Builder;

    async fn applied_state(
        &mut self,
    ) -> StoreResult<(Option<LogId>, StoredMembership<u64, openraft::BasicNode>)> {
        Ok((self.last_applied, self.membership_at(self.last_applied)))
    }

    async fn apply<I>(&mut self, entries: I) -> StoreResult<Vec<()>>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut replies = Vec::new();
        let mut last_txn = None;
        for entry in entries {
            if let Some(index) = self.apply_one(entry)? {
                last_txn = Some(index);
            }
            replies.push(());
        }
        if let Some(index) = last_txn {
            self.applied
                .wait_for(|&done| done > index)
                .await
                .map_err(|_| sm_err("the applier has stopped"))?;
        }
        Ok(replies)
    }

    /// Called between applies, so the engine holds exactly the entries through
    /// `last_applied`: pinning it there fixes what the snapshot holds.
    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        let pin = self.engine.snapshot();
        let last = self.last_applied;
        let header = Header {
            meta: SnapshotMeta {
                last_log_id: last,
                last_membership: self.membership_at(last),
                snapshot_id: match last {
                    Some(l) => format!("{}-{}-{:x}", l.leader_id.term, l.index, pin.seq()),
                    None => format!("0-0-{:x}", pin.seq()),
                },
            },
            zxid: pin.seq() as i64,
            terms: self.terms.lock().all(),
            memberships: self.memberships.clone(),
        };
        Builder {
            engine: self.engine.clone(),
            pin,
            header,
            meta: self.meta.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> StoreResult<Box<tokio::fs::File>> {
        self.received += 1;
        let n = self.received;
        // At most one earlier stream may still be waiting for its install; any older
        // one was given up.
        self.receiving.retain(|_, (m, stale)| {
            let keep = *m + 1 >= n;
            if !keep {
                let _ = std::fs::remove_file(stale);
            }
            keep
        });
        let path = self.path(&format!("{}.{n}", snapshot::RECEIVING));
        let file = tokio::fs::File::create(&path).await.map_err(snap_err)?;
        let ino = file.metadata().await.map_err(snap_err)?.ino();
        self.receiving.insert(ino, (n, path));
        Ok(Box::new(file))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, openraft::BasicNode>,
        snapshot: Box<tokio::fs::File>,
    ) -> StoreResult<()> {
        snapshot.sync_all().await.map_err(snap_err)?;
        let ino = snapshot.metadata().await.map_err(snap_err)?.ino();
        drop(snapshot);
        let (_, received) = self
            .receiving
            .remove(&ino)
            .ok_or_else(|| snap_err("a snapshot to install that was not received here"))?;
        self.install(meta, received).await
    }

    async fn get_current_snapshot(&mut self) -> StoreResult<Option<Snapshot<Warren>>> {
        open_current(&self.meta).await
    }
}

/// Builds a snapshot of the engine as pinned when the build was asked for.
pub struct Builder {
    engine: Engine,
    pin: warren_engine::Snapshot,
    header: Header,
    meta: MetaDir,
}

impl RaftSnapshotBuilder<Warren> for Builder {
    async fn build_snapshot(&mut self) -> StoreResult<Snapshot<Warren>> {
        let engine = self.engine.clone();
        let header = self.header.clone();
        let tmp = snapshot::path(&self.meta, snapshot::BUILDING);
        let dest = snapshot::path(&self.meta, snapshot::CURRENT);
        let started = std::time::Instant::now();
        let records =
            blocking(move || snapshot::build::write_snapshot(&engine, &header, &tmp, &dest))
                .await?;
        tracing::info!(
            last_log_id = ?self.header.meta.last_log_id,
            zxid = format_args!("{:#x}", self.header.zxid),
            records,
            ms = started.elapsed().as_millis() as u64,
            pinned = self.pin.seq(),
            "built a snapshot; the log before it can be purged"
        );
        let file = tokio::fs::File::open(snapshot::path(&self.meta, snapshot::CURRENT))
            .await
            .map_err(snap_err)?;
        Ok(Snapshot {
            meta: self.header.meta.clone(),
            snapshot: Box::new(file),
        })
    }
}

#[cfg(test)]
mod tests {
    use openraft::CommittedLeaderId;

    use super::*;
    use crate::zxid::TXNS_PER_ENTRY;
    use crate::ProposedTxn;

    fn entry(term: u64, index: u64, payload: EntryPayload<Warren>) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(term, 1), index),
            payload,
        }
    }

    fn command(term: u64, txns: u64) -> EntryPayload<Warren> {
        EntryPayload::Normal(Command {
            incarnation: 7,
            term,
            txns: (0..txns)
                .map(|p| ProposedTxn {
                    proposal: p,
                    txn: vec![p as u8],
                })
                .collect(),
        })
    }

    fn engine(d: &tempfile::TempDir) -> Engine {
        Engine::open(
            &d.path().join("engine"),
            warren_engine::EngineOptions::default(),
        )
        .unwrap()
    }

    /// Applies `entries` while a thread plays the applier; returns the zxids it got.
    fn apply_all(sm: &mut StateMachine, mut feed: Feed, entries: Vec<Entry>) -> Vec<i64> {
        let applier = std::thread::spawn(move || {
            let mut zxids = Vec::new();
            while let Some(d) = feed.next_delivery() {
                if let Delivery::Txn(t) = d {
                    zxids.push(t.zxid);
                }
            }
            zxids
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(sm.apply(entries)).unwrap();
        let (tx, _) = mpsc::channel();
        sm.feed = tx;
        applier.join().unwrap()
    }

    #[test]
    fn a_partly_applied_entry_is_applied_again_from_its_first_missing_txn() {
        let d = tempfile::tempdir().unwrap();
        let meta = MetaDir::open(d.path()).unwrap();
        // The engine holds term 1's first entry in full and two txns of its second.
        let held = (1i64 << 32) | (TXNS_PER_ENTRY as i64 + 2);
        meta.append_line(
            "terms.jsonl",
            &crate::zxid::TermStart {
                term: 1,
                node: 1,
                index: 1,
            },
        )
        .unwrap();
        let (mut sm, feed, _) = StateMachine::open(meta, engine(&d), held).unwrap();
        assert_eq!(sm.last_applied.map(|l| l.index), Some(2));
        let zxids = apply_all(&mut sm, feed, vec![entry(1, 3, command(1, 4))]);
        let first = (1i64 << 32) | (TXNS_PER_ENTRY as i64 + 1);
        assert_eq!(zxids, vec![first + 2, first + 3]);
    }

    #[test]
    fn an_entry_that_landed_in_another_term_than_proposed_is_void() {
        let d = tempfile::tempdir().unwrap();
        let meta = MetaDir::open(d.path()).unwrap();
        let (mut sm, feed, _) = StateMachine::open(meta, engine(&d), 0).unwrap();
        let zxids = apply_all(
            &mut sm,
            feed,
            vec![
                entry(2, 1, EntryPayload::Blank),
                entry(2, 2, command(1, 3)),
                entry(2, 3, command(2, 1)),
            ],
        );
        assert_eq!(zxids, vec![(2i64 << 32) | (TXNS_PER_ENTRY as i64 + 1)]);
    }
}
