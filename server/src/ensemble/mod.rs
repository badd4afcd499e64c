//! This server as a member of a replicated ensemble (`server.N` lines in zoo.cfg).
//!
//! Consensus is `warren-replication`'s (openraft); this module is what a ZooKeeper
//! server does around it:
//!
//! - a follower forwards each write to the leader ([`forward`]) and answers its client
//!   once its own applier has applied the committed txn, so the client reads its write
//!   and sees its watch events in order on the server it is connected to;
//! - `sync` on a follower waits until it has applied everything the leader had
//!   committed when asked ([`sync`]);
//! - the leader alone expires sessions, and followers tell it which sessions their
//!   clients keep alive ([`sessions`]);
//! - when the leader changes, no request is left waiting on a leader that is gone: the
//!   connections with a write in doubt close, and clients reconnect with their sessions
//!   ([`sessions::watch_leader`]).

pub mod forward;
pub mod service;
pub mod sessions;
pub mod start;
pub mod sync;
pub mod wire;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::oneshot;
use warren_replication::Member;

use crate::pipeline::WriteResult;

/// A forwarded write waiting for its txn to be applied here.
type Waiter = oneshot::Sender<WriteResult>;

/// A forwarded write, and the leader it was last sent to (`None` while it waits for a
/// leader, or after the leader could not be reached).
struct Forwarded {
    waiter: Waiter,
    sent_to: Option<u64>,
}

/// The ensemble side of a server.
pub struct Ensemble {
    pub member: Arc<Member>,
    /// Forwarded writes by (session, cxid), answered by the applier.
    forwarded: Mutex<HashMap<(i64, i32), Forwarded>>,
    /// What answers forwarded writes; used directly once this server leads.
    service: service::PeerService,
    runtime: tokio::runtime::Handle,
}

impl Ensemble {
    /// The ensemble side over `member`, answering peers with `service`; tasks run on
    /// `runtime`.
    pub fn new(
        member: Arc<Member>,
        service: service::PeerService,
        runtime: tokio::runtime::Handle,
    ) -> Ensemble {
        Ensemble {
            member,
            forwarded: Mutex::new(HashMap::new()),
            service,
            runtime,
        }
    }

    /// Whether this server leads the ensemble now.
    pub fn is_leader(&self) -> bool {
        self.member.is_leader()
    }

    /// The waiter of the forwarded write that made this txn, if it came from here.
    pub fn take_forwarded(&self, session: i64, cxid: i32) -> Option<Waiter> {
        self.forwarded
            .lock()
            .remove(&(session, cxid))
            .map(|f| f.waiter)
    }

    /// Notes where a forwarded write is being sent; `false` when it is no longer waiting.
    fn mark_sent(&self, key: (i64, i32), to: Option<u64>) -> bool {
        match self.forwarded.lock().get_mut(&key) {
            Some(f) => {
                f.sent_to = to;
                true
            }
            None => false,
        }
    }

    /// Drops the forwarded writes sent to `leader`, which is no longer the leader: their
    /// clients' connections close unanswered (whether they commit is not known here).
    /// Writes still waiting for a leader stay.
    pub fn drop_sent_to(&self, leader: u64) {
        self.forwarded
            .lock()
            .retain(|_, f| f.sent_to != Some(leader));
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
