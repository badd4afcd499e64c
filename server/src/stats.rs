//! Server and per-connection statistics, read by the four-letter words, the AdminServer
//! and the metrics endpoint. Counting is cheap (atomics and one short lock per reply).
//!
//! Besides ZooKeeper's figures (packets, min/avg/max latency, per-connection counters)
//! it keeps ZooKeeper's `readlatency` / `updatelatency` summaries, with coarse buckets so
//! `mntr` can print their percentiles, and a Prometheus histogram per opcode for the
//! metrics endpoint; both are filled by the one [`Stats::reply_sent`] call per reply.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use parking_lot::Mutex;
use prometheus::{Histogram, HistogramOpts, HistogramVec};

use crate::net::ConnId;

/// Request latency: min, max and sum over a count, in microseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub min_us: u64,
    pub max_us: u64,
    pub sum_us: u64,
    pub count: u64,
}

impl Latency {
    fn record(&mut self, us: u64) {
        if self.count == 0 || us < self.min_us {
            self.min_us = us;
        }
        self.max_us = self.max_us.max(us);
        self.sum_us += us;
        self.count += 1;
    }

    /// The average in microseconds (0 with no samples).
    pub fn avg_us(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_us as f64 / self.count as f64
        }
    }
}

/// One client connection, as `cons` lists it.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    /// 0 until the handshake is done.
    pub session: i64,
    pub timeout_ms: u32,
    pub opened: SystemTime,
    pub received: u64,
    pub sent: u64,
    /// Requests received whose replies are not sent yet.
    pub outstanding: u64,
    pub last_op: &'static str,
    pub last_cxid: i32,
    pub last_zxid: i64,
    pub last_response: Option<SystemTime>,
    pub latency: Latency,
    /// Latency of the last reply, in microseconds (`cons` prints it as `llat`).
    pub last_latency_us: u64,
}

/// Upper bounds, in milliseconds, of the buckets behind [`Summary`] percentiles. Coarse on
/// purpose: ZooKeeper's own percentiles come from a sampling reservoir, so operators read
/// them as orders of magnitude, and a fixed array keeps recording lock-free.
const SUMMARY_BOUNDS_MS: [u64; 16] = [
    0,
    1,
    2,
    3,
    5,
    8,
    13,
    20,
    35,
    50,
    100,
    200,
    500,
    1000,
    5000,
    u64::MAX,
];

/// A ZooKeeper "summary set" metric (`readlatency`, `updatelatency`): min, max, sum and
/// count in milliseconds, plus bucket counts for percentiles. Not reset by `srst`, like
/// ZooKeeper's ServerMetrics. The same samples feed a Prometheus histogram of the same
/// name (ZooKeeper's Prometheus provider exports these as `readlatency_sum`/`_count`).
pub struct Summary {
    lat: Mutex<Latency>,
    buckets: [AtomicU64; SUMMARY_BOUNDS_MS.len()],
    /// The Prometheus view, in milliseconds like ZooKeeper's.
    pub histogram: Histogram,
}

impl Summary {
    fn new(name: &str, help: &str) -> Summary {
        let opts = HistogramOpts::new(name, help).buckets(vec![
            1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0,
        ]);
        Summary {
            lat: Mutex::default(),
            buckets: Default::default(),
            // Constant, valid name and buckets.
            histogram: Histogram::with_opts(opts).expect("valid histogram options"),
        }
    }

    /// Records one request that took `us` microseconds: whole milliseconds in the
    /// summary (ZooKeeper's unit), fractional ones in the histogram.
    fn record_us(&self, us: u64) {
        self.histogram.observe(us as f64 / 1000.0);
        let ms = us / 1000;
        self.lat.lock().record(ms);
        let i = SUMMARY_BOUNDS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(SUMMARY_BOUNDS_MS.len() - 1);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Min, max, sum and count, in milliseconds.
    pub fn get(&self) -> Latency {
        *self.lat.lock()
    }

    /// The `q` quantile (0..1) in milliseconds: the upper bound of the bucket holding it,
    /// capped by the largest value seen; 0 with no samples.
    pub fn quantile(&self, q: f64) -> u64 {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        let max = self.get().max_us;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return SUMMARY_BOUNDS_MS[i].min(max);
            }
        }
        max
    }
}

/// Counters for the whole server.
pub struct Stats {
    pub received: AtomicU64,
    pub sent: AtomicU64,
    pub txns: AtomicU64,
    latency: Mutex<Latency>,
    conns: Mutex<HashMap<ConnId, ConnInfo>>,
    /// ZooKeeper's `readlatency`: requests without a txn, in ms.
    pub read_latency: Summary,
    /// ZooKeeper's `updatelatency`: requests that wrote a txn, in ms.
    pub update_latency: Summary,
    /// `warren_request_latency_seconds{op}`: one histogram per opcode name, registered by
    /// the metrics endpoint. Resolved per opcode once here so a reply does no label lookup.
    pub op_latency: HistogramVec,
    op_hist: Vec<(i32, Histogram)>,
}

impl Default for Stats {
    fn default() -> Stats {
        let op_latency = HistogramVec::new(
            HistogramOpts::new(
                "warren_request_latency_seconds",
                "Time from receiving a request to sending its reply, by operation",
            )
            .buckets(prometheus::exponential_buckets(0.000_05, 2.5, 14).unwrap_or_default()),
            &["op"],
        )
        // The name, help and label are constants that are valid.
        .expect("valid histogram options");
        let op_hist = OPS
            .iter()
            .map(|(op, name)| (*op, op_latency.with_label_values(&[name])))
            .collect();
        Stats {
            received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            txns: AtomicU64::new(0),
            latency: Mutex::default(),
            conns: Mutex::default(),
            read_latency: Summary::new(
                "readlatency",
                "Read request latency in milliseconds (requests without a txn)",
            ),
            update_latency: Summary::new(
                "updatelatency",
                "Update request latency in milliseconds (requests that wrote a txn)",
            ),
            op_latency,
            op_hist,
        }
    }
}

/// Opcodes with their ZooKeeper names (`OpCode` constants), for the per-op histograms.
const OPS: &[(i32, &str)] = {
    use warren_proto::consts::op;
    &[
        (op::CREATE, "create"),
        (op::DELETE, "delete"),
        (op::EXISTS, "exists"),
        (op::GET_DATA, "getData"),
        (op::SET_DATA, "setData"),
        (op::GET_ACL, "getACL"),
        (op::SET_ACL, "setACL"),
        (op::GET_CHILDREN, "getChildren"),
        (op::SYNC, "sync"),
        (op::PING, "ping"),
        (op::GET_CHILDREN2, "getChildren2"),
        (op::CHECK, "check"),
        (op::MULTI, "multi"),
        (op::CREATE2, "create2"),
        (op::RECONFIG, "reconfig"),
        (op::CHECK_WATCHES, "checkWatches"),
        (op::REMOVE_WATCHES, "removeWatches"),
        (op::CREATE_CONTAINER, "createContainer"),
        (op::DELETE_CONTAINER, "deleteContainer"),
        (op::CREATE_TTL, "createTTL"),
        (op::MULTI_READ, "multiRead"),
        (op::AUTH, "auth"),
        (op::SET_WATCHES, "setWatches"),
        (op::SASL, "sasl"),
        (op::GET_EPHEMERALS, "getEphemerals"),
        (op::GET_ALL_CHILDREN_NUMBER, "getAllChildrenNumber"),
        (op::SET_WATCHES2, "setWatches2"),
        (op::ADD_WATCH, "addWatch"),
        (op::WHO_AM_I, "whoAmI"),
        (op::CREATE_SESSION, "createSession"),
        (op::CLOSE_SESSION, "closeSession"),
    ]
};

/// Whether a request's reply counts as ZooKeeper's `updatelatency` (the request wrote a
/// txn) rather than `readlatency`.
fn is_update(op: i32) -> bool {
    use warren_proto::consts::op;
    op::is_write(op) || matches!(op, op::RECONFIG | op::CREATE_SESSION)
}

/// A short name per opcode, as ZooKeeper's `cons` prints `lop`.
fn op_short(op: i32) -> &'static str {
    use warren_proto::consts::op;
    match op {
        op::CREATE | op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => "CREA",
        op::DELETE => "DELE",
        op::EXISTS => "EXIS",
        op::GET_DATA => "GETD",
        op::SET_DATA => "SETD",
        op::GET_ACL => "GACL",
        op::SET_ACL => "SACL",
        op::GET_CHILDREN => "GETC",
        op::GET_CHILDREN2 => "GETC",
        op::SYNC => "SYNC",
        op::PING => "PING",
        op::MULTI => "MULT",
        op::MULTI_READ => "MLTR",
        op::CHECK => "CHEC",
        op::SET_WATCHES | op::SET_WATCHES2 => "SETW",
        op::CLOSE_SESSION => "CLOS",
        op::AUTH => "AUTH",
        op::ADD_WATCH => "ADDW",
        op::WHO_AM_I => "HOMI",
        _ => "NA",
    }
}

impl Stats {
    /// A connection was accepted.
    pub fn connection_opened(&self, conn: ConnId, peer: SocketAddr) {
        self.conns.lock().insert(
            conn,
            ConnInfo {
                peer,
                session: 0,
                timeout_ms: 0,
                opened: SystemTime::now(),
                received: 0,
                sent: 0,
                outstanding: 0,
                last_op: "NA",
                last_cxid: -1,
                last_zxid: -1,
                last_response: None,
                latency: Latency::default(),
                last_latency_us: 0,
            },
        );
    }

    /// A connection's session is established.
    pub fn connection_session(&self, conn: ConnId, session: i64, timeout_ms: u32) {
        if let Some(c) = self.conns.lock().get_mut(&conn) {
            c.session = session;
            c.timeout_ms = timeout_ms;
        }
    }

    /// A connection closed.
    pub fn connection_closed(&self, conn: ConnId) {
        self.conns.lock().remove(&conn);
    }

    /// A request arrived on a connection.
    pub fn request_received(&self, conn: ConnId) {
        self.received.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = self.conns.lock().get_mut(&conn) {
            c.received += 1;
            c.outstanding += 1;
        }
    }

    /// A reply left for the request with opcode `op` that arrived at `started`.
    pub fn reply_sent(&self, conn: ConnId, op: i32, cxid: i32, zxid: i64, started: Instant) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let elapsed = started.elapsed();
        let us = elapsed.as_micros() as u64;
        self.latency.lock().record(us);
        if is_update(op) {
            self.update_latency.record_us(us);
        } else {
            self.read_latency.record_us(us);
        }
        if let Some((_, h)) = self.op_hist.iter().find(|(o, _)| *o == op) {
            h.observe(elapsed.as_secs_f64());
        }
        if let Some(c) = self.conns.lock().get_mut(&conn) {
            c.sent += 1;
            c.outstanding = c.outstanding.saturating_sub(1);
            c.last_op = op_short(op);
            // Pings and notifications carry negative xids; ZooKeeper keeps the last real one.
            if cxid >= 0 {
                c.last_cxid = cxid;
            }
            c.last_zxid = zxid;
            c.last_response = Some(SystemTime::now());
            c.latency.record(us);
            c.last_latency_us = us;
        }
    }

    /// Server-wide latency since the last reset.
    pub fn latency(&self) -> Latency {
        *self.latency.lock()
    }

    /// Every open connection.
    pub fn connections(&self) -> Vec<(ConnId, ConnInfo)> {
        let mut v: Vec<(ConnId, ConnInfo)> = self
            .conns
            .lock()
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }

    /// Number of open client connections.
    pub fn connection_count(&self) -> usize {
        self.conns.lock().len()
    }

    /// Requests received but not answered yet, over all connections.
    pub fn outstanding(&self) -> u64 {
        self.conns.lock().values().map(|c| c.outstanding).sum()
    }

    /// The session a connection carries (0 if none).
    pub fn session_of(&self, conn: ConnId) -> i64 {
        self.conns.lock().get(&conn).map_or(0, |c| c.session)
    }

    /// `srst`: resets the server counters and latency.
    pub fn reset(&self) {
        self.received.store(0, Ordering::Relaxed);
        self.sent.store(0, Ordering::Relaxed);
        *self.latency.lock() = Latency::default();
    }

    /// `crst`: resets every connection's counters.
    pub fn reset_connections(&self) {
        for c in self.conns.lock().values_mut() {
            c.received = 0;
            c.sent = 0;
            c.latency = Latency::default();
            c.last_op = "NA";
            c.last_cxid = -1;
            c.last_zxid = -1;
            c.last_response = None;
            c.last_latency_us = 0;
        }
    }
}
