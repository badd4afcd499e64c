//! One-shot watches, held in memory per connection, as ZooKeeper holds them.
//!
//! `getData` and `exists` leave data watches (exists on a missing node waits for its
//! creation), `getChildren` leaves child watches. A change fires and removes the matching
//! watches: a create fires data watches on the node and child watches on its parent, a
//! delete fires both kinds on the node (one event per connection) and child watches on
//! the parent, a setData fires data watches.
//!
//! Persistent watches (`addWatch`, ZooKeeper 3.6+) stay until removed. A persistent
//! watch on a path sees the same events as a data watch plus a child watch there; a
//! persistent-recursive one sees created, deleted and data-changed events on the path and
//! every node below it, but no children-changed events. A connection gets one event per
//! change however many of its watches match.
//!
//! Events are queued on the connection's outbound channel at the moment the change is
//! applied, before the change is visible to readers, so a client always receives the
//! event before any reply that reflects the change.
//!
//! An event is delivered only to a connection whose identities, at delivery, hold READ
//! in the ACL of the node it names (for children-changed, the parent's), as ZooKeeper
//! 3.8.4/3.9.2 check every watch event since CVE-2024-23944: a persistent-recursive
//! watch on `/` must not reveal the paths of nodes its owner may not read. A one-shot
//! watch whose event is withheld is spent all the same, as in ZooKeeper. The ACL is
//! looked up once per change, only when some connection watches it, and cached by id
//! (an id names the list's content, so a cached entry never goes stale).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;
use warren_proto::consts::{event, perms, state, xid};
use warren_proto::{Acl, Jute, ReplyHeader, WatcherEvent};

use crate::acl::Identities;
use crate::net::{ConnId, Outbound};
use warren_tree::Change;

/// How many ACL lists [`Watches::fire`] keeps looked up (cleared when full): a handful
/// of ACLs serve most trees, and the bound keeps memory independent of the data.
const ACL_CACHE_ENTRIES: usize = 1024;

/// A connection able to receive events: where to send them, and who it is (auth and
/// SASL change that while the connection lives, so it is read at each delivery).
struct Peer {
    out: Outbound,
    who: Arc<Mutex<Arc<Identities>>>,
}

#[derive(Default)]
struct Inner {
    data: HashMap<String, HashSet<ConnId>>,
    child: HashMap<String, HashSet<ConnId>>,
    persistent: HashMap<String, HashSet<ConnId>>,
    recursive: HashMap<String, HashSet<ConnId>>,
    /// Each connection's watches, so closing a connection costs its own watches, not a
    /// walk over everyone's under the lock.
    by_conn: HashMap<ConnId, HashSet<(WatchKind, String)>>,
    peers: HashMap<ConnId, Peer>,
    /// ACL lists by id, as [`Watches::fire`] looked them up.
    acls: HashMap<u64, Arc<Vec<Acl>>>,
}

impl Inner {
    fn table(&mut self, kind: WatchKind) -> &mut HashMap<String, HashSet<ConnId>> {
        match kind {
            WatchKind::Data => &mut self.data,
            WatchKind::Child => &mut self.child,
            WatchKind::Persistent => &mut self.persistent,
            WatchKind::PersistentRecursive => &mut self.recursive,
        }
    }

    fn tables(&self) -> [&HashMap<String, HashSet<ConnId>>; 4] {
        [&self.data, &self.child, &self.persistent, &self.recursive]
    }

    /// Removes one watch from its table (not from `by_conn`); true if it was there.
    fn unlink(&mut self, conn: ConnId, kind: WatchKind, path: &str) -> bool {
        let table = self.table(kind);
        let Some(set) = table.get_mut(path) else {
            return false;
        };
        let had = set.remove(&conn);
        if set.is_empty() {
            table.remove(path);
        }
        had
    }

    /// Removes the one-shot watches of `kind` on `path` and returns their connections.
    fn take(&mut self, kind: WatchKind, path: &str) -> HashSet<ConnId> {
        let conns = self.table(kind).remove(path).unwrap_or_default();
        for c in &conns {
            if let Some(set) = self.by_conn.get_mut(c) {
                set.remove(&(kind, path.to_owned()));
            }
        }
        conns
    }
}

/// All watches of all connections.
#[derive(Default)]
pub struct Watches {
    inner: Mutex<Inner>,
}

/// Which table a watch lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchKind {
    /// getData and exists.
    Data,
    /// getChildren.
    Child,
    /// addWatch in persistent mode.
    Persistent,
    /// addWatch in persistent-recursive mode.
    PersistentRecursive,
}

impl WatchKind {
    /// Every kind, for removal of all of a connection's watches.
    pub const ALL: [WatchKind; 4] = [
        WatchKind::Data,
        WatchKind::Child,
        WatchKind::Persistent,
        WatchKind::PersistentRecursive,
    ];
}

impl Watches {
    /// Makes a connection able to receive events; `who` is its identities, as auth
    /// packets update them.
    pub fn register_connection(
        &self,
        conn: ConnId,
        out: Outbound,
        who: Arc<Mutex<Arc<Identities>>>,
    ) {
        self.inner.lock().peers.insert(conn, Peer { out, who });
    }

    /// Drops every watch of a closed connection.
    pub fn remove_connection(&self, conn: ConnId) {
        let mut g = self.inner.lock();
        g.peers.remove(&conn);
        for (kind, path) in g.by_conn.remove(&conn).unwrap_or_default() {
            g.unlink(conn, kind, &path);
        }
    }

    /// Leaves a watch.
    pub fn add(&self, conn: ConnId, kind: WatchKind, path: &str) {
        let mut g = self.inner.lock();
        g.table(kind)
            .entry(path.to_owned())
            .or_default()
            .insert(conn);
        g.by_conn
            .entry(conn)
            .or_default()
            .insert((kind, path.to_owned()));
    }

    /// Whether a connection has a watch of this kind on `path`.
    pub fn has(&self, conn: ConnId, kind: WatchKind, path: &str) -> bool {
        self.inner
            .lock()
            .table(kind)
            .get(path)
            .is_some_and(|s| s.contains(&conn))
    }

    /// Removes a connection's watch; true if there was one.
    pub fn remove(&self, conn: ConnId, kind: WatchKind, path: &str) -> bool {
        let mut g = self.inner.lock();
        if let Some(set) = g.by_conn.get_mut(&conn) {
            set.remove(&(kind, path.to_owned()));
        }
        g.unlink(conn, kind, path)
    }

    /// Fires the watches that the changes of one txn match. `acl_of` looks up an ACL list
    /// by id (as the engine will hold it once the txn is written); it is called at most
    /// once per change, and only for a change some connection watches.
    ///
    /// # Errors
    /// Whatever `acl_of` returns: the event it was needed for is not delivered.
    pub fn fire<E>(
        &self,
        changes: &[Change],
        mut acl_of: impl FnMut(u64) -> Result<Vec<Acl>, E>,
    ) -> Result<(), E> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut guard = self.inner.lock();
        let g = &mut *guard;
        for c in changes {
            let mut targets: HashSet<ConnId> = HashSet::new();
            let (one_shot, recursive): (&[WatchKind], bool) = match c.event_type {
                event::NODE_CREATED | event::NODE_DATA_CHANGED => (&[WatchKind::Data], true),
                event::NODE_DELETED => (&[WatchKind::Data, WatchKind::Child], true),
                event::NODE_CHILDREN_CHANGED => (&[WatchKind::Child], false),
                _ => continue,
            };
            for &k in one_shot {
                targets.extend(g.take(k, &c.path));
            }
            if let Some(set) = g.persistent.get(&c.path) {
                targets.extend(set.iter().copied());
            }
            if recursive && !g.recursive.is_empty() {
                let mut p = c.path.as_str();
                loop {
                    if let Some(set) = g.recursive.get(p) {
                        targets.extend(set.iter().copied());
                    }
                    if p == "/" {
                        break;
                    }
                    p = warren_proto::path::parent(p);
                }
            }
            if targets.is_empty() {
                continue;
            }
            let acl = match g.acls.get(&c.acl_id) {
                Some(a) => a.clone(),
                None => {
                    let a = Arc::new(acl_of(c.acl_id)?);
                    if g.acls.len() >= ACL_CACHE_ENTRIES {
                        g.acls.clear();
                    }
                    g.acls.insert(c.acl_id, a.clone());
                    a
                }
            };
            let anyone_reads = world_readable(&acl);
            let frame = event_frame(c.event_type, &c.path);
            for t in targets {
                let Some(peer) = g.peers.get(&t) else {
                    continue;
                };
                if !anyone_reads && !peer.who.lock().allows(&acl, perms::READ) {
                    tracing::trace!(
                        conn = t,
                        path = %c.path,
                        event = c.event_type,
                        "watch event withheld: the connection may not read the node"
                    );
                    continue;
                }
                peer.out.send_frame(frame.clone());
            }
        }
        Ok(())
    }

    /// Counts for `wchs` and `mntr`: connections watching, distinct paths, watches.
    pub fn summary(&self) -> (usize, usize, usize) {
        let g = self.inner.lock();
        let mut conns: HashSet<ConnId> = HashSet::new();
        let mut watches = 0;
        let mut paths: HashSet<&String> = HashSet::new();
        for table in g.tables() {
            for (p, set) in table {
                paths.insert(p);
                watches += set.len();
                conns.extend(set.iter().copied());
            }
        }
        (conns.len(), paths.len(), watches)
    }

    /// The paths each connection watches in the given tables, for `wchc` and the
    /// AdminServer's `watches`. Sorted by connection, then path, so output is stable.
    pub fn paths_by_connection(&self, kinds: &[WatchKind]) -> Vec<(ConnId, Vec<String>)> {
        let mut g = self.inner.lock();
        let mut m: std::collections::BTreeMap<ConnId, std::collections::BTreeSet<String>> =
            Default::default();
        for &k in kinds {
            for (p, set) in g.table(k).iter() {
                for c in set {
                    m.entry(*c).or_default().insert(p.clone());
                }
            }
        }
        m.into_iter()
            .map(|(c, ps)| (c, ps.into_iter().collect()))
            .collect()
    }

    /// The connections watching each path in the given tables, for `wchp` and the
    /// AdminServer's `watches_by_path`. Sorted by path, then connection.
    pub fn connections_by_path(&self, kinds: &[WatchKind]) -> Vec<(String, Vec<ConnId>)> {
        let mut g = self.inner.lock();
        let mut m: std::collections::BTreeMap<String, std::collections::BTreeSet<ConnId>> =
            Default::default();
        for &k in kinds {
            for (p, set) in g.table(k).iter() {
                m.entry(p.clone()).or_default().extend(set.iter().copied());
            }
        }
        m.into_iter()
            .map(|(p, cs)| (p, cs.into_iter().collect()))
            .collect()
    }
}

/// Whether every connection may read under this ACL (no per-connection check needed).
fn world_readable(acl: &[Acl]) -> bool {
    acl.is_empty()
        || acl
            .iter()
            .any(|a| a.perms & perms::READ != 0 && a.id.scheme == "world" && a.id.id == "anyone")
}

/// The notification frame body: xid −1, zxid −1 (as ZooKeeper 3.8 sends), then the event.
pub fn event_frame(event_type: i32, path: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(32 + path.len());
    ReplyHeader {
        xid: xid::NOTIFICATION,
        zxid: -1,
        err: 0,
    }
    .write(&mut b);
    WatcherEvent {
        event_type,
        state: state::SYNC_CONNECTED,
        path: path.to_owned(),
    }
    .write(&mut b);
    b
}
