//! `cons`: every client connection with its counters. A connection that has a session
//! gets ZooKeeper's long form (session, last op, latencies); one still in its handshake
//! gets the short form. Latencies are in milliseconds, as ZooKeeper's.

use super::json::Json;
use super::{epoch_ms, ms};
use crate::state::Shared;
use crate::stats::ConnInfo;

/// ` /ip:port[1](queued=…,recved=…,sent=…` — the part `stat` prints too. The `[1]` is
/// ZooKeeper's interest set (read), which every idle Warren connection has.
pub(crate) fn brief(c: &ConnInfo) -> String {
    format!(
        " /{}[1](queued={},recved={},sent={}",
        c.peer, c.outstanding, c.received, c.sent
    )
}

fn last_response_ms(c: &ConnInfo) -> i64 {
    c.last_response.map_or(0, epoch_ms)
}

/// One connection's line, long form when it has a session.
pub(crate) fn line(c: &ConnInfo) -> String {
    let mut s = brief(c);
    if c.session != 0 {
        s.push_str(&format!(
            ",sid=0x{:x},lop={},est={},to={},lcxid=0x{:x},lzxid=0x{:x},lresp={},llat={},\
             minlat={},avglat={},maxlat={}",
            c.session,
            c.last_op,
            epoch_ms(c.opened),
            c.timeout_ms,
            i64::from(c.last_cxid),
            c.last_zxid,
            last_response_ms(c),
            ms(c.last_latency_us),
            ms(c.latency.min_us),
            ms(c.latency.avg_us() as u64),
            ms(c.latency.max_us),
        ));
    }
    s.push_str(")\n");
    s
}

/// The word's text: one line per connection, then an empty line.
pub fn text(shared: &Shared) -> String {
    let mut s: String = shared
        .stats
        .connections()
        .iter()
        .map(|(_, c)| line(c))
        .collect();
    s.push('\n');
    s
}

/// The short JSON form `stats` lists.
pub(crate) fn brief_json(c: &ConnInfo) -> Json {
    let mut j = Json::obj();
    j.set("remote_socket_address", c.peer.to_string())
        .set("interest_ops", 1i64)
        .set("outstanding_requests", c.outstanding)
        .set("packets_received", c.received)
        .set("packets_sent", c.sent);
    j
}

/// One connection as the AdminServer's `connections` lists it.
pub(crate) fn full_json(c: &ConnInfo) -> Json {
    let mut j = brief_json(c);
    if c.session != 0 {
        j.set("session_id", c.session)
            .set("last_operation", c.last_op)
            .set("established", epoch_ms(c.opened))
            .set("session_timeout", c.timeout_ms)
            .set("last_cxid", c.last_cxid)
            .set("last_zxid", c.last_zxid)
            .set("last_response_time", last_response_ms(c))
            .set("last_latency", ms(c.last_latency_us))
            .set("min_latency", ms(c.latency.min_us))
            .set("avg_latency", ms(c.latency.avg_us() as u64))
            .set("max_latency", ms(c.latency.max_us));
    }
    j
}

/// The AdminServer's `connections`. TLS connections are listed with the others: Warren
/// does not tell them apart in its statistics, so `secure_connections` stays empty.
pub fn json(shared: &Shared) -> Json {
    let conns: Vec<Json> = shared
        .stats
        .connections()
        .iter()
        .map(|(_, c)| full_json(c))
        .collect();
    let mut j = Json::obj();
    j.set("connections", Json::Arr(conns))
        .set("secure_connections", Json::Arr(Vec::new()));
    j
}
