//! The state every part of a running server shares: one [`Shared`] per server, behind an
//! `Arc`. Its fields are the server's components; each is owned by the module named after
//! it (sessions by `session`, the overlay by the pipeline's writer and applier, watches by
//! `watch`), and the others only call them.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use warren_engine::Engine;
use warren_tree::{Overlay, View};

use crate::config::Config;
use crate::ensemble::Ensemble;
use crate::log::TxnLog;
use crate::net::admission::Admission;
use crate::pipeline::Pipeline;
use crate::session::Sessions;
use crate::stats::Stats;
use crate::watch::Watches;

/// State shared by every connection, the pipeline and the background tasks.
pub struct Shared {
    pub(crate) config: Config,
    pub(crate) engine: Engine,
    pub(crate) log: Box<dyn TxnLog>,
    pub(crate) sessions: Sessions,
    pub(crate) watches: Watches,
    /// Changes of proposed txns not yet in the engine (the pipeline's).
    pub(crate) overlay: Mutex<Overlay>,
    /// Held for writing while a txn is applied and its watches fire; held for reading by
    /// reads that leave watches.
    pub(crate) tree_lock: RwLock<()>,
    /// The last applied zxid: what read replies carry.
    pub(crate) last_zxid: AtomicI64,
    /// Set once the server is stopping (shutdown or fail-stop): no more writes.
    pub(crate) stopping: AtomicBool,
    /// Why storage failed, once it has (fail-stop).
    pub(crate) failure: Mutex<Option<String>>,
    /// Wakes the accept loop to stop after a storage failure.
    pub(crate) failed: Notify,
    pub(crate) stats: Stats,
    /// How many requests, and bytes of them, the connections may hold at once.
    pub(crate) admission: Admission,
    pub(crate) started: Instant,
    pub(crate) pipeline: OnceLock<Pipeline>,
    /// The ensemble side, when this server is a member of one.
    pub(crate) ensemble: Option<Arc<Ensemble>>,
}

impl Shared {
    /// The state of a server about to start, whose last zxid is `last_zxid`.
    pub(crate) fn new(
        config: Config,
        engine: Engine,
        log: Box<dyn TxnLog>,
        sessions: Sessions,
        last_zxid: i64,
        ensemble: Option<Arc<Ensemble>>,
    ) -> Shared {
        let admission = Admission::new(
            config.global_outstanding_limit,
            config.request_bytes_in_flight(),
        );
        Shared {
            config,
            engine,
            log,
            sessions,
            watches: Watches::default(),
            overlay: Mutex::new(Overlay::default()),
            tree_lock: RwLock::new(()),
            last_zxid: AtomicI64::new(last_zxid),
            stopping: AtomicBool::new(false),
            failure: Mutex::new(None),
            failed: Notify::new(),
            stats: Stats::default(),
            admission,
            started: Instant::now(),
            pipeline: OnceLock::new(),
            ensemble,
        }
    }

    /// The write pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        // Set in `Server::start` before any connection is accepted.
        self.pipeline
            .get()
            .expect("pipeline started before serving")
    }

    /// The fail-stop rule: after a storage failure the server stops, with a non-zero
    /// exit, instead of serving on without a log it can trust (see [`crate::pipeline`]).
    pub fn fail_stop(&self, what: &str) {
        self.stopping.store(true, Ordering::SeqCst);
        let mut failure = self.failure.lock();
        if failure.is_none() {
            tracing::error!(
                "storage failure: {what}. Stopping the server (fail-stop): clients will \
                 reconnect elsewhere, and no acknowledged write is lost. Fix the cause \
                 (disk space, permissions, the device) and start it again"
            );
            *failure = Some(what.to_owned());
            self.failed.notify_one();
        }
    }

    /// Whether this server makes the decisions: standalone, or the ensemble's leader.
    /// Only such a server expires sessions and reaps containers.
    pub fn leads(&self) -> bool {
        self.ensemble.as_ref().is_none_or(|e| e.is_leader())
    }

    /// `standalone`, `leader`, `follower` or `observer`: the mode `srvr` prints.
    pub fn mode(&self) -> &'static str {
        self.ensemble.as_ref().map_or("standalone", |e| e.mode())
    }

    /// The last applied zxid.
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid.load(Ordering::SeqCst)
    }

    /// Number of znodes.
    pub fn node_count(&self) -> i64 {
        View::new(&self.engine, None).node_count().unwrap_or(0)
    }
}
