//! Raft consensus over Warren's txn log, from a proven library (openraft 0.9, its
//! storage-v2 API); Warren writes no consensus logic of its own.
//!
//! What this crate adds to openraft is Warren's storage and transport:
//!
//! - [`log_store`]: Raft's log *is* the txn log: every entry is one record in the `wal`
//!   crate's segments, appended with group commit (one fdatasync per group) on the leader
//!   and on every follower. No second log exists.
//! - [`meta`]: the vote (fsynced before it is answered), and the facts about the committed
//!   log that the state machine needs after a restart (where each term starts, the
//!   applied memberships).
//! - [`state_machine`]: the bridge from Raft's "apply these committed entries" to the
//!   server's applier thread, which runs the one apply function. Each committed txn gets
//!   its zxid there ([`zxid`]).
//! - [`network`]: peer connections on the quorum port: Raft's RPCs, and an application
//!   channel the server uses to forward writes to the leader.
//! - [`snapshot`]: the engine's state at one zxid in a checksummed file, built by every
//!   member so that its log can be purged, and installed on a member that lags behind
//!   what the leader's log still holds.
//! - [`member`]: one server's membership in the group: starting Raft, forming the group
//!   from the configured servers, and the handles the server uses.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]
// openraft's storage and RPC traits return its own (large) error types; boxing them here
// would only move the size elsewhere.
#![allow(clippy::result_large_err)]

pub mod log_store;
pub mod member;
pub mod meta;
pub mod network;
pub mod snapshot;
pub mod state_machine;
pub mod zxid;

use serde::{Deserialize, Serialize};

pub use member::{Member, MemberConfig, Peer, Role};
pub use snapshot::Install;
pub use state_machine::{CommittedTxn, Delivery, Feed};

/// One txn of a [`Command`]: the proposer's number for it, and the txn encoded as the
/// txn log holds it (`LoggedTxn::encode`); its header's zxid is assigned at commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposedTxn {
    pub proposal: u64,
    pub txn: Vec<u8>,
}

/// The application data of a Raft entry: the txns a leader proposed together (one
/// entry carries many, so that one fsync and one round of replication serve them all).
///
/// `incarnation` names one run of the proposing server (random per start, so a
/// restarted server never mistakes an entry of its earlier life for its own proposal).
/// `term` is the term the leader proposed the entry in: an entry that reaches the log
/// in another term (a write queued with Raft just as its leader lost and won again) is
/// void on every member, because the proposer has already given those txns up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub incarnation: u64,
    pub term: u64,
    pub txns: Vec<ProposedTxn>,
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} txns of term {} from {:#x}",
            self.txns.len(),
            self.term,
            self.incarnation
        )
    }
}

openraft::declare_raft_types!(
    /// Warren's Raft types: u64 node ids (ZooKeeper's server ids), peers named by their
    /// quorum address, txns as the application data.
    pub Warren:
        D = Command,
        R = (),
        NodeId = u64,
        Node = openraft::BasicNode,
        SnapshotData = tokio::fs::File,
);

/// A Raft log id of this group.
pub type LogId = openraft::LogId<u64>;
/// A Raft log entry of this group.
pub type Entry = openraft::Entry<Warren>;
/// This group's Raft handle.
pub type Raft = openraft::Raft<Warren>;

/// Errors of the replication layer that stop a server from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Corrupt {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("txn log: {0}")]
    Wal(#[from] warren_wal::WalError),
    #[error("raft: {0}")]
    Raft(String),
    #[error("the quorum port {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}
