//! The replicated log: Raft (openraft, through `warren-replication`) over the WAL.
//!
//! On the leader, proposals gather into batches ([`batch`]), and each batch becomes one
//! Raft entry; it is committed once a majority has it durably, and every member's
//! applier then receives its txns here, each with the zxid the replication layer derived
//! from its place in the log. The entry carries its proposer's incarnation, so the
//! proposer recognises its own proposals and answers their clients.

pub mod batch;

use std::sync::{Arc, Mutex};

use warren_proto::txn::LoggedTxn;
use warren_replication::{Delivery, Feed, Member, ProposedTxn};
use warren_wal::WalStats;

use super::{Committed, Delivered, LogError, Proposal, TxnLog};
use batch::Batches;

/// The counter past which a leader starts a new term rather than propose (leaving room
/// for the proposals still in flight below 2^32).
const ROLLOVER: i64 = 0xffff_0000;

/// The largest txn an entry may carry: what a log record holds, less room for the
/// entry's own fields.
const MAX_TXN_BYTES: usize = warren_wal::MAX_PAYLOAD - 4096;

/// Raft as a [`TxnLog`].
pub struct RaftLog {
    member: Arc<Member>,
    feed: Mutex<Feed>,
    batches: Arc<Batches>,
    runtime: tokio::runtime::Handle,
}

impl RaftLog {
    /// The log of `member`, whose committed txns arrive on `feed`.
    pub fn new(member: Arc<Member>, feed: Feed, runtime: tokio::runtime::Handle) -> RaftLog {
        RaftLog {
            batches: Batches::start(member.clone(), runtime.clone()),
            member,
            feed: Mutex::new(feed),
            runtime,
        }
    }
}

impl Drop for RaftLog {
    fn drop(&mut self) {
        self.batches.stop();
    }
}

impl TxnLog for RaftLog {
    fn next_zxid_hint(&self) -> i64 {
        self.batches.next_zxid().unwrap_or(-1)
    }

    fn propose(&self, proposal: Proposal) -> Result<(), LogError> {
        if !self.member.is_leader() {
            return Err(LogError::NotLeader);
        }
        // The txn was decided with the zxid the batches predicted for it (-1: unknown).
        let hint = proposal.txn.header.zxid;
        if hint >= 0 && hint & 0xffff_ffff >= ROLLOVER {
            // The zxid counter of this term is nearly used up: a new term starts it
            // again (ZooKeeper's leader does the same at its epoch's end).
            let member = self.member.clone();
            self.runtime
                .spawn(async move { member.start_new_term().await });
            return Err(LogError::NotLeader);
        }
        let bytes = proposal.txn.encode();
        if bytes.len() > MAX_TXN_BYTES {
            return Err(LogError::TooLarge {
                bytes: bytes.len(),
                max: MAX_TXN_BYTES,
            });
        }
        self.member.proposals.note(bytes.len());
        // Queues the txn for the next entry and returns; its outcome arrives through the
        // feed.
        let txn = ProposedTxn {
            proposal: proposal.id,
            txn: bytes,
        };
        if self.batches.add(txn) {
            Ok(())
        } else {
            Err(LogError::Storage("raft has stopped".into()))
        }
    }

    fn next_committed(&self) -> Option<Result<Delivered, LogError>> {
        let next = {
            let mut feed = self.feed.lock().unwrap_or_else(|p| p.into_inner());
            match feed.next_delivery()? {
                Delivery::Txn(t) => t,
                Delivery::Install(job) => return Some(Ok(Delivered::Install(job))),
            }
        };
        if next.ends_entry {
            self.batches.delivered(next.log_id.index);
        }
        let mut txn = match LoggedTxn::decode(&next.txn) {
            Ok(t) => t,
            Err(e) => {
                return Some(Err(LogError::Storage(format!(
                    "a txn of log entry {} does not decode: {e}",
                    next.log_id
                ))))
            }
        };
        txn.header.zxid = next.zxid;
        let mine = next.incarnation == self.member.incarnation;
        Some(Ok(Delivered::Txn(Committed {
            proposal: mine.then_some(next.proposal),
            txn,
        })))
    }

    fn sync(&self) -> Result<(), LogError> {
        self.member
            .log
            .wal()
            .sync()
            .map_err(|e| LogError::Storage(e.to_string()))
    }

    fn purge_below(&self, _zxid: u64) -> Result<usize, LogError> {
        // Raft owns the log's length: it purges the log itself after each snapshot
        // (every `snapCount` entries), keeping what a lagging member may still need.
        Ok(0)
    }

    fn wal_stats(&self) -> WalStats {
        self.member.log.wal().stats()
    }
}
