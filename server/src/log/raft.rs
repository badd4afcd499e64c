//! The replicated log: Raft (openraft, through `warren-replication`) over the WAL.
//!
//! A proposal becomes a Raft entry on the leader; it is committed once a majority has
//! it durably, and every member's applier then receives it here, with the zxid the
//! replication layer derived from its log id. The entry carries its proposer's
//! incarnation, so the proposer recognises its own proposals and answers their clients.

use std::sync::Mutex;

use warren_proto::txn::LoggedTxn;
use warren_replication::{Command, Feed, Member, Origin};
use warren_wal::WalStats;

use super::{Committed, LogError, Proposal, TxnLog};
use std::sync::Arc;

/// The counter past which a leader starts a new term rather than propose (leaving room
/// for the proposals still in flight below 2^32).
const ROLLOVER: i64 = 0xffff_0000;

/// Raft as a [`TxnLog`].
pub struct RaftLog {
    member: Arc<Member>,
    feed: Mutex<Feed>,
    runtime: tokio::runtime::Handle,
}

impl RaftLog {
    /// The log of `member`, whose committed txns arrive on `feed`.
    pub fn new(member: Arc<Member>, feed: Feed, runtime: tokio::runtime::Handle) -> RaftLog {
        RaftLog {
            member,
            feed: Mutex::new(feed),
            runtime,
        }
    }
}

impl TxnLog for RaftLog {
    fn next_zxid_hint(&self) -> i64 {
        self.member.next_zxid().unwrap_or(-1)
    }

    fn propose(&self, proposal: Proposal) -> Result<(), LogError> {
        if !self.member.is_leader() {
            return Err(LogError::NotLeader);
        }
        if self
            .member
            .next_zxid()
            .is_some_and(|z| z & 0xffff_ffff >= ROLLOVER)
        {
            // The zxid counter of this term is nearly used up: a new term starts it
            // again (ZooKeeper's leader does the same at its epoch's end).
            let member = self.member.clone();
            self.runtime
                .spawn(async move { member.start_new_term().await });
            return Err(LogError::NotLeader);
        }
        let bytes = proposal.txn.encode();
        if bytes.len() > warren_wal::MAX_PAYLOAD - 64 {
            return Err(LogError::TooLarge {
                bytes: bytes.len(),
                max: warren_wal::MAX_PAYLOAD - 64,
            });
        }
        self.member.proposals.note(bytes.len());
        let command = Command {
            origin: Origin {
                incarnation: self.member.incarnation,
                proposal: proposal.id,
            },
            txn: bytes,
        };
        // Queues the entry with Raft and returns; its outcome arrives through the feed.
        self.runtime
            .block_on(self.member.raft.client_write_ff(command))
            .map(|_| ())
            .map_err(|e| LogError::Storage(format!("raft stopped: {e}")))
    }

    fn next_committed(&self) -> Option<Result<Committed, LogError>> {
        let next = {
            let mut feed = self.feed.lock().unwrap_or_else(|p| p.into_inner());
            feed.next_txn()?
        };
        let mut txn = match LoggedTxn::decode(&next.command.txn) {
            Ok(t) => t,
            Err(e) => {
                return Some(Err(LogError::Storage(format!(
                    "log entry {} is not a txn: {e}",
                    next.log_id
                ))))
            }
        };
        txn.header.zxid = next.zxid;
        let mine = next.command.origin.incarnation == self.member.incarnation;
        Some(Ok(Committed {
            proposal: mine.then_some(next.command.origin.proposal),
            txn,
        }))
    }

    fn sync(&self) -> Result<(), LogError> {
        self.member
            .log
            .wal()
            .sync()
            .map_err(|e| LogError::Storage(e.to_string()))
    }

    fn purge_below(&self, _zxid: u64) -> Result<usize, LogError> {
        // Raft owns the log's length: it is kept whole until snapshot transfer exists.
        Ok(0)
    }

    fn wal_stats(&self) -> WalStats {
        self.member.log.wal().stats()
    }
}
