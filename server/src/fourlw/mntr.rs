//! `mntr`: `zk_<key>\t<value>` lines, with every key ZooKeeper 3.8 prints in standalone
//! mode, in its order (the order of its metrics registry). Scripts and monitoring agents
//! look keys up by name, and some expect the full set, so the keys ZooKeeper always
//! prints are always here.
//!
//! Values are Warren's own where it has the figure. Keys that describe parts ZooKeeper
//! has and Warren does not (quorum, JVM, netty, processor queues, response caches,
//! local sessions, TLS handshakes) print 0, which is also what a standalone ZooKeeper
//! prints for most of them. Keys whose figure exists in ZooKeeper but is not measured by
//! Warren say so where they are filled in below.

use std::sync::atomic::Ordering;

use super::json::{java_double, Json};
use super::{avg_ms, ms, VERSION};
use crate::state::Shared;
use crate::stats::{Latency, Summary};

/// How a key expands.
#[derive(Clone, Copy)]
enum Kind {
    /// One key.
    Plain,
    /// `avg_`, `min_`, `max_`, `cnt_` and `sum_` of the name.
    Summary,
    /// A summary plus `p50_`, `p95_`, `p99_` and `p999_`.
    Percentiles,
}
use Kind::*;

/// ZooKeeper 3.8's keys, without the `zk_` prefix, in the order it prints them.
const KEYS: &[(Kind, &str)] = &[
    (Plain, "version"),
    (Plain, "server_state"),
    (Plain, "ephemerals_count"),
    (Plain, "num_alive_connections"),
    (Plain, "avg_latency"),
    (Plain, "outstanding_requests"),
    (Plain, "znode_count"),
    (Plain, "global_sessions"),
    (Plain, "non_mtls_remote_conn_count"),
    (Plain, "last_client_response_size"),
    (Plain, "packets_sent"),
    (Plain, "packets_received"),
    (Plain, "max_client_response_size"),
    (Plain, "connection_drop_probability"),
    (Plain, "watch_count"),
    (Plain, "auth_failed_count"),
    (Plain, "min_latency"),
    (Plain, "max_file_descriptor_count"),
    (Plain, "approximate_data_size"),
    (Plain, "open_file_descriptor_count"),
    (Plain, "local_sessions"),
    (Plain, "uptime"),
    (Plain, "max_latency"),
    (Plain, "outstanding_tls_handshake"),
    (Plain, "min_client_response_size"),
    (Plain, "non_mtls_local_conn_count"),
    (Plain, "proposal_count"),
    (Plain, "watch_bytes"),
    (Plain, "outstanding_changes_removed"),
    (Plain, "throttled_ops"),
    (Plain, "stale_requests_dropped"),
    (Plain, "large_requests_rejected"),
    (Plain, "insecure_admin_count"),
    (Plain, "connection_rejected"),
    (Plain, "cnxn_closed_without_zk_server_running"),
    (Plain, "sessionless_connections_expired"),
    (Plain, "looking_count"),
    (Plain, "dead_watchers_queued"),
    (Plain, "stale_requests"),
    (Plain, "connection_drop_count"),
    (Plain, "learner_proposal_received_count"),
    (Plain, "digest_mismatches_count"),
    (Plain, "dead_watchers_cleared"),
    (Plain, "response_packet_cache_hits"),
    (Plain, "bytes_received_count"),
    (Plain, "add_dead_watcher_stall_time"),
    (Plain, "request_throttle_wait_count"),
    (Plain, "requests_not_forwarded_to_commit_processor"),
    (Plain, "response_packet_cache_misses"),
    (Plain, "ensemble_auth_success"),
    (Plain, "prep_processor_request_queued"),
    (Plain, "learner_commit_received_count"),
    (Plain, "stale_replies"),
    (Plain, "connection_request_count"),
    (Plain, "response_bytes"),
    (Plain, "ensemble_auth_fail"),
    (Plain, "diff_count"),
    (Plain, "response_packet_get_children_cache_misses"),
    (Plain, "connection_revalidate_count"),
    (Plain, "quit_leading_due_to_disloyal_voter"),
    (Plain, "snap_count"),
    (Plain, "unrecoverable_error_count"),
    (Plain, "unsuccessful_handshake"),
    (Plain, "commit_count"),
    (Plain, "stale_sessions_expired"),
    (Plain, "response_packet_get_children_cache_hits"),
    (Plain, "sync_processor_request_queued"),
    (Plain, "outstanding_changes_queued"),
    (Plain, "request_commit_queued"),
    (Plain, "ensemble_auth_skip"),
    (Plain, "skip_learner_request_to_next_processor_count"),
    (Plain, "tls_handshake_exceeded"),
    (Plain, "revalidate_count"),
    (Summary, "socket_closing_time"),
    (Summary, "proposal_process_time"),
    (Summary, "leader_unavailable_time"),
    (Summary, "node_created_watch_count"),
    (Summary, "session_queues_drained"),
    (Summary, "write_commit_proc_req_queued"),
    (Summary, "connection_token_deficit"),
    (Summary, "read_commit_proc_req_queued"),
    (Summary, "node_deleted_watch_count"),
    (Summary, "startup_txns_load_time"),
    (Summary, "sync_processor_queue_size"),
    (Summary, "follower_sync_time"),
    (Summary, "prep_processor_queue_size"),
    (Summary, "fsynctime"),
    (Summary, "inflight_snap_count"),
    (Summary, "reads_issued_from_session_queue"),
    (Summary, "learner_request_processor_queue_size"),
    (Summary, "snapshottime"),
    (Summary, "unavailable_time"),
    (Summary, "startup_txns_loaded"),
    (Summary, "reads_after_write_in_session_queue"),
    (Summary, "requests_in_session_queue"),
    (Summary, "write_commit_proc_issued"),
    (Summary, "prep_process_time"),
    (Summary, "pending_session_queue_size"),
    (
        Summary,
        "time_waiting_empty_pool_in_commit_processor_read_ms",
    ),
    (Summary, "commit_process_time"),
    (Summary, "dbinittime"),
    (Summary, "inflight_diff_count"),
    (Summary, "netty_queued_buffer_capacity"),
    (Summary, "election_time"),
    (Summary, "commit_commit_proc_req_queued"),
    (Summary, "sync_processor_batch_size"),
    (Summary, "node_children_watch_count"),
    (Summary, "write_batch_time_in_commit_processor"),
    (Summary, "read_commit_proc_issued"),
    (Summary, "concurrent_request_processing_in_commit_processor"),
    (Summary, "observer_sync_time"),
    (Summary, "node_changed_watch_count"),
    (Summary, "sync_process_time"),
    (Summary, "startup_snap_load_time"),
    (Percentiles, "prep_processor_queue_time_ms"),
    (Percentiles, "jvm_pause_time_ms"),
    (Percentiles, "close_session_prep_time"),
    (Percentiles, "read_commitproc_time_ms"),
    (Percentiles, "updatelatency"),
    (Percentiles, "local_write_committed_time_ms"),
    (Percentiles, "request_throttle_queue_time_ms"),
    (Percentiles, "readlatency"),
    (Percentiles, "quorum_ack_latency"),
    (Percentiles, "om_commit_process_time_ms"),
    (Percentiles, "read_final_proc_time_ms"),
    (Percentiles, "commit_propagation_latency"),
    (Percentiles, "dead_watchers_cleaner_latency"),
    (Percentiles, "write_final_proc_time_ms"),
    (Percentiles, "proposal_ack_creation_latency"),
    (Percentiles, "proposal_latency"),
    (Percentiles, "om_proposal_process_time_ms"),
    (Percentiles, "sync_processor_queue_and_flush_time_ms"),
    (Percentiles, "propagation_latency"),
    (Percentiles, "server_write_committed_time_ms"),
    (Percentiles, "sync_processor_queue_time_ms"),
    (Percentiles, "sync_processor_queue_flush_time_ms"),
    (Percentiles, "write_commitproc_time_ms"),
    (Summary, "app_read_per_namespace"),
    (Summary, "app_write_per_namespace"),
];

/// A figure for a summary key: min/max/sum/count (ms) and, for percentile sets, buckets.
enum Figure<'a> {
    /// Nothing measured: every field 0.
    None,
    /// A count only; the other fields are not measured.
    Count(u64),
    /// A full summary.
    Summary(&'a Summary),
}

fn figure<'a>(shared: &'a Shared, name: &str) -> Figure<'a> {
    match name {
        "readlatency" => Figure::Summary(&shared.stats.read_latency),
        "updatelatency" => Figure::Summary(&shared.stats.update_latency),
        // The txn log counts its fsyncs but does not time them, so only cnt is known.
        "fsynctime" => Figure::Count(shared.log.wal_stats().fsyncs),
        _ => Figure::None,
    }
}

/// Number of open file descriptors, from /proc/self/fd.
fn open_fds() -> i64 {
    std::fs::read_dir("/proc/self/fd").map_or(-1, |d| d.count() as i64)
}

/// The soft limit on open files, from /proc/self/limits.
fn max_fds() -> i64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        })
        .unwrap_or(-1)
}

/// Every row, typed: the text form prints them, the AdminServer's `monitor` serializes
/// them under the same names without the prefix.
pub fn rows(shared: &Shared) -> Vec<(String, Json)> {
    let l = shared.stats.latency();
    let engine = shared.engine.stats();
    let mut out = Vec::with_capacity(512);
    for (kind, name) in KEYS {
        match kind {
            Plain => {
                let v: Json = match *name {
                    "version" => VERSION.into(),
                    "server_state" => shared.mode().into(),
                    "ephemerals_count" => super::dump::ephemerals_count(shared).into(),
                    "num_alive_connections" => shared.stats.connection_count().into(),
                    "avg_latency" => avg_ms(&l).into(),
                    "min_latency" => ms(l.min_us).into(),
                    "max_latency" => ms(l.max_us).into(),
                    "outstanding_requests" => shared.stats.outstanding().into(),
                    "znode_count" => shared.node_count().into(),
                    "global_sessions" => shared.sessions.len().into(),
                    "packets_sent" => shared.stats.sent.load(Ordering::Relaxed).into(),
                    "packets_received" => shared.stats.received.load(Ordering::Relaxed).into(),
                    "watch_count" => super::wchs::watch_count(shared).into(),
                    "uptime" => (shared.started.elapsed().as_millis() as u64).into(),
                    "open_file_descriptor_count" => open_fds().into(),
                    "max_file_descriptor_count" => max_fds().into(),
                    // ZooKeeper sums path and data lengths; Warren's equivalent is what
                    // the engine holds for the tree: live SSTables plus memtables.
                    "approximate_data_size" => {
                        (engine.live_sst_bytes + engine.memtable_bytes).into()
                    }
                    // Response sizes are not measured; -1 is ZooKeeper's "no data".
                    "last_client_response_size"
                    | "min_client_response_size"
                    | "max_client_response_size" => (-1i64).into(),
                    "connection_drop_probability" => 0.0.into(),
                    _ => 0i64.into(),
                };
                out.push((name.to_string(), v));
                if *name == "server_state" {
                    if let Some(e) = &shared.ensemble {
                        out.push(("peer_state".into(), e.peer_state().into()));
                    }
                }
            }
            Summary | Percentiles => {
                let (lat, buckets) = match figure(shared, name) {
                    Figure::None => (Latency::default(), None),
                    Figure::Count(n) => (
                        Latency {
                            count: n,
                            ..Latency::default()
                        },
                        None,
                    ),
                    Figure::Summary(s) => (s.get(), Some(s)),
                };
                // The summaries hold milliseconds already.
                let avg = (lat.avg_us() * 10_000.0).round() / 10_000.0;
                out.push((format!("avg_{name}"), avg.into()));
                out.push((format!("min_{name}"), lat.min_us.into()));
                out.push((format!("max_{name}"), lat.max_us.into()));
                out.push((format!("cnt_{name}"), lat.count.into()));
                out.push((format!("sum_{name}"), lat.sum_us.into()));
                if matches!(kind, Percentiles) {
                    for (p, q) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)] {
                        let v = buckets.map_or(0, |s| s.quantile(q));
                        out.push((format!("{p}_{name}"), v.into()));
                    }
                }
            }
        }
    }
    if let Some(e) = &shared.ensemble {
        out.extend(e.monitor_rows());
    }
    out
}

/// The word's text.
pub fn text(shared: &Shared) -> String {
    let mut s = String::with_capacity(16 * 1024);
    for (k, v) in rows(shared) {
        s.push_str("zk_");
        s.push_str(&k);
        s.push('\t');
        match v {
            Json::Str(x) => s.push_str(&x),
            Json::Float(f) => s.push_str(&java_double(f)),
            Json::Int(i) => s.push_str(&i.to_string()),
            other => s.push_str(&other.pretty()),
        }
        s.push('\n');
    }
    s
}

/// The AdminServer's `monitor`.
pub fn json(shared: &Shared) -> Json {
    Json::Obj(rows(shared))
}
