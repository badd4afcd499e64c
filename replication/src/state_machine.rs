//! The state machine is the server's applier: committed entries are handed to it in log
//! order, each of their txns with its zxid, and `apply` returns once the applier has
//! applied them through the one apply function (the same code as recovery), so what Raft
//! reports as applied is what the engine holds.
//!
//! The applier tells the bridge it is done with a txn by asking for the next one
//! ([`Feed::next_txn`]), which keeps the server's side a plain loop.
//!
//! After a restart the applied point is the last entry the engine holds in full, found
//! from its last zxid; Raft re-applies what follows once it learns the commit point, and
//! the txns of a partly applied entry that the engine already holds are skipped. Blank
//! and membership entries change no znode; the memberships are kept in `raft/`. An entry
//! whose command names another term than its own is void (see [`Command`]).

use std::sync::{mpsc, Arc};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    EntryPayload, ErrorSubject, ErrorVerb, RaftSnapshotBuilder, SnapshotMeta, StorageError,
    StoredMembership,
};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::meta::MetaDir;
use crate::zxid::TermStarts;
use crate::{Command, Entry, LogId, ReplicationError, Warren};

const MEMBERSHIPS: &str = "membership.jsonl";

type StoreResult<T> = Result<T, StorageError<u64>>;

fn sm_err(e: impl std::fmt::Display) -> StorageError<u64> {
    StorageError::from_io_error(
        ErrorSubject::StateMachine,
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

/// The applier's end of the bridge.
pub struct Feed {
    rx: mpsc::Receiver<CommittedTxn>,
    done: watch::Sender<u64>,
    /// The entry of the txn returned last, if that txn ends it.
    ending: Option<u64>,
}

impl Feed {
    /// Marks the txn returned last as applied and blocks for the next one; `None` once
    /// Raft has stopped.
    pub fn next_txn(&mut self) -> Option<CommittedTxn> {
        if let Some(index) = self.ending.take() {
            self.done.send_replace(index + 1);
        }
        let next = self.rx.recv().ok()?;
        self.ending = next.ends_entry.then_some(next.log_id.index);
        Some(next)
    }
}

/// Shared with the server: the term starts, for zxid hints.
pub type SharedTerms = Arc<Mutex<TermStarts>>;

/// Raft's state machine.
pub struct StateMachine {
    meta: MetaDir,
    terms: SharedTerms,
    last_applied: Option<LogId>,
    memberships: Vec<StoredMembership<u64, openraft::BasicNode>>,
    feed: mpsc::Sender<CommittedTxn>,
    /// One past the index of the last entry whose txns the applier finished.
    applied: watch::Receiver<u64>,
    /// The engine's last zxid at start-up: txns up to it are not applied again.
    engine_zxid: i64,
}

impl StateMachine {
    /// The state machine over an engine whose last applied zxid is `engine_zxid`, and
    /// the applier's feed.
    ///
    /// # Errors
    /// When `raft/` cannot be read.
    pub fn open(
        meta: MetaDir,
        engine_zxid: i64,
    ) -> Result<(StateMachine, Feed, SharedTerms), ReplicationError> {
        let terms = TermStarts::load(&meta)?;
        let last_applied = terms.applied_through(engine_zxid);
        let memberships = meta.read_lines(MEMBERSHIPS)?;
        let (tx, rx) = mpsc::channel();
        let first = last_applied.map_or(0, |l| l.index + 1);
        let (done, applied) = watch::channel(first);
        let terms = Arc::new(Mutex::new(terms));
        let sm = StateMachine {
            meta,
            terms: terms.clone(),
            last_applied,
            memberships,
            feed: tx,
            applied,
            engine_zxid,
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
                .send(t)
                .map_err(|_| sm_err("the applier has stopped"))?;
        }
        Ok(Some(log_id.index))
    }
}

impl RaftStateMachine<Warren> for StateMachine {
    type SnapshotBuilder = NoSnapshots;

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

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        NoSnapshots
    }

    async fn begin_receiving_snapshot(&mut self) -> StoreResult<Box<std::io::Cursor<Vec<u8>>>> {
        Err(no_snapshots())
    }

    async fn install_snapshot(
        &mut self,
        _meta: &SnapshotMeta<u64, openraft::BasicNode>,
        _snapshot: Box<std::io::Cursor<Vec<u8>>>,
    ) -> StoreResult<()> {
        Err(no_snapshots())
    }

    async fn get_current_snapshot(&mut self) -> StoreResult<Option<Snapshot<Warren>>> {
        Ok(None)
    }
}

fn no_snapshots() -> StorageError<u64> {
    StorageError::from_io_error(
        ErrorSubject::Snapshot(None),
        ErrorVerb::Write,
        std::io::Error::other(
            "snapshot transfer is not built yet: the log is kept whole, so every member \
             catches up from the log",
        ),
    )
}

/// The snapshot builder until snapshot transfer exists (the log is never purged, and the
/// snapshot policy never asks for one).
pub struct NoSnapshots;

impl RaftSnapshotBuilder<Warren> for NoSnapshots {
    async fn build_snapshot(&mut self) -> StoreResult<Snapshot<Warren>> {
        Err(no_snapshots())
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

    /// Applies `entries` while a thread plays the applier; returns the zxids it got.
    fn apply_all(sm: &mut StateMachine, mut feed: Feed, entries: Vec<Entry>) -> Vec<i64> {
        let applier = std::thread::spawn(move || {
            let mut zxids = Vec::new();
            while let Some(t) = feed.next_txn() {
                zxids.push(t.zxid);
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
        let (mut sm, feed, _) = StateMachine::open(meta, held).unwrap();
        assert_eq!(sm.last_applied.map(|l| l.index), Some(2));
        let zxids = apply_all(&mut sm, feed, vec![entry(1, 3, command(1, 4))]);
        let first = (1i64 << 32) | (TXNS_PER_ENTRY as i64 + 1);
        assert_eq!(zxids, vec![first + 2, first + 3]);
    }

    #[test]
    fn an_entry_that_landed_in_another_term_than_proposed_is_void() {
        let d = tempfile::tempdir().unwrap();
        let meta = MetaDir::open(d.path()).unwrap();
        let (mut sm, feed, _) = StateMachine::open(meta, 0).unwrap();
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
