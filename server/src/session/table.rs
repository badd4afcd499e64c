//! The live session table: for each session its timeout, its deadline, the connection
//! that carries it (its owner) and whether a close is on its way.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::net::{ConnId, Outbound};

/// One live session.
#[derive(Debug)]
pub struct Session {
    pub timeout_ms: u32,
    deadline: Instant,
    /// The connection that currently carries the session.
    pub conn: Option<(ConnId, Outbound)>,
    /// A closeSession txn is on its way; the session accepts no more requests.
    pub closing: bool,
}

/// Every live session, by id.
#[derive(Default)]
pub struct Table {
    inner: Mutex<HashMap<i64, Session>>,
}

impl Table {
    /// Starts tracking a session (created now, or recovered at start-up).
    pub fn add(&self, id: i64, timeout_ms: u32) {
        let mut g = self.inner.lock();
        g.insert(
            id,
            Session {
                timeout_ms,
                deadline: Instant::now() + Duration::from_millis(u64::from(timeout_ms)),
                conn: None,
                closing: false,
            },
        );
    }

    /// Stops tracking every session.
    pub fn clear(&self) {
        self.inner.lock().clear();
    }

    /// Stops tracking a session whose close has been applied.
    pub fn remove(&self, id: i64) -> Option<Session> {
        self.inner.lock().remove(&id)
    }

    /// Whether the session exists and is not closing.
    pub fn is_live(&self, id: i64) -> bool {
        self.inner.lock().get(&id).is_some_and(|s| !s.closing)
    }

    /// Marks a session closing; false if it was gone or closing already.
    pub fn mark_closing(&self, id: i64) -> bool {
        match self.inner.lock().get_mut(&id) {
            Some(s) if !s.closing => {
                s.closing = true;
                true
            }
            _ => false,
        }
    }

    /// Takes back a [`Table::mark_closing`] whose closeSession could not be logged (this
    /// server stopped leading): the session lives on, and a leader may expire it later.
    pub fn unmark_closing(&self, id: i64) {
        if let Some(s) = self.inner.lock().get_mut(&id) {
            s.closing = false;
        }
    }

    /// Moves a session onto a connection and renews its deadline. Returns the timeout,
    /// and the connection it was on before (which the caller closes), or `None` when the
    /// session does not exist.
    pub fn attach(
        &self,
        id: i64,
        conn: ConnId,
        out: Outbound,
    ) -> Option<(u32, Option<(ConnId, Outbound)>)> {
        let mut g = self.inner.lock();
        let s = g.get_mut(&id).filter(|s| !s.closing)?;
        s.deadline = Instant::now() + Duration::from_millis(u64::from(s.timeout_ms));
        let old = s.conn.replace((conn, out));
        Some((s.timeout_ms, old.filter(|(c, _)| *c != conn)))
    }

    /// Detaches a connection from its session (the connection closed).
    pub fn detach(&self, id: i64, conn: ConnId) {
        if let Some(s) = self.inner.lock().get_mut(&id) {
            if s.conn.as_ref().is_some_and(|(c, _)| *c == conn) {
                s.conn = None;
            }
        }
    }

    /// Renews a session's deadline: the client sent something.
    pub fn touch(&self, id: i64) {
        if let Some(s) = self.inner.lock().get_mut(&id) {
            s.deadline = Instant::now() + Duration::from_millis(u64::from(s.timeout_ms));
        }
    }

    /// Sessions past their deadline, now marked closing, with their connections.
    pub fn take_expired(&self) -> Vec<(i64, Option<(ConnId, Outbound)>)> {
        let now = Instant::now();
        let mut g = self.inner.lock();
        g.iter_mut()
            .filter(|(_, s)| !s.closing && s.deadline <= now)
            .map(|(id, s)| {
                s.closing = true;
                (*id, s.conn.take())
            })
            .collect()
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.inner.lock().len()
    }

    /// Whether there are no sessions.
    pub fn is_empty(&self) -> bool {
        self.inner.lock().is_empty()
    }

    /// The sessions whose client is connected to this server and was heard from within
    /// its timeout.
    pub fn kept_alive_here(&self) -> Vec<i64> {
        let now = Instant::now();
        let g = self.inner.lock();
        g.iter()
            .filter(|(_, s)| s.conn.is_some() && !s.closing && s.deadline > now)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Renews every deadline: a server that just became the one that expires sessions
    /// gives each a full timeout from now, as ZooKeeper's new leader does.
    pub fn renew_all(&self) {
        let now = Instant::now();
        for s in self.inner.lock().values_mut() {
            s.deadline = now + Duration::from_millis(u64::from(s.timeout_ms));
        }
    }

    /// Closes every client connection on this server (the sessions stay): its clients
    /// reconnect, to this server or another.
    pub fn close_connections(&self) {
        for s in self.inner.lock().values_mut() {
            if let Some((_, out)) = s.conn.take() {
                out.close();
            }
        }
    }

    /// `(id, timeout)` of every session, for `dump` and `cons`.
    pub fn list(&self) -> Vec<(i64, u32)> {
        let mut v: Vec<(i64, u32)> = self
            .inner
            .lock()
            .iter()
            .map(|(id, s)| (*id, s.timeout_ms))
            .collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_marks_sessions_closing() {
        let s = Table::default();
        s.add(5, 0);
        std::thread::sleep(Duration::from_millis(2));
        let exp = s.take_expired();
        assert_eq!(exp.len(), 1);
        assert!(!s.is_live(5));
        assert!(s.take_expired().is_empty());
    }
}
