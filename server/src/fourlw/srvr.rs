//! `srvr`: the server's summary: version, latency, packets, connections, last zxid, mode
//! and node count. Latencies are in milliseconds with ZooKeeper's rounding.

use std::sync::atomic::Ordering;

use super::json::Json;
use super::{avg_ms, ms, VERSION};
use crate::state::Shared;

/// The lines after the version, shared with `stat`.
pub(crate) fn body(shared: &Shared) -> String {
    let l = shared.stats.latency();
    format!(
        "Latency min/avg/max: {}/{}/{}\nReceived: {}\nSent: {}\nConnections: {}\n\
         Outstanding: {}\nZxid: 0x{:x}\nMode: {}\nNode count: {}\n",
        ms(l.min_us),
        super::json::java_double(avg_ms(&l)),
        ms(l.max_us),
        shared.stats.received.load(Ordering::Relaxed),
        shared.stats.sent.load(Ordering::Relaxed),
        shared.stats.connection_count(),
        shared.stats.outstanding(),
        shared.last_zxid(),
        shared.mode(),
        shared.node_count(),
    )
}

/// The word's text.
pub fn text(shared: &Shared) -> String {
    format!("Zookeeper version: {VERSION}\n{}", body(shared))
}

/// Response sizes are not tracked, so ZooKeeper's "no data" value, -1, for each.
fn client_response() -> Json {
    let mut j = Json::obj();
    j.set("last_buffer_size", -1i64)
        .set("min_buffer_size", -1i64)
        .set("max_buffer_size", -1i64);
    j
}

/// The AdminServer's `server_stats`.
pub fn json(shared: &Shared) -> Json {
    let l = shared.stats.latency();
    let (dsize, lsize) = super::dirs::sizes(shared);
    let mut s = Json::obj();
    s.set("packets_sent", shared.stats.sent.load(Ordering::Relaxed))
        .set(
            "packets_received",
            shared.stats.received.load(Ordering::Relaxed),
        )
        // ZooKeeper counts fsyncs slower than fsync.warningthresholdms; the txn log does
        // not time its fsyncs, so none are known to have exceeded it.
        .set("fsync_threshold_exceed_count", 0i64)
        .set("client_response_stats", client_response())
        .set("data_dir_size", dsize)
        .set("log_dir_size", lsize)
        .set("provider_null", false)
        .set("server_state", shared.mode())
        .set("last_processed_zxid", shared.last_zxid())
        .set("outstanding_requests", shared.stats.outstanding())
        .set("avg_latency", avg_ms(&l))
        .set("max_latency", ms(l.max_us))
        .set("min_latency", ms(l.min_us))
        .set(
            "num_alive_client_connections",
            shared.stats.connection_count(),
        )
        .set("auth_failed_count", 0i64)
        .set("non_mtlsremote_conn_count", 0i64)
        .set("non_mtlslocal_conn_count", 0i64)
        .set("uptime", shared.started.elapsed().as_millis() as u64);
    let mut j = Json::obj();
    j.set("version", VERSION)
        .set("read_only", false)
        .set("server_stats", s)
        .set("client_response", client_response())
        .set("node_count", shared.node_count());
    j
}
