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
pub mod monitor;
pub mod owners;
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
    /// The forwarder's queue ([`forward`]).
    queue: tokio::sync::mpsc::UnboundedSender<forward::Queued>,
    /// Set while this member is cut off from a working group ([`sessions::watch_quorum`]):
    /// it serves no client then, as a ZooKeeper server out of its quorum does not.
    cut_off: std::sync::atomic::AtomicBool,
    /// Set while a snapshot from the leader is being installed: no client is served.
    installing: std::sync::atomic::AtomicBool,
    /// Since when this server leads, for `mntr`'s `zk_leader_uptime`.
    leading_since: Mutex<Option<std::time::Instant>>,
    /// Syncs of followers the leader is answering now (`zk_pending_syncs`).
    pending_syncs: std::sync::atomic::AtomicI64,
    /// Leader changes seen since start (metrics).
    leader_changes: std::sync::atomic::AtomicU64,
    /// Snapshots of the leader installed since start.
    snapshot_installs: std::sync::atomic::AtomicU64,
    /// On the leader: the member each session's client is connected to ([`owners`]).
    owners: Mutex<HashMap<i64, u64>>,
}

impl Ensemble {
    /// The ensemble side over `member`, answering peers with `service`, and its
    /// forwarder task (so call it within the runtime).
    pub fn start(member: Arc<Member>, service: service::PeerService) -> Arc<Ensemble> {
        let (queue, rx) = tokio::sync::mpsc::unbounded_channel();
        let ensemble = Arc::new(Ensemble {
            member,
            forwarded: Mutex::new(HashMap::new()),
            service,
            queue,
            cut_off: std::sync::atomic::AtomicBool::new(false),
            installing: std::sync::atomic::AtomicBool::new(false),
            leading_since: Mutex::new(None),
            pending_syncs: std::sync::atomic::AtomicI64::new(0),
            leader_changes: std::sync::atomic::AtomicU64::new(0),
            snapshot_installs: std::sync::atomic::AtomicU64::new(0),
            owners: Mutex::new(HashMap::new()),
        });
        tokio::spawn(ensemble.clone().run_forwarder(rx));
        ensemble
    }

    /// Whether this server leads the ensemble now.
    pub fn is_leader(&self) -> bool {
        self.member.is_leader()
    }

    /// Leader changes this member saw since it started.
    pub fn leader_changes(&self) -> u64 {
        self.leader_changes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether this member is cut off from its group and serves no client.
    pub fn is_cut_off(&self) -> bool {
        self.cut_off.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether this member is installing a snapshot and serves no client.
    pub fn is_installing(&self) -> bool {
        self.installing.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stops serving clients for an install; the writes forwarded from here are given
    /// up (their connections are closing: the snapshot may or may not hold them).
    pub fn begin_install(&self) {
        self.installing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.forwarded.lock().clear();
    }

    /// Serves clients again after an install.
    pub fn end_install(&self) {
        self.snapshot_installs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.installing
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Snapshots of the leader this member installed since it started.
    pub fn snapshot_installs(&self) -> u64 {
        self.snapshot_installs
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether this server may decide writes; a leader just elected, still applying
    /// what earlier terms committed, is waited for (up to [`forward::LEADER_WAIT`]), so
    /// that the writes arriving meanwhile keep their order. Blocks: the writer's.
    pub fn lead_or_wait(&self) -> bool {
        let deadline = std::time::Instant::now() + forward::LEADER_WAIT;
        while !self.member.is_leader() {
            if !self.member.is_elected() || std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        true
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
