//! Server and per-connection statistics, read by the four-letter words, the AdminServer
//! and the metrics endpoint. Counting is cheap (atomics and one short lock per reply).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use parking_lot::Mutex;

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
}

/// Counters for the whole server.
#[derive(Default)]
pub struct Stats {
    pub received: AtomicU64,
    pub sent: AtomicU64,
    pub txns: AtomicU64,
    latency: Mutex<Latency>,
    conns: Mutex<HashMap<ConnId, ConnInfo>>,
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
        let us = started.elapsed().as_micros() as u64;
        self.latency.lock().record(us);
        if let Some(c) = self.conns.lock().get_mut(&conn) {
            c.sent += 1;
            c.outstanding = c.outstanding.saturating_sub(1);
            c.last_op = op_short(op);
            c.last_cxid = cxid;
            c.last_zxid = zxid;
            c.last_response = Some(SystemTime::now());
            c.latency.record(us);
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
        }
    }
}
