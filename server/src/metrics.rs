//! The Prometheus metrics endpoint: `GET /metrics` on `metricsProvider.httpPort`, in the
//! Prometheus text format.
//!
//! Names follow ZooKeeper's Prometheus provider where it has the figure (`znode_count`,
//! `watch_count`, `num_alive_connections`, `outstanding_requests`, `global_sessions`,
//! `readlatency`, `updatelatency`, ...), so existing ZooKeeper dashboards keep working;
//! Warren's own figures (per-op latency, txn log, storage engine) are `warren_*`.
//!
//! Histograms are observed as replies leave (see `stats`); every other figure is read
//! from the server's state at scrape time, so a scrape costs a few counter reads and two
//! directory walks, and nothing is computed when nobody scrapes.

use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use parking_lot::Mutex;
use prometheus::{Encoder, Gauge, GaugeVec, IntCounter, IntGauge, Opts, Registry, TextEncoder};
use tokio::net::TcpListener;
use warren_engine::EngineStats;
use warren_wal::WalStats;

use crate::fourlw;
use crate::state::Shared;

/// Errors building the registry (a duplicate or malformed metric name: a bug).
#[derive(Debug, thiserror::Error)]
#[error("metrics registry: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

/// Every metric the endpoint exports, registered once.
pub struct Metrics {
    registry: Registry,
    gauges: Vec<(&'static str, IntGauge)>,
    float_gauges: Vec<(&'static str, Gauge)>,
    counters: Vec<(&'static str, IntCounter)>,
    level_bytes: GaugeVec,
    level_files: GaugeVec,
    /// On the leader: entries each follower is behind its log.
    follower_lag: GaugeVec,
    /// Serialises scrapes: counters are set by reset + add, which must not interleave.
    scrape: Mutex<()>,
}

/// ZooKeeper-named gauges (read at scrape time), with their help text.
const GAUGES: &[(&str, &str)] = &[
    ("znode_count", "Number of znodes"),
    (
        "watch_count",
        "Number of watches (data and child watch tables)",
    ),
    ("ephemerals_count", "Number of ephemeral znodes"),
    ("global_sessions", "Number of sessions"),
    ("num_alive_connections", "Number of client connections"),
    (
        "outstanding_requests",
        "Requests received and not yet answered",
    ),
    ("packets_received", "Requests received since start or srst"),
    (
        "packets_sent",
        "Replies and notifications sent since start or srst",
    ),
    (
        "min_latency",
        "Minimum request latency in ms since start or srst",
    ),
    (
        "max_latency",
        "Maximum request latency in ms since start or srst",
    ),
    ("uptime", "Milliseconds since the server started"),
    (
        "approximate_data_size",
        "Bytes the engine holds for the tree (SSTables + memtables)",
    ),
    ("data_dir_size", "Bytes in the engine directory"),
    ("log_dir_size", "Bytes in the txn log directory"),
    ("open_file_descriptor_count", "Open file descriptors"),
    ("max_file_descriptor_count", "Open file descriptor limit"),
    ("last_processed_zxid", "The last applied zxid"),
    ("warren_engine_level0_files", "SSTables in level 0"),
    ("warren_engine_live_sst_bytes", "Bytes of live SSTables"),
    (
        "warren_engine_live_disk_bytes",
        "Bytes of live SSTables plus the manifest",
    ),
    (
        "warren_engine_memtable_bytes",
        "Bytes in the active and frozen memtables",
    ),
    (
        "warren_engine_immutable_memtables",
        "Frozen memtables waiting for flush",
    ),
    (
        "warren_engine_block_cache_bytes",
        "Bytes the block cache holds",
    ),
    (
        "warren_engine_block_cache_capacity_bytes",
        "Block cache capacity",
    ),
    (
        "warren_engine_persisted_zxid",
        "Highest zxid contained in SSTables",
    ),
    // An ensemble member's (0 standalone): ZooKeeper's names from `mntr`, then Raft's.
    ("quorum_size", "Voters in the ensemble"),
    ("learners", "On the leader: members it replicates to"),
    (
        "synced_followers",
        "On the leader: followers that matched its log",
    ),
    (
        "pending_syncs",
        "On the leader: follower syncs being answered",
    ),
    (
        "leader_uptime",
        "On the leader: milliseconds since it became leader",
    ),
    (
        "warren_raft_term",
        "Current Raft term (the epoch of new zxids)",
    ),
    ("warren_raft_is_leader", "1 on the leader, else 0"),
    (
        "warren_raft_last_log_index",
        "Index of the last entry in this member's log",
    ),
    (
        "warren_raft_last_applied_index",
        "Index of the last entry applied here",
    ),
    (
        "warren_raft_leader_changes",
        "Leader changes this member saw since it started",
    ),
    (
        "warren_raft_snapshot_index",
        "Index of the last entry this member's current snapshot holds (0 without one)",
    ),
    (
        "warren_raft_purged_index",
        "Index of the last entry purged from this member's log (0 before the first purge)",
    ),
    (
        "warren_raft_snapshot_installs",
        "Snapshots of the leader this member installed since it started",
    ),
];

/// Float gauges.
const FLOAT_GAUGES: &[(&str, &str)] = &[
    (
        "avg_latency",
        "Average request latency in ms since start or srst",
    ),
    (
        "warren_engine_block_cache_hit_ratio",
        "Block cache hits / (hits + misses) since start",
    ),
    (
        "warren_engine_write_amplification",
        "Engine bytes written by flush and compaction / user bytes written",
    ),
    (
        "warren_engine_read_amplification",
        "Blocks read from disk per point read",
    ),
];

/// Counters, copied from the engine's and the log's own counters at scrape time.
const COUNTERS: &[(&str, &str)] = &[
    ("warren_wal_appends_total", "Txn log records appended"),
    (
        "warren_wal_appended_bytes_total",
        "Txn log payload bytes appended",
    ),
    (
        "warren_wal_writes_total",
        "Group writes issued by the txn log writer",
    ),
    (
        "warren_wal_fsyncs_total",
        "fdatasync calls on txn log segments",
    ),
    (
        "warren_wal_fsync_microseconds_total",
        "Time spent in txn log fdatasync calls, in microseconds",
    ),
    (
        "warren_engine_user_bytes_written_total",
        "Key and value bytes written to the engine",
    ),
    (
        "warren_engine_flush_bytes_written_total",
        "SSTable bytes written by memtable flushes",
    ),
    (
        "warren_engine_compaction_bytes_written_total",
        "SSTable bytes written by compactions",
    ),
    (
        "warren_engine_compaction_bytes_read_total",
        "SSTable bytes read by compactions",
    ),
    ("warren_engine_flushes_total", "Completed memtable flushes"),
    ("warren_engine_compactions_total", "Completed compactions"),
    (
        "warren_engine_write_stalls_total",
        "Writes that waited for flush or compaction",
    ),
    ("warren_engine_block_cache_hits_total", "Block cache hits"),
    (
        "warren_engine_block_cache_misses_total",
        "Block cache misses",
    ),
    (
        "warren_engine_blocks_read_total",
        "Blocks read from SSTable files",
    ),
    ("warren_engine_point_reads_total", "Point reads"),
];

impl Metrics {
    /// Registers every metric, including the histograms `stats` observes.
    ///
    /// # Errors
    /// [`MetricsError`] if a name is registered twice (a bug, caught by the tests).
    pub fn new(shared: &Shared) -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        registry.register(Box::new(shared.stats.op_latency.clone()))?;
        registry.register(Box::new(shared.stats.read_latency.histogram.clone()))?;
        registry.register(Box::new(shared.stats.update_latency.histogram.clone()))?;
        let mut gauges = Vec::new();
        for (name, help) in GAUGES {
            let g = IntGauge::new(*name, *help)?;
            registry.register(Box::new(g.clone()))?;
            gauges.push((*name, g));
        }
        let mut float_gauges = Vec::new();
        for (name, help) in FLOAT_GAUGES {
            let g = Gauge::new(*name, *help)?;
            registry.register(Box::new(g.clone()))?;
            float_gauges.push((*name, g));
        }
        let mut counters = Vec::new();
        for (name, help) in COUNTERS {
            let c = IntCounter::new(*name, *help)?;
            registry.register(Box::new(c.clone()))?;
            counters.push((*name, c));
        }
        let level_bytes = GaugeVec::new(
            Opts::new("warren_engine_level_bytes", "Bytes of SSTables per level"),
            &["level"],
        )?;
        let level_files = GaugeVec::new(
            Opts::new("warren_engine_level_files", "SSTables per level"),
            &["level"],
        )?;
        registry.register(Box::new(level_bytes.clone()))?;
        registry.register(Box::new(level_files.clone()))?;
        let follower_lag = GaugeVec::new(
            Opts::new(
                "warren_raft_follower_lag_entries",
                "On the leader: entries a follower's matched log is behind the leader's",
            ),
            &["follower"],
        )?;
        registry.register(Box::new(follower_lag.clone()))?;
        Ok(Metrics {
            registry,
            gauges,
            float_gauges,
            counters,
            level_bytes,
            level_files,
            follower_lag,
            scrape: Mutex::new(()),
        })
    }

    /// Reads the server's state into the metrics and returns the text exposition.
    pub fn render(&self, shared: &Shared) -> String {
        let _one_at_a_time = self.scrape.lock();
        let engine = shared.engine.stats();
        self.set_gauges(shared, &engine);
        self.set_float_gauges(shared, &engine);
        self.set_counters(&shared.log.wal_stats(), &engine);
        self.set_levels(&engine);
        self.set_follower_lag(shared);
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::warn!("encoding metrics: {e}");
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Integer gauges: the engine's figures, and the rest from `mntr` under ZooKeeper's
    /// names.
    fn set_gauges(&self, shared: &Shared, engine: &EngineStats) {
        let (dsize, lsize) = fourlw::dirs::sizes(shared);
        let monitor = fourlw::mntr::rows(shared);
        let from_monitor = |name: &str| -> i64 {
            monitor
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| match v {
                    fourlw::json::Json::Int(i) => Some(*i),
                    _ => None,
                })
                .unwrap_or(0)
        };
        let sat = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        for (name, g) in &self.gauges {
            let v = match *name {
                "data_dir_size" => sat(dsize),
                "log_dir_size" => sat(lsize),
                "last_processed_zxid" => shared.last_zxid(),
                "warren_engine_level0_files" => engine.levels.first().map_or(0, |l| sat(l.files)),
                "warren_engine_live_sst_bytes" => sat(engine.live_sst_bytes),
                "warren_engine_live_disk_bytes" => sat(engine.live_disk_bytes),
                "warren_engine_memtable_bytes" => sat(engine.memtable_bytes),
                "warren_engine_immutable_memtables" => sat(engine.immutable_memtables),
                "warren_engine_block_cache_bytes" => sat(engine.cache_charge),
                "warren_engine_block_cache_capacity_bytes" => sat(engine.cache_capacity),
                "warren_engine_persisted_zxid" => sat(engine.persisted_seq),
                raft if raft.starts_with("warren_raft_") => raft_gauge(shared, raft),
                other => from_monitor(other),
            };
            g.set(v);
        }
    }

    fn set_float_gauges(&self, shared: &Shared, engine: &EngineStats) {
        let latency = shared.stats.latency();
        let lookups = engine.cache_hits + engine.cache_misses;
        for (name, g) in &self.float_gauges {
            g.set(match *name {
                "avg_latency" => fourlw::avg_ms(&latency),
                "warren_engine_block_cache_hit_ratio" if lookups > 0 => {
                    engine.cache_hits as f64 / lookups as f64
                }
                "warren_engine_write_amplification" => engine.write_amplification(),
                "warren_engine_read_amplification" => engine.read_amplification(),
                _ => 0.0,
            });
        }
    }

    /// Counters mirror the log's and the engine's, which only grow.
    fn set_counters(&self, wal: &WalStats, engine: &EngineStats) {
        for (name, c) in &self.counters {
            let v = match *name {
                "warren_wal_appends_total" => wal.appends,
                "warren_wal_appended_bytes_total" => wal.appended_bytes,
                "warren_wal_writes_total" => wal.writes,
                "warren_wal_fsyncs_total" => wal.fsyncs,
                "warren_wal_fsync_microseconds_total" => wal.fsync_nanos / 1000,
                "warren_engine_user_bytes_written_total" => engine.user_bytes_written,
                "warren_engine_flush_bytes_written_total" => engine.flush_bytes_written,
                "warren_engine_compaction_bytes_written_total" => engine.compaction_bytes_written,
                "warren_engine_compaction_bytes_read_total" => engine.compaction_bytes_read,
                "warren_engine_flushes_total" => engine.flushes,
                "warren_engine_compactions_total" => engine.compactions,
                "warren_engine_write_stalls_total" => engine.write_stalls,
                "warren_engine_block_cache_hits_total" => engine.cache_hits,
                "warren_engine_block_cache_misses_total" => engine.cache_misses,
                "warren_engine_blocks_read_total" => engine.blocks_read,
                "warren_engine_point_reads_total" => engine.point_reads,
                _ => 0,
            };
            c.reset();
            c.inc_by(v);
        }
    }

    fn set_follower_lag(&self, shared: &Shared) {
        self.follower_lag.reset();
        if let Some(e) = &shared.ensemble {
            for (follower, lag) in e.member.follower_lag() {
                self.follower_lag
                    .with_label_values(&[&follower.to_string()])
                    .set(lag as f64);
            }
        }
    }

    fn set_levels(&self, engine: &EngineStats) {
        for (i, l) in engine.levels.iter().enumerate() {
            let level = i.to_string();
            self.level_bytes
                .with_label_values(&[&level])
                .set(l.bytes as f64);
            self.level_files
                .with_label_values(&[&level])
                .set(l.files as f64);
        }
    }
}

/// The `warren_raft_*` gauges of an ensemble member (0 standalone).
fn raft_gauge(shared: &Shared, name: &str) -> i64 {
    let Some(e) = &shared.ensemble else {
        return 0;
    };
    let sat = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let r = e.member.raft_figures();
    match name {
        "warren_raft_term" => sat(r.term),
        "warren_raft_is_leader" => i64::from(e.is_leader()),
        "warren_raft_last_log_index" => sat(r.last_log_index),
        "warren_raft_last_applied_index" => sat(r.last_applied_index),
        "warren_raft_leader_changes" => sat(e.leader_changes()),
        "warren_raft_snapshot_index" => sat(r.snapshot_index),
        "warren_raft_purged_index" => sat(r.purged_index),
        "warren_raft_snapshot_installs" => sat(e.snapshot_installs()),
        _ => 0,
    }
}

/// The route: `/metrics`.
pub fn router(shared: Arc<Shared>, metrics: Arc<Metrics>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let (shared, metrics) = (shared.clone(), metrics.clone());
            async move {
                match tokio::task::spawn_blocking(move || metrics.render(&shared)).await {
                    Ok(text) => (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        text,
                    )
                        .into_response(),
                    Err(e) => {
                        let r: Response =
                            (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
                        r
                    }
                }
            }
        }),
    )
}

/// Serves `/metrics` until the runtime stops when a metrics provider is configured;
/// a port that cannot be bound is logged and the client port keeps serving.
pub async fn serve(shared: Arc<Shared>) {
    let Some(addr) = shared.config.metrics_addr() else {
        return;
    };
    let metrics = match Metrics::new(&shared) {
        Ok(m) => Arc::new(m),
        Err(e) => {
            tracing::error!("metrics endpoint not started: {e}");
            return;
        }
    };
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(
                %addr,
                "metrics endpoint cannot listen ({e}); clients are still served. \
                 Set metricsProvider.httpPort to a free port"
            );
            return;
        }
    };
    tracing::info!(%addr, "metrics endpoint listening at /metrics");
    if let Err(e) = axum::serve(listener, router(shared, metrics)).await {
        tracing::error!("metrics endpoint stopped: {e}");
    }
}
