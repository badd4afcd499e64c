//! This server as a member of a replicated ensemble (`server.N` lines in zoo.cfg).
//!
//! Consensus is `warren-replication`'s (openraft); this module is what a ZooKeeper
//! server does around it:
//!
//! - a follower forwards each write to the leader ([`forward`]) and answers its client
//!   once its own applier has applied the committed txn, so the client reads its write
//!   and sees its watch events in order on the server it is connected to;
//! - the leader alone expires sessions, and followers tell it which sessions their
//!   clients keep alive ([`sessions`]);
//! - when the leader changes, no request is left waiting on a leader that is gone: the
//!   connections with a write in doubt close, and clients reconnect with their sessions
//!   ([`sessions::watch_leader`]).

pub mod forward;
pub mod service;
pub mod sessions;
pub mod start;
pub mod wire;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::oneshot;
use warren_replication::Member;

use crate::pipeline::WriteResult;

/// A forwarded write waiting for its txn to be applied here.
type Waiter = oneshot::Sender<WriteResult>;

/// The ensemble side of a server.
pub struct Ensemble {
    pub member: Arc<Member>,
    /// Forwarded writes by (session, cxid), answered by the applier.
    forwarded: Mutex<HashMap<(i64, i32), Waiter>>,
    runtime: tokio::runtime::Handle,
}

impl Ensemble {
    /// The ensemble side over `member`; tasks run on `runtime`.
    pub fn new(member: Arc<Member>, runtime: tokio::runtime::Handle) -> Ensemble {
        Ensemble {
            member,
            forwarded: Mutex::new(HashMap::new()),
            runtime,
        }
    }

    /// Whether this server leads the ensemble now.
    pub fn is_leader(&self) -> bool {
        self.member.is_leader()
    }

    /// The waiter of the forwarded write that made this txn, if it came from here.
    pub fn take_forwarded(&self, session: i64, cxid: i32) -> Option<Waiter> {
        self.forwarded.lock().remove(&(session, cxid))
    }

    /// Drops every waiting forwarded write: their clients' connections close unanswered
    /// (the outcome is not known here).
    pub fn drop_forwarded(&self) {
        self.forwarded.lock().clear();
    }

    /// `leader`, `follower` or `observer`, as `srvr` prints the mode.
    pub fn mode(&self) -> &'static str {
        match self.member.state() {
            openraft::ServerState::Leader => "leader",
            openraft::ServerState::Learner => "observer",
            _ => "follower",
        }
    }
}
