//! The log seam: "propose a txn, learn when it is committed and at what zxid".
//!
//! The write pipeline never touches the txn log directly. It hands each decided txn to
//! a [`TxnLog`] as a [`Proposal`] and later takes [`Committed`] txns back, in zxid order,
//! each with the zxid the log gave it. A one-member log ([`local::LocalLog`], the WAL on
//! this machine) commits a proposal once it is fsynced; a replicated log commits it once
//! a quorum has it, and also delivers txns that other servers proposed. Because the log
//! assigns the zxid, a proposal's header carries only a hint of it (the zxid it would get
//! if everything before it commits in order), and the pipeline must be ready to discard
//! proposals that never commit.

pub mod local;
pub mod raft;

use warren_proto::txn::LoggedTxn;
use warren_wal::WalStats;

/// A decided txn on its way into the log. `id` is the pipeline's own number for it
/// (increasing); the header's zxid is only the hint the txn was decided with.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub id: u64,
    pub txn: LoggedTxn,
}

/// A committed txn: its header's zxid is the one the log assigned. `proposal` is the id
/// of the local proposal it came from, or `None` for a txn another server proposed.
#[derive(Debug, Clone)]
pub struct Committed {
    pub proposal: Option<u64>,
    pub txn: LoggedTxn,
}

impl Committed {
    /// The txn's zxid.
    pub fn zxid(&self) -> i64 {
        self.txn.header.zxid
    }
}

/// What the log delivers to the applier, in order.
#[derive(Debug)]
pub enum Delivered {
    /// The next committed txn.
    Txn(Committed),
    /// The leader's snapshot, which replaces the whole state (a member that lags
    /// behind what the leader's log still holds); the applier runs it, serving no
    /// client meanwhile.
    Install(warren_replication::Install),
}

/// Why the log could not take or deliver a txn.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LogError {
    /// This one txn cannot be logged (it is larger than a log record may be); the log is
    /// healthy and nothing was appended.
    #[error("the txn is {bytes} bytes, more than a log record may hold ({max})")]
    TooLarge { bytes: usize, max: usize },
    /// The log's storage failed (a write or an fsync): nothing after this can be trusted
    /// to be durable, so the server must stop.
    #[error("txn log storage failed: {0}")]
    Storage(String),
    /// This server may not propose: another server leads the group.
    #[error("this server is not the leader")]
    NotLeader,
}

/// A txn log as the pipeline sees it. One writer thread calls [`TxnLog::propose`], one
/// applier thread calls [`TxnLog::next_committed`].
pub trait TxnLog: Send + Sync {
    /// The zxid the next proposal would get if every earlier proposal commits in order.
    fn next_zxid_hint(&self) -> i64;

    /// Hands a proposal to the log without waiting for it to commit.
    ///
    /// # Errors
    /// [`LogError::TooLarge`] for a txn the log cannot hold (nothing was appended);
    /// [`LogError::Storage`] when the log failed; [`LogError::NotLeader`].
    fn propose(&self, proposal: Proposal) -> Result<(), LogError>;

    /// Blocks until the next txn in zxid order is committed (or a snapshot is to be
    /// installed) and returns it; `None` once the log is closed.
    ///
    /// # Errors
    /// [`LogError::Storage`] when the txn could not be made durable.
    fn next_committed(&self) -> Option<Result<Delivered, LogError>>;

    /// Makes everything appended so far durable (at shutdown).
    ///
    /// # Errors
    /// [`LogError::Storage`].
    fn sync(&self) -> Result<(), LogError>;

    /// Deletes log segments whose records all lie below `zxid`; returns how many.
    ///
    /// # Errors
    /// [`LogError::Storage`] when a segment cannot be removed.
    fn purge_below(&self, zxid: u64) -> Result<usize, LogError>;

    /// The counters of the underlying WAL (appends, fsyncs, bytes), for `mntr` and metrics.
    fn wal_stats(&self) -> WalStats;
}
