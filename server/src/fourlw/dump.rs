//! `dump`: sessions grouped by when they expire, the ephemeral nodes of each session, and
//! the connections grouped by when they expire, in ZooKeeper's layout.
//!
//! The session table does not expose its deadlines to this module, so the expiry shown
//! for a session (and its connection) is the deadline it gets at its next heartbeat:
//! now plus its timeout, rounded up to a tick as ZooKeeper rounds its expiry buckets.
//! A connection without a session uses ZooKeeper's 10 s sessionless-connection timeout.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::json::Json;
use super::{epoch_ms, hex, java_date};
use crate::state::Shared;
use warren_tree::View;

/// ZooKeeper's `zookeeper.nio.sessionlessCnxnTimeout` default.
const SESSIONLESS_TIMEOUT_MS: u32 = 10_000;

/// Now plus `timeout_ms`, rounded up to the next multiple of the tick, in epoch ms.
fn expiry(now_ms: i64, timeout_ms: u32, tick: u32) -> i64 {
    let t = now_ms + i64::from(timeout_ms);
    let tick = i64::from(tick.max(1));
    (t / tick + 1) * tick
}

/// Sessions by expiry bucket (ascending), each bucket's ids in order.
fn session_buckets(shared: &Shared) -> BTreeMap<i64, Vec<i64>> {
    let now = epoch_ms(SystemTime::now());
    let mut m: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (id, timeout) in shared.sessions.list() {
        m.entry(expiry(now, timeout, shared.config.tick_time))
            .or_default()
            .push(id);
    }
    m
}

/// Ephemeral paths by owning session, from the engine's ephemeral-owner index.
fn ephemerals(shared: &Shared) -> BTreeMap<i64, Vec<String>> {
    let mut m: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let view = View::new(&shared.engine, None);
    let Ok(rows) = view.scan_prefix(&[warren_tree::EPHEMERALS]) else {
        return m;
    };
    for (k, _) in rows {
        let (Some(id), Some(path)) = (k.get(1..9), k.get(9..)) else {
            continue;
        };
        let mut b = [0u8; 8];
        b.copy_from_slice(id);
        if let Ok(p) = String::from_utf8(path.to_vec()) {
            m.entry(i64::from_be_bytes(b)).or_default().push(p);
        }
    }
    m
}

/// Number of ephemeral nodes (`mntr`'s `zk_ephemerals_count`, and the metric): the
/// tree's counter, one read.
pub fn ephemerals_count(shared: &Shared) -> i64 {
    View::new(&shared.engine, None)
        .ephemeral_count()
        .unwrap_or_else(|e| {
            tracing::warn!("reading the ephemeral count: {e}");
            0
        })
}

fn date(ms: i64) -> String {
    java_date(SystemTime::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}

/// The word's text.
pub fn text(shared: &Shared) -> String {
    let sessions = session_buckets(shared);
    let mut s = format!(
        "SessionTracker dump:\nSession Sets ({})/({}):\n",
        sessions.len(),
        sessions.values().map(Vec::len).sum::<usize>()
    );
    for (at, ids) in &sessions {
        s.push_str(&format!("{} expire at {}:\n", ids.len(), date(*at)));
        for id in ids {
            s.push_str(&format!("\t{}\n", hex(*id)));
        }
    }
    let eph = ephemerals(shared);
    s.push_str(&format!(
        "ephemeral nodes dump:\nSessions with Ephemerals ({}):\n",
        eph.len()
    ));
    for (id, paths) in &eph {
        s.push_str(&format!("{}:\n", hex(*id)));
        for p in paths {
            s.push_str(&format!("\t{p}\n"));
        }
    }
    let now = epoch_ms(SystemTime::now());
    let mut conns: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let all = shared.stats.connections();
    for (_, c) in &all {
        let timeout = if c.session == 0 {
            SESSIONLESS_TIMEOUT_MS
        } else {
            c.timeout_ms
        };
        conns
            .entry(expiry(now, timeout, shared.config.tick_time))
            .or_default()
            .push(format!("\tip: /{} sessionId: {}\n", c.peer, hex(c.session)));
    }
    s.push_str(&format!(
        "Connections dump:\nConnections Sets ({})/({}):\n",
        conns.len(),
        all.len()
    ));
    for (at, lines) in &conns {
        s.push_str(&format!("{} expire at {}:\n", lines.len(), date(*at)));
        for l in lines {
            s.push_str(l);
        }
    }
    s
}

/// The AdminServer's `dump`.
pub fn json(shared: &Shared) -> Json {
    let expiry = session_buckets(shared)
        .into_iter()
        .map(|(at, ids)| (at.to_string(), Json::from(ids)))
        .collect();
    let eph = ephemerals(shared)
        .into_iter()
        .map(|(id, paths)| (id.to_string(), Json::from(paths)))
        .collect();
    let mut j = Json::obj();
    j.set("expiry_time_to_session_ids", Json::Obj(expiry))
        .set("session_id_to_ephemeral_paths", Json::Obj(eph));
    j
}
