//! Start-up, the accept loop and shutdown.
//!
//! Start-up is short whatever the size of the tree: the data dir opens the engine from
//! its manifest and replays only the log records above the engine's persisted zxid,
//! through the same apply function the pipeline uses (`warren-datadir`). The server then
//! wraps the log as a one-member [`LocalLog`], rebuilds the session table, starts the
//! pipeline and binds the client port.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use warren_engine::EngineOptions;
use warren_wal::WalOptions;

use crate::config::Config;
use crate::log::local::LocalLog;
use crate::net::accept::{accept_one, start_tls, PerIp};
use crate::pipeline::Pipeline;
use crate::session::Sessions;
use crate::state::Shared;

/// Errors that stop the server from starting, or stop it later (fail-stop).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    DataDir(#[from] warren_datadir::DataDirError),
    #[error("recovering the session table: {0}")]
    Sessions(#[from] warren_tree::TreeError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the pipeline threads: {0}")]
    Threads(std::io::Error),
    #[error("stopped after a storage failure: {0}")]
    StorageFailed(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Replication(#[from] warren_replication::ReplicationError),
    #[error("{0}")]
    Ensemble(String),
}

/// A running server.
pub struct Server {
    pub shared: Arc<Shared>,
    listener: TcpListener,
    /// One process per data dir, for as long as the server runs.
    _lock: warren_datadir::DataDirLock,
}

pub(crate) fn engine_options(cfg: &Config) -> EngineOptions {
    // The split of the budget is `Config::memory_plan`'s: the fixed overhead off the
    // top, then memtables, block cache and requests in flight.
    let plan = cfg.memory_plan();
    EngineOptions {
        memtable_bytes: plan.memtable_bytes,
        max_immutable_memtables: 2,
        block_cache_bytes: plan.block_cache_bytes,
        retention_seqs: cfg.retention_txns,
        ..EngineOptions::default()
    }
}

pub(crate) fn wal_options(cfg: &Config) -> WalOptions {
    WalOptions {
        segment_bytes: cfg.pre_alloc_size_kb.saturating_mul(1024).max(1 << 20),
        ..WalOptions::default()
    }
}

impl Server {
    /// Opens the data, recovers, and binds the client port.
    ///
    /// # Errors
    /// [`StartError`] naming what could not be opened, read or bound.
    pub async fn start(config: Config) -> Result<Server, StartError> {
        if config.is_ensemble()? {
            return crate::ensemble::start::start_member(config).await;
        }
        let dd = config.data_dir_layout();
        let myid = dd.myid()?.unwrap_or(1);
        let opened = dd.open_for_server(engine_options(&config), wal_options(&config))?;
        tracing::info!(
            replayed = opened.replayed.txns,
            ms = opened.replayed.millis,
            "recovered from the txn log"
        );
        let last_zxid = opened.last_zxid as i64;
        let log = Box::new(LocalLog::new(opened.wal, last_zxid));
        let sessions = Sessions::new(opened.secret, myid);
        sessions.recover(&opened.engine)?;
        let shared = Arc::new(Shared::new(
            config,
            opened.engine,
            log,
            sessions,
            last_zxid,
            None,
        ));
        Server::serve(shared, opened.lock).await
    }

    /// Starts the pipeline and binds the client port of a server whose state is open.
    pub(crate) async fn serve(
        shared: Arc<Shared>,
        lock: warren_datadir::DataDirLock,
    ) -> Result<Server, StartError> {
        let pipeline = Pipeline::start(shared.clone()).map_err(StartError::Threads)?;
        let _ = shared.pipeline.set(pipeline);
        let last_zxid = shared.last_zxid();
        let addr = shared.config.client_addr();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Listen { addr, source })?;
        tracing::info!(
            %addr,
            last_zxid = format!("{last_zxid:#x}"),
            nodes = shared.node_count(),
            sessions = shared.sessions.len(),
            mode = shared.mode(),
            "warren is serving"
        );
        Ok(Server {
            shared,
            listener,
            _lock: lock,
        })
    }

    /// The address the client port is bound to.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts clients until `shutdown` resolves or storage fails. A shutdown stops
    /// cleanly: the log is synced and the memtable flushed, so the next start replays
    /// nothing.
    ///
    /// # Errors
    /// [`StartError::StorageFailed`] after a storage failure (fail-stop): the caller
    /// exits non-zero.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), StartError> {
        let shared = self.shared.clone();
        spawn_background(&shared).await;
        let per_ip = Arc::new(PerIp::default());
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = shared.failed.notified() => break,
                _ = accept_one(&shared, &self.listener, &per_ip) => {}
            }
        }
        if let Some(what) = shared.failure.lock().clone() {
            return Err(StartError::StorageFailed(what));
        }
        tracing::info!("shutting down");
        stop_cleanly(&shared).await;
        Ok(())
    }
}

/// Session expiry, the reaper, log purging, the AdminServer, metrics and the TLS port.
async fn spawn_background(shared: &Arc<Shared>) {
    tokio::spawn(crate::session::expiry::run(shared.clone()));
    if let Some(ensemble) = shared.ensemble.clone() {
        tokio::spawn(crate::ensemble::sessions::watch_leader(
            shared.clone(),
            ensemble.clone(),
        ));
        tokio::spawn(crate::ensemble::sessions::watch_quorum(
            shared.clone(),
            ensemble,
        ));
    }
    tokio::spawn(crate::reaper::run(shared.clone()));
    tokio::spawn(crate::purge::run(shared.clone()));
    tokio::spawn(crate::admin::serve(shared.clone()));
    tokio::spawn(crate::metrics::serve(shared.clone()));
    start_tls(shared).await;
}

/// Syncs the log, waits (briefly) until the pipeline has applied what it logged, and
/// flushes the engine.
async fn stop_cleanly(shared: &Shared) {
    if let Err(e) = shared.log.sync() {
        tracing::error!("syncing the txn log at shutdown: {e}");
    }
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
