//! Sessions: ids, passwords, the live table, and expiry. Each piece of state has one
//! owner here:
//!
//! - [`ids`] hands out session ids in ZooKeeper's scheme, with the server id from `myid`;
//! - [`table`] is the live table: timeouts, deadlines, the connection that carries each
//!   session (its owner), and whether it is closing;
//! - [`expiry`] is the task that closes sessions whose clients went quiet.
//!
//! A session outlives its connections: a client that reconnects with its id and password
//! within the timeout resumes it on the new connection. Creating and closing a session
//! are txns (they go through the log like any write); the applier adds a session to the
//! table when its createSession commits and removes it when its closeSession does, and
//! start-up rebuilds the table from the engine's session key space, giving every
//! recovered session a fresh timeout as ZooKeeper does.

pub mod expiry;
pub mod ids;
pub mod table;

use warren_engine::{Engine, ReadSeq};
use warren_tree::{session_entry, TreeError, SESSIONS};

pub use table::Session;

use crate::net::{ConnId, Outbound};
use ids::SessionIds;
use table::Table;

/// Every live session, and how ids and passwords are made.
pub struct Sessions {
    table: Table,
    ids: SessionIds,
    secret: [u8; 16],
}

impl Sessions {
    /// Sessions of server `myid` (1 when standalone), whose passwords derive from
    /// `secret` (kept in the engine, so passwords survive restarts).
    pub fn new(secret: [u8; 16], myid: u8) -> Sessions {
        Sessions {
            table: Table::default(),
            ids: SessionIds::new(myid),
            secret,
        }
    }

    /// Rebuilds the table from the engine's session key space.
    ///
    /// # Errors
    /// Engine failures.
    pub fn recover(&self, engine: &Engine) -> Result<(), TreeError> {
        for kv in engine.scan_prefix(&[SESSIONS], ReadSeq::Latest)? {
            let (k, v) = kv?;
            if let Some((id, timeout)) = session_entry(&k, &v) {
                self.add(id, timeout.max(0) as u32);
            }
        }
        Ok(())
    }

    /// Replaces the table with the engine's sessions (after a snapshot was installed);
    /// their connections must have been closed.
    ///
    /// # Errors
    /// Engine failures.
    pub fn reload(&self, engine: &Engine) -> Result<(), TreeError> {
        self.table.clear();
        self.recover(engine)
    }

    /// A fresh session id.
    pub fn next_id(&self) -> i64 {
        self.ids.next()
    }

    /// The 16-byte password of a session.
    pub fn password(&self, id: i64) -> Vec<u8> {
        let mut input = self.secret.to_vec();
        input.extend_from_slice(&id.to_be_bytes());
        xxhash_rust::xxh3::xxh3_128(&input).to_be_bytes().to_vec()
    }

    /// Starts tracking a session (its createSession committed, or it was recovered).
    pub fn add(&self, id: i64, timeout_ms: u32) {
        self.table.add(id, timeout_ms);
        // Never hand out an id that a recovered session holds.
        self.ids.skip_past(id);
    }

    /// Stops tracking a session whose close has been applied.
    pub fn remove(&self, id: i64) -> Option<Session> {
        self.table.remove(id)
    }

    /// Whether the session exists and is not closing.
    pub fn is_live(&self, id: i64) -> bool {
        self.table.is_live(id)
    }

    /// Marks a session closing; false if it was gone or closing already.
    pub fn mark_closing(&self, id: i64) -> bool {
        self.table.mark_closing(id)
    }

    /// Takes back a `mark_closing` whose closeSession could not be logged.
    pub fn unmark_closing(&self, id: i64) {
        self.table.unmark_closing(id)
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
        self.table.attach(id, conn, out)
    }

    /// Detaches a connection from its session (the connection closed).
    pub fn detach(&self, id: i64, conn: ConnId) {
        self.table.detach(id, conn)
    }

    /// Renews a session's deadline: the client sent something.
    pub fn touch(&self, id: i64) {
        self.table.touch(id)
    }

    /// Sessions past their deadline, now marked closing, with their connections.
    pub fn take_expired(&self) -> Vec<(i64, Option<(ConnId, Outbound)>)> {
        self.table.take_expired()
    }

    /// Number of live sessions.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there are no sessions.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The sessions whose client is connected to this server and was heard from within
    /// its timeout (what a follower reports to the leader).
    pub fn kept_alive_here(&self) -> Vec<i64> {
        self.table.kept_alive_here()
    }

    /// Renews every deadline (this server just became the one that expires sessions).
    pub fn renew_all(&self) {
        self.table.renew_all()
    }

    /// Closes every client connection on this server; the sessions stay.
    pub fn close_connections(&self) {
        self.table.close_connections()
    }

    /// `(id, timeout)` of every session, for `dump` and `cons`.
    pub fn list(&self) -> Vec<(i64, u32)> {
        self.table.list()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_server_id_and_passwords_are_stable() {
        let s = Sessions::new([7; 16], 1);
        let a = s.next_id();
        assert_eq!(a >> 56, 1);
        assert_eq!(s.next_id(), a + 1);
        assert_eq!(s.password(a), s.password(a));
        assert_ne!(s.password(a), s.password(a + 1));
        assert_eq!(s.password(a).len(), 16);
        s.add(a + 100, 4000);
        assert!(s.next_id() > a + 100);
    }
}
