//! One server's membership in the group: the Raft instance over Warren's log store and
//! state machine, the quorum-port listener, and what the server asks of the group (is
//! this server the leader, who is, which term).
//!
//! A new group is formed from the configured servers: the participant with the lowest
//! id initializes Raft with them, and an election follows (so a new ensemble forms once
//! that server and a majority are up). Once the group exists, its membership lives in the
//! log; the configured servers are only where to find the peers.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::{BasicNode, Config, ServerState, SnapshotPolicy};
use tokio::net::TcpListener;
use warren_engine::Engine;
use warren_wal::Wal;

use crate::log_store::LogStore;
use crate::meta::MetaDir;
use crate::network::app::AppPeers;
use crate::network::listener::{self, LastHeard, Listening};
use crate::network::raft_client::Factory;
use crate::network::AppService;
use crate::state_machine::{SharedTerms, StateMachine};
use crate::{Feed, Raft, ReplicationError};

/// A configured server (a `server.N` line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub id: u64,
    /// `host:quorumPort`.
    pub addr: String,
    /// A participant (voter); observers are not voters.
    pub voter: bool,
}

/// How this member runs.
#[derive(Debug, Clone)]
pub struct MemberConfig {
    pub id: u64,
    pub peers: Vec<Peer>,
    /// Where the quorum port listens.
    pub listen: SocketAddr,
    pub heartbeat_ms: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    /// How long one exchange with a peer may take before its connection is closed.
    pub rpc_timeout_ms: u64,
    /// How long a member may take to install a snapshot sent to it (zoo.cfg's
    /// `initLimit` ticks, as long as ZooKeeper gives a learner to sync).
    pub install_timeout_ms: u64,
    /// A snapshot is built after this many log entries since the last one (zoo.cfg's
    /// `snapCount`); the log is then purged up to `logs_to_keep` entries before it.
    pub snapshot_every: u64,
    pub logs_to_keep: u64,
}

/// The last, smallest and largest proposal in bytes (-1 before the first, as ZooKeeper
/// prints them).
#[derive(Debug)]
pub struct ProposalSizes {
    last: AtomicI64,
    min: AtomicI64,
    max: AtomicI64,
}

impl Default for ProposalSizes {
    fn default() -> Self {
        ProposalSizes {
            last: AtomicI64::new(-1),
            min: AtomicI64::new(-1),
            max: AtomicI64::new(-1),
        }
    }
}

impl ProposalSizes {
    /// Counts one proposal of `bytes`.
    pub fn note(&self, bytes: usize) {
        let b = bytes as i64;
        self.last.store(b, Ordering::Relaxed);
        let _ = self
            .min
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |m| {
                (m < 0 || b < m).then_some(b)
            });
        self.max.fetch_max(b, Ordering::Relaxed);
    }

    /// `(last, min, max)`.
    pub fn get(&self) -> (i64, i64, i64) {
        (
            self.last.load(Ordering::Relaxed),
            self.min.load(Ordering::Relaxed),
            self.max.load(Ordering::Relaxed),
        )
    }
}

/// Raft's figures of this member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaftFigures {
    pub term: u64,
    pub last_log_index: u64,
    pub last_applied_index: u64,
    /// The last entry the current snapshot holds (0 without one).
    pub snapshot_index: u64,
    /// The last entry purged from the log (0 before the first purge).
    pub purged_index: u64,
}

/// This member's place in the group, as ZooKeeper's `mntr` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    pub state: ServerState,
    pub has_leader: bool,
    /// Voters in the membership.
    pub quorum_size: usize,
    /// On a leader: the members it replicates to.
    pub learners: usize,
    /// On a leader: the voters that have matched its log at least once.
    pub synced_followers: usize,
    /// On a leader: the observers (Raft learners) that have matched its log.
    pub synced_observers: usize,
}

impl Role {
    /// ZooKeeper's `zk_peer_state`: `<peer state> - <zab state>`.
    pub fn peer_state(&self) -> &'static str {
        match (self.state, self.has_leader) {
            (ServerState::Leader, _) => "leading - broadcast",
            (ServerState::Learner, true) => "observing - broadcast",
            (ServerState::Follower, true) => "following - broadcast",
            _ => "looking - election",
        }
    }
}

/// This server in its group.
pub struct Member {
    pub id: u64,
    /// openraft 0.9's leader does not step down when it loses its quorum; this is when a
    /// quorum last confirmed this server's leadership ([`Member::is_leader`] needs it).
    quorum_confirmed: parking_lot::Mutex<Option<Instant>>,
    /// The term this server was last seen leading, and the last index its log held when
    /// first seen leading it: what it must have applied before it decides
    /// ([`Member::is_leader`]).
    leading_from: parking_lot::Mutex<Option<(u64, Option<u64>)>>,
    /// When each peer was last heard from over Raft.
    last_heard: Arc<LastHeard>,
    /// The old leader's lease: how long a leader may go without a quorum's ack.
    lease: Duration,
    /// Sizes of the entries this member proposed, for `mntr`.
    pub proposals: ProposalSizes,
    /// Random per start: marks this run's own proposals in the log.
    pub incarnation: u64,
    pub raft: Raft,
    pub peers: AppPeers,
    pub log: LogStore,
    pub terms: SharedTerms,
}

fn raft_config(cfg: &MemberConfig) -> Result<Config, ReplicationError> {
    Config {
        cluster_name: "warren".into(),
        heartbeat_interval: cfg.heartbeat_ms,
        election_timeout_min: cfg.election_timeout_min_ms,
        election_timeout_max: cfg.election_timeout_max_ms,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(cfg.snapshot_every.max(1)),
        max_in_snapshot_log_to_keep: cfg.logs_to_keep,
        // The last chunk of a snapshot is answered once the member has installed it.
        install_snapshot_timeout: cfg.install_timeout_ms,
        max_payload_entries: 256,
        ..Config::default()
    }
    .validate()
    .map_err(|e| ReplicationError::Raft(e.to_string()))
}

impl Member {
    /// Starts Raft over `wal` (the txn log) and `meta_dir` (`<dataDir>/raft`), with
    /// `engine` (the state, snapshots are built from and installed into) and its last
    /// applied zxid `engine_zxid`, and binds the quorum port. Returns the
    /// member and the feed of committed txns for the applier.
    ///
    /// # Errors
    /// [`ReplicationError`] when the log, the vote or the quorum port cannot be opened.
    pub async fn start(
        cfg: MemberConfig,
        wal: Wal,
        engine: Engine,
        meta_dir: &Path,
        engine_zxid: i64,
        app: Arc<dyn AppService>,
    ) -> Result<(Arc<Member>, Feed), ReplicationError> {
        let meta = MetaDir::open(meta_dir)?;
        let log = LogStore::open(wal, meta.clone())?;
        let (sm, feed, terms) = StateMachine::open(meta, engine, engine_zxid)?;
        let config = Arc::new(raft_config(&cfg)?);
        let factory = Factory {
            me: cfg.id,
            rpc_timeout: Duration::from_millis(cfg.rpc_timeout_ms),
        };
        let raft = Raft::new(cfg.id, config, factory, log.clone(), sm)
            .await
            .map_err(|e| ReplicationError::Raft(e.to_string()))?;
        let listener =
            TcpListener::bind(cfg.listen)
                .await
                .map_err(|source| ReplicationError::Listen {
                    addr: cfg.listen,
                    source,
                })?;
        let ids: Vec<u64> = cfg.peers.iter().map(|p| p.id).collect();
        let last_heard = Arc::new(LastHeard::default());
        let watcher = Arc::new(LeaderWatch {
            raft: raft.clone(),
            last_heard: last_heard.clone(),
            me: cfg.id,
            voters: cfg.peers.iter().filter(|p| p.voter).map(|p| p.id).collect(),
            lease: Duration::from_millis(cfg.election_timeout_max_ms),
        });
        let listening = Arc::new(Listening {
            raft: raft.clone(),
            app,
            members: Arc::new(move |id| ids.contains(&id)),
            on_closed: Arc::new(move |from, last| watcher.connection_closed(from, last)),
            last_heard: last_heard.clone(),
        });
        tokio::spawn(listener::serve(listener, listening));
        form_group(&raft, &cfg).await?;
        let addrs: HashMap<u64, String> =
            cfg.peers.iter().map(|p| (p.id, p.addr.clone())).collect();
        let member = Member {
            id: cfg.id,
            quorum_confirmed: parking_lot::Mutex::new(None),
            leading_from: parking_lot::Mutex::new(None),
            last_heard,
            lease: Duration::from_millis(cfg.election_timeout_max_ms),
            proposals: ProposalSizes::default(),
            incarnation: rand::random(),
            raft,
            peers: AppPeers::new(cfg.id, addrs),
            log,
            terms,
        };
        let member = Arc::new(member);
        tokio::spawn(confirm_quorum(member.clone()));
        tokio::spawn(admit_observers(member.raft.clone(), cfg.peers.clone()));
        Ok((member, feed))
    }

    /// Whether this server leads the group now and has applied every entry its log held
    /// when it was first seen leading this term, so that its decisions see the whole
    /// committed state.
    ///
    /// A newly elected leader's log ends with the blank entry it commits first. But
    /// openraft restores a leader that restarts with its own committed vote as the
    /// leader of the same term, with no new blank entry: its log may hold entries of
    /// that term it committed (or a quorum has) before the restart and that its engine
    /// lost, which it applies again only once a quorum answers. Having applied some
    /// entry of its own term is not enough then; it must apply all of them.
    ///
    /// A leader that a quorum has not confirmed within the lease is not the leader here:
    /// it may be cut off, and the others may have elected another.
    pub fn is_leader(&self) -> bool {
        let ready = {
            let m = self.raft.metrics();
            let m = m.borrow();
            if m.state != ServerState::Leader || m.current_leader != Some(self.id) {
                return false;
            }
            let must_apply = {
                let mut from = self.leading_from.lock();
                match *from {
                    Some((term, index)) if term == m.current_term => index,
                    _ => {
                        // First seen leading this term: nothing has been decided in it
                        // since this run started, so all the log holds came before.
                        *from = Some((m.current_term, m.last_log_index));
                        m.last_log_index
                    }
                }
            };
            m.last_applied.map(|l| l.leader_id.term) == Some(m.current_term)
                && m.last_applied.map(|l| l.index) >= must_apply
        };
        ready && self.quorum_confirmed_within(self.lease)
    }

    /// Whether Raft made this server the leader of the current term (it may not be
    /// ready to decide yet: see [`Member::is_leader`]).
    pub fn is_elected(&self) -> bool {
        let m = self.raft.metrics();
        let m = m.borrow();
        m.state == ServerState::Leader && m.current_leader == Some(self.id)
    }

    fn quorum_confirmed_within(&self, d: Duration) -> bool {
        self.quorum_confirmed
            .lock()
            .is_some_and(|t| t.elapsed() < d)
    }

    /// Whether this server is in touch with a working group: a leader a quorum confirmed
    /// within two leases, or a follower that heard its leader within two leases.
    pub fn in_touch(&self) -> bool {
        let (state, leader) = {
            let m = self.raft.metrics();
            let m = m.borrow();
            (m.state, m.current_leader)
        };
        let within = self.lease * 2;
        match (state, leader) {
            (ServerState::Leader, _) => self.quorum_confirmed_within(within),
            (_, Some(l)) => self.last_heard.get(l).is_some_and(|t| t.elapsed() < within),
            (_, None) => false,
        }
    }

    /// The leader this server knows of.
    pub fn leader(&self) -> Option<u64> {
        self.raft.metrics().borrow().current_leader
    }

    /// This server's role, for `srvr` and `mntr`.
    pub fn state(&self) -> ServerState {
        self.raft.metrics().borrow().state
    }

    /// The current term (the epoch of new zxids).
    pub fn term(&self) -> u64 {
        self.raft.metrics().borrow().current_term
    }

    /// Starts an election, so that a new term begins (the zxid counter restarts).
    pub async fn start_new_term(&self) {
        let _ = self.raft.trigger().elect().await;
    }

    /// What `mntr` tells of this member's place in the group.
    pub fn role(&self) -> Role {
        let m = self.raft.metrics();
        let m = m.borrow();
        let voters: Vec<u64> = m.membership_config.voter_ids().collect();
        let replication = m.replication.as_ref();
        let others = replication.map_or(0, |r| r.keys().filter(|&&id| id != self.id).count());
        let synced = |voter: bool| {
            replication.map_or(0, |r| {
                r.iter()
                    .filter(|(id, matched)| {
                        **id != self.id && matched.is_some() && voters.contains(id) == voter
                    })
                    .count()
            })
        };
        Role {
            state: m.state,
            has_leader: m.current_leader.is_some(),
            quorum_size: voters.len(),
            learners: others,
            synced_followers: synced(true),
            synced_observers: synced(false),
        }
    }

    /// Raft's figures for the metrics endpoint.
    pub fn raft_figures(&self) -> RaftFigures {
        let m = self.raft.metrics();
        let m = m.borrow();
        RaftFigures {
            term: m.current_term,
            last_log_index: m.last_log_index.unwrap_or(0),
            last_applied_index: m.last_applied.map_or(0, |l| l.index),
            snapshot_index: m.snapshot.map_or(0, |l| l.index),
            purged_index: m.purged.map_or(0, |l| l.index),
        }
    }

    /// On the leader: how many entries each follower's matched log is behind its own.
    pub fn follower_lag(&self) -> Vec<(u64, u64)> {
        let m = self.raft.metrics();
        let m = m.borrow();
        let last = m.last_log_index.unwrap_or(0);
        m.replication.as_ref().map_or_else(Vec::new, |r| {
            r.iter()
                .filter(|(id, _)| **id != self.id)
                .map(|(id, matched)| (*id, last.saturating_sub(matched.map_or(0, |l| l.index))))
                .collect()
        })
    }

    /// Stops Raft.
    pub async fn shutdown(&self) {
        let _ = self.raft.shutdown().await;
    }
}

/// Initializes a new group with the configured participants. Only the participant with
/// the lowest id does it, so that the group's first entry is one member's view of the
/// config, whatever the others wrote for their own host; the others join when it
/// contacts them. A member that already has a log or a vote does nothing.
async fn form_group(raft: &Raft, cfg: &MemberConfig) -> Result<(), ReplicationError> {
    let first = cfg.peers.iter().filter(|p| p.voter).map(|p| p.id).min();
    if first != Some(cfg.id) {
        return Ok(());
    }
    let initialized = raft
        .is_initialized()
        .await
        .map_err(|e| ReplicationError::Raft(e.to_string()))?;
    if initialized {
        return Ok(());
    }
    let voters: BTreeMap<u64, BasicNode> = cfg
        .peers
        .iter()
        .filter(|p| p.voter)
        .map(|p| (p.id, BasicNode::new(&p.addr)))
        .collect();
    match raft.initialize(voters).await {
        Ok(()) => Ok(()),
        Err(openraft::error::RaftError::APIError(
            openraft::error::InitializeError::NotAllowed(_),
        )) => Ok(()),
        Err(e) => Err(ReplicationError::Raft(e.to_string())),
    }
}

/// Makes the configured observers Raft learners of a group that has just formed.
///
/// A group forms with its voters only (openraft's `initialize`); whoever leads it first
/// then adds zoo.cfg's observers, in one membership change each. That happens once: as
/// soon as the membership has changed after formation, the membership in the log is the
/// truth, and a rewritten zoo.cfg does not change it.
async fn admit_observers(raft: Raft, peers: Vec<Peer>) {
    let observers: Vec<Peer> = peers.into_iter().filter(|p| !p.voter).collect();
    if observers.is_empty() {
        return;
    }
    let mut metrics = raft.metrics();
    loop {
        let (leading, formation, known) = {
            let m = metrics.borrow();
            let formation = m.membership_config.log_id().is_none_or(|l| l.index == 0);
            let known: Vec<u64> = m.membership_config.nodes().map(|(id, _)| *id).collect();
            // The group's first membership must be committed before the next change:
            // it is once this leader has applied an entry of its own term.
            let settled = m
                .last_applied
                .is_some_and(|a| a.leader_id.term == m.current_term);
            (m.state == ServerState::Leader && settled, formation, known)
        };
        if !formation {
            return;
        }
        if leading {
            for o in observers.iter().filter(|o| !known.contains(&o.id)) {
                if let Err(e) = raft.add_learner(o.id, BasicNode::new(&o.addr), false).await {
                    tracing::warn!(observer = o.id, error = %e, "could not add the observer");
                }
            }
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

/// The fast path of failover: a follower whose leader's connection closed starts an
/// election as soon as the other voters can grant it.
///
/// A voter refuses to vote while it still honours the old leader's lease (openraft's
/// `election_timeout_max` since the leader was last heard), so an election started at
/// once would be refused; it is started when that lease has run out, the voters in id
/// order a few milliseconds apart so that one candidate wins without a split vote. If a
/// leader is elected meanwhile, or the old one is heard from again (a connection can
/// also close because an RPC timed out, say on a slow disk), nothing is done.
struct LeaderWatch {
    raft: Raft,
    last_heard: Arc<LastHeard>,
    me: u64,
    voters: Vec<u64>,
    lease: Duration,
}

/// Between the voters' elections, so the first has its votes before the next starts.
const STAGGER: Duration = Duration::from_millis(40);

impl LeaderWatch {
    fn connection_closed(&self, from: u64, last: Instant) {
        let (leader, term) = {
            let m = self.raft.metrics();
            let m = m.borrow();
            (m.current_leader, m.current_term)
        };
        if leader != Some(from) || !self.voters.contains(&self.me) {
            return;
        }
        let rank = self
            .voters
            .iter()
            .filter(|&&v| v != from && v < self.me)
            .count() as u32;
        let at = last + self.lease + Duration::from_millis(5) + STAGGER * rank;
        let raft = self.raft.clone();
        let last_heard = self.last_heard.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            if last_heard.get(from).is_some_and(|t| t > last) {
                return;
            }
            let (leader_now, term_now) = {
                let m = raft.metrics();
                let m = m.borrow();
                (m.current_leader, m.current_term)
            };
            if term_now == term && leader_now == Some(from) {
                tracing::info!(
                    leader = from,
                    "the leader's connection closed: starting an election"
                );
                let _ = raft.trigger().elect().await;
            }
        });
    }
}

/// How often a leader asks a quorum to confirm it.
const CONFIRM_EVERY: Duration = Duration::from_millis(100);

/// Keeps [`Member::quorum_confirmed`] fresh while this server leads: every
/// [`CONFIRM_EVERY`], and at once when it becomes leader, a read index round
/// (openraft's `get_read_log_id`, a heartbeat a quorum must answer; it does not wait
/// for this server to apply).
///
/// A leader no quorum has confirmed for two leases gives up leading, as ZooKeeper's
/// does, the only way openraft 0.9 allows: it stops sending heartbeats (and these
/// rounds). Its followers then hear nothing, know they are cut off (see `in_touch`),
/// and start elections, whose higher term ends its leadership; once it no longer leads,
/// its heartbeats are turned back on.
async fn confirm_quorum(member: Arc<Member>) {
    let mut metrics = member.raft.metrics();
    let mut leading_since = Instant::now();
    let mut gave_up = false;
    loop {
        let leading = metrics.borrow().state == ServerState::Leader;
        if leading && !gave_up {
            let started = Instant::now();
            let round = tokio::time::timeout(member.lease, member.raft.get_read_log_id());
            if let Ok(Ok(_)) = round.await {
                *member.quorum_confirmed.lock() = Some(started);
            }
            let confirmed = *member.quorum_confirmed.lock();
            let last = confirmed.map_or(leading_since, |c| c.max(leading_since));
            if last.elapsed() > member.lease * 2 {
                tracing::warn!(
                    "no quorum confirmed this leader for {:?}: giving up leading",
                    last.elapsed()
                );
                member.raft.runtime_config().heartbeat(false);
                gave_up = true;
            }
        } else if !leading {
            if gave_up {
                member.raft.runtime_config().heartbeat(true);
                gave_up = false;
            }
            leading_since = Instant::now();
        }
        tokio::select! {
            _ = tokio::time::sleep(CONFIRM_EVERY) => {}
            changed = metrics.changed(), if !leading || gave_up => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}
