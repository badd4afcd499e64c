//! Start-up, recovery, the accept loop, session expiry and shutdown.
//!
//! Recovery is short whatever the size of the tree: the engine opens from its manifest,
//! and only the log records above the engine's persisted zxid are replayed, through the
//! same [`apply_txn`] the pipeline uses.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use tokio::net::TcpListener;
use warren_engine::{Engine, EngineOptions, ReadSeq};
use warren_proto::txn::LoggedTxn;
use warren_wal::{Wal, WalOptions};

use crate::acl::Identities;
use crate::config::Config;
use crate::net::serve_connection;
use crate::pipeline::Pipeline;
use crate::prep::WriteOp;
use crate::session::Sessions;
use crate::stats::Stats;
use crate::watch::Watches;
use warren_tree::{self as tree, apply_txn, write_changes, Overlay, View};

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create data directory {path}: {source}")]
    Dir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("opening the storage engine in {path}: {source}")]
    Engine {
        path: std::path::PathBuf,
        source: warren_engine::EngineError,
    },
    #[error("opening the txn log in {path}: {source}")]
    Wal {
        path: std::path::PathBuf,
        source: warren_wal::WalError,
    },
    #[error("recovering the tree: {0}")]
    Tree(#[from] tree::TreeError),
    #[error("txn log record {zxid:#x} does not decode: {detail}")]
    BadTxn { zxid: u64, detail: String },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the pipeline threads: {0}")]
    Threads(std::io::Error),
}

/// State shared by every connection and the pipeline.
pub struct Shared {
    pub config: Config,
    pub engine: Engine,
    pub wal: Wal,
    pub sessions: Sessions,
    pub watches: Watches,
    /// Changes of logged txns not yet in the engine.
    pub overlay: Mutex<Overlay>,
    /// Held for writing while a txn is applied and its watches fire; held for reading by
    /// reads that leave watches.
    pub tree_lock: RwLock<()>,
    /// The last applied zxid: what read replies carry.
    pub last_zxid: AtomicI64,
    /// Set when the log or engine failed: writes stop, reads go on.
    pub broken: AtomicBool,
    pub stats: Stats,
    pub started: Instant,
    pipeline: OnceLock<Pipeline>,
}

impl Shared {
    /// The write pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        // Set in `Server::start` before any connection is accepted.
        self.pipeline
            .get()
            .expect("pipeline started before serving")
    }

    /// Stops accepting writes after a storage failure.
    pub fn fail(&self, what: &str) {
        if !self.broken.swap(true, Ordering::SeqCst) {
            tracing::error!(
                "storage failure while {what}; refusing writes from now on (reads continue). \
                 Fix the cause (disk space, permissions) and restart: no acknowledged write is lost"
            );
        }
    }

    /// Number of znodes.
    pub fn node_count(&self) -> i64 {
        View::new(&self.engine, None).node_count().unwrap_or(0)
    }
}

/// A running server.
pub struct Server {
    pub shared: Arc<Shared>,
    listener: TcpListener,
}

fn engine_options(cfg: &Config) -> EngineOptions {
    // Up to three memtables (the active one and two being flushed) of an eighth of the
    // budget each, 7/16 for the block cache (which also holds index and filter blocks),
    // and the rest (3/16) left for connections, sessions, watches, allocator slack and
    // compaction buffers. Measured with 1M znodes of 1 KiB: peak RSS 262 MiB with half
    // the budget for the cache, so the cache gives up a sixteenth.
    let budget = (cfg.memory_budget_mb as usize) << 20;
    EngineOptions {
        memtable_bytes: (budget / 8).max(1 << 20),
        max_immutable_memtables: 2,
        block_cache_bytes: (budget * 7 / 16).max(1 << 20),
        retention_seqs: cfg.retention_txns,
        ..EngineOptions::default()
    }
}

impl Server {
    /// Opens the data, recovers, and binds the client port.
    ///
    /// # Errors
    /// [`StartError`] naming what could not be opened, read or bound.
    pub async fn start(config: Config) -> Result<Server, StartError> {
        for dir in [config.data_dir.clone(), config.log_dir()] {
            std::fs::create_dir_all(&dir)
                .map_err(|source| StartError::Dir { path: dir, source })?;
        }
        let edir = config.engine_dir();
        let engine = Engine::open(&edir, engine_options(&config))
            .map_err(|source| StartError::Engine { path: edir, source })?;
        let ldir = config.log_dir();
        let wal = Wal::open(
            &ldir,
            WalOptions {
                segment_bytes: config.pre_alloc_size_kb.saturating_mul(1024).max(1 << 20),
                ..WalOptions::default()
            },
        )
        .map_err(|source| StartError::Wal { path: ldir, source })?;

        let secret = tree::bootstrap(&engine)?;
        let last_zxid = replay(&engine, &wal)?;
        let shared = Arc::new(Shared {
            sessions: Sessions::new(secret, 1),
            config,
            engine,
            wal,
            watches: Watches::default(),
            overlay: Mutex::new(Overlay::default()),
            tree_lock: RwLock::new(()),
            last_zxid: AtomicI64::new(last_zxid),
            broken: AtomicBool::new(false),
            stats: Stats::default(),
            started: Instant::now(),
            pipeline: OnceLock::new(),
        });
        recover_sessions(&shared)?;
        let pipeline = Pipeline::start(shared.clone(), last_zxid).map_err(StartError::Threads)?;
        let _ = shared.pipeline.set(pipeline);
        let addr = shared.config.client_addr();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Listen { addr, source })?;
        tracing::info!(
            %addr,
            last_zxid = format!("{last_zxid:#x}"),
            nodes = shared.node_count(),
            sessions = shared.sessions.len(),
            "warren is serving"
        );
        Ok(Server { shared, listener })
    }

    /// The address the client port is bound to.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts clients until `shutdown` resolves, then stops cleanly: the log is synced
    /// and the memtable flushed, so the next start replays nothing.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let shared = self.shared.clone();
        tokio::spawn(expire_sessions(shared.clone()));
        tokio::spawn(reap_containers_and_ttls(shared.clone()));
        if shared.config.autopurge_purge_interval_hours > 0 {
            tokio::spawn(purge_logs(shared.clone()));
        }
        tokio::spawn(crate::admin::serve(shared.clone()));
        tokio::spawn(crate::metrics::serve(shared.clone()));
        if let Some(port) = shared.config.secure_client_port {
            match crate::tls::acceptor(&shared.config) {
                Ok(Some(acceptor)) => {
                    let addr = std::net::SocketAddr::new(shared.config.client_port_address, port);
                    match TcpListener::bind(addr).await {
                        Ok(l) => {
                            tracing::info!(%addr, "serving TLS clients");
                            tokio::spawn(accept_tls(shared.clone(), l, acceptor));
                        }
                        Err(e) => {
                            tracing::error!(%addr, "secure client port disabled: cannot listen: {e}")
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::error!(
                    "secure client port {port} disabled: {e}; the plain client port keeps serving"
                ),
            }
        }
        let max_per_ip = shared.config.max_client_cnxns;
        let per_ip: Arc<Mutex<std::collections::HashMap<std::net::IpAddr, u32>>> = Arc::default();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                acc = self.listener.accept() => {
                    let (stream, peer) = match acc {
                        Ok(x) => x,
                        Err(e) => {
                            tracing::warn!("accept failed: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    {
                        let mut g = per_ip.lock();
                        let n = g.entry(peer.ip()).or_insert(0);
                        if max_per_ip != 0 && *n >= max_per_ip {
                            tracing::warn!(%peer, "too many connections from this address (maxClientCnxns={max_per_ip})");
                            continue;
                        }
                        *n += 1;
                    }
                    let s = shared.clone();
                    let counts = per_ip.clone();
                    tokio::spawn(async move {
                        let _ = stream.set_nodelay(true);
                        serve_connection(s, stream, peer, None).await;
                        let mut g = counts.lock();
                        if let Some(n) = g.get_mut(&peer.ip()) {
                            *n = n.saturating_sub(1);
                        }
                    });
                }
            }
        }
        tracing::info!("shutting down");
        if let Err(e) = shared.wal.sync() {
            tracing::error!("syncing the txn log at shutdown: {e}");
        }
        // Flush only what the applier has applied: wait until the pipeline is idle.
        for _ in 0..100 {
            if shared.overlay.lock().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if let Err(e) = shared.engine.flush() {
            tracing::error!("flushing the engine at shutdown: {e}");
        }
    }
}

/// Replays log records above the engine's persisted zxid; returns the last zxid.
fn replay(engine: &Engine, wal: &Wal) -> Result<i64, StartError> {
    let from = engine.persisted_seq() + 1;
    let started = Instant::now();
    let mut count = 0u64;
    let iter = wal.read_from(from).map_err(|source| StartError::Wal {
        path: Default::default(),
        source,
    })?;
    for rec in iter {
        let rec = rec.map_err(|source| StartError::Wal {
            path: Default::default(),
            source,
        })?;
        if rec.seq <= engine.last_seq() {
            continue;
        }
        let t = LoggedTxn::decode(&rec.payload).map_err(|e| StartError::BadTxn {
            zxid: rec.seq,
            detail: e.to_string(),
        })?;
        let mut view = View::new(engine, None);
        let mut changes = Vec::new();
        apply_txn(&mut view, &t.header, &t.txn, &mut changes)?;
        let kv = view.take_changes();
        if !kv.is_empty() {
            write_changes(engine, t.header.zxid, &kv)?;
        }
        count += 1;
    }
    let last = engine.last_seq().max(wal.last_seq()) as i64;
    tracing::info!(
        replayed = count,
        ms = started.elapsed().as_millis() as u64,
        "recovered from the txn log"
    );
    Ok(last)
}

/// Rebuilds the session table from the engine's session key space.
fn recover_sessions(shared: &Shared) -> Result<(), StartError> {
    for kv in shared
        .engine
        .scan_prefix(b"s", ReadSeq::Latest)
        .map_err(tree::TreeError::from)?
    {
        let (k, v) = kv.map_err(tree::TreeError::from)?;
        if let Some((id, timeout)) = tree::session_entry(&k, &v) {
            shared.sessions.add(id, timeout.max(0) as u32);
        }
    }
    Ok(())
}

/// Expires sessions whose clients went quiet, by logging closeSession for them.
async fn expire_sessions(shared: Arc<Shared>) {
    let tick = Duration::from_millis(u64::from(shared.config.tick_time / 2).clamp(50, 1000));
    let system = Arc::new(Identities {
        ids: Vec::new(),
        is_super: true,
    });
    loop {
        tokio::time::sleep(tick).await;
        for (id, conn) in shared.sessions.take_expired() {
            tracing::info!("session {id:#x} expired");
            if let Some((_, out)) = conn {
                out.close();
            }
            let s = shared.clone();
            let who = system.clone();
            tokio::spawn(async move {
                if let Err(e) = s.pipeline().submit(id, 0, WriteOp::CloseSession, who).await {
                    tracing::warn!("closing expired session {id:#x}: {e}");
                }
            });
        }
    }
}

/// The container and TTL reaper. An empty container that once had children, and a TTL
/// node without children whose last change is older than its TTL, are deleted through
/// the pipeline as deleteContainer txns, so the deletion is logged like any write.
async fn reap_containers_and_ttls(shared: Arc<Shared>) {
    let interval = Duration::from_millis(shared.config.container_check_interval_ms);
    let system = Arc::new(Identities {
        ids: Vec::new(),
        is_super: true,
    });
    loop {
        tokio::time::sleep(interval).await;
        let candidates = match tokio::task::block_in_place(|| reap_candidates(&shared)) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("container reaper: {e}");
                continue;
            }
        };
        let max = shared.config.container_max_per_minute.max(1) as usize;
        let pause = Duration::from_millis(60_000 / max as u64);
        for path in candidates {
            let req = warren_proto::Request::DeleteContainer(warren_proto::PathRequest {
                path: path.clone(),
            });
            match shared
                .pipeline()
                .submit(0, 0, WriteOp::System(req), system.clone())
                .await
            {
                Ok(_) => tracing::debug!(path, "reaped"),
                Err(e) => tracing::warn!(path, "container reaper: {e}"),
            }
            tokio::time::sleep(pause).await;
        }
    }
}

fn reap_candidates(shared: &Shared) -> Result<Vec<String>, tree::TreeError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let view = View::new(&shared.engine, None);
    let mut out = Vec::new();
    for kv in shared.engine.scan_prefix(b"c", ReadSeq::Latest)? {
        let (k, _) = kv?;
        let Ok(path) = String::from_utf8(k[1..].to_vec()) else {
            continue;
        };
        let Some(n) = view.node(&path)? else { continue };
        if n.num_children > 0 {
            continue;
        }
        let due = match tree::owner_kind(n.stat.ephemeral_owner) {
            tree::OwnerKind::Container => n.stat.cversion > 0,
            tree::OwnerKind::Ttl(ttl) => now - n.stat.mtime > ttl,
            _ => false,
        };
        if due {
            out.push(path);
        }
    }
    Ok(out)
}

/// Accepts TLS clients on the secure port. A failed handshake closes only that connection.
async fn accept_tls(
    shared: Arc<Shared>,
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("secure accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let s = shared.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor.accept(stream).await {
                Ok(tls) => {
                    let subject = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(crate::tls::x509_identity);
                    serve_connection(s, tls, peer, subject).await;
                }
                Err(e) => tracing::warn!(%peer, "TLS handshake failed: {e}"),
            }
        });
    }
}

/// ZooKeeper's autopurge, for the txn log: every `autopurge.purgeInterval` hours, delete
/// log segments that the engine has persisted and that lie wholly outside the retention
/// window (`warren.retentionTxns`), so `replay` can still reach back that far.
async fn purge_logs(shared: Arc<Shared>) {
    let every = Duration::from_secs(u64::from(shared.config.autopurge_purge_interval_hours) * 3600);
    loop {
        tokio::time::sleep(every).await;
        let last = shared.last_zxid.load(Ordering::SeqCst).max(0) as u64;
        let keep_from = (shared.engine.persisted_seq() + 1)
            .min(last.saturating_sub(shared.config.retention_txns) + 1);
        match shared.wal.purge_below(keep_from) {
            Ok(n) => tracing::info!(
                segments = n,
                below = format!("{keep_from:#x}"),
                "purged txn log"
            ),
            Err(e) => tracing::warn!("purging the txn log: {e}"),
        }
    }
}
