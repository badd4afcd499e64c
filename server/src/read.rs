//! Reads, served from the engine's applied state on the connection's own task.
//!
//! A read that leaves a watch runs under the tree's read lock, and its reply is queued on
//! the connection before the lock is released ([`Reader::answer`]). No txn can be applied
//! between the read and the registration of the watch, so either the read sees the change
//! or the watch fires for it; and the event, which the applier queues under the write
//! lock, always comes after the reply that set its watch. Clients register a watcher when
//! that reply arrives, so an event ahead of it would be lost for good.

use warren_engine::ReadSeq;
use warren_proto::consts::{add_watch_mode, event, perms, watcher_type};
use warren_proto::request::OpResult;
use warren_proto::{
    AddWatchRequest, AllChildrenNumberResponse, Children2Response, ChildrenResponse, ClientInfo,
    ErrorCode, ErrorResponse, GetAclResponse, GetDataResponse, Jute, PathRequest, PathWatchRequest,
    Request, StatResponse, SyncResponse, WhoAmIResponse,
};

use crate::acl::Identities;
use crate::net::framing::reply_frame;
use crate::net::{ConnId, Outbound};
use crate::state::Shared;
use crate::watch::{event_frame, WatchKind};
use warren_tree::{self as tree, Node, TreeError, View};

/// The connection a read comes from, and the sequence number it reads at.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    pub shared: &'a Shared,
    pub conn: ConnId,
    pub session: i64,
    pub who: &'a Identities,
    pub out: &'a Outbound,
    /// `Latest`, or a pinned snapshot's zxid for a request that reads several keys.
    pub at: ReadSeq,
}

/// A read's answer: an error code, or a body to send after the reply header.
pub type ReadResult = Result<Result<Vec<u8>, ErrorCode>, TreeError>;

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(code) => return Ok(Err(code)),
        }
    };
}

impl Reader<'_> {
    fn view(&self) -> View<'_> {
        View::at(&self.shared.engine, self.at)
    }

    fn node(&self, path: &str) -> Result<Option<Node>, TreeError> {
        self.view().node(path)
    }

    fn acl_check(&self, node: &Node, perm: i32) -> Result<Result<(), ErrorCode>, TreeError> {
        let acl = self.view().acl(node.acl_id)?;
        Ok(self.who.check(&acl, perm))
    }

    /// The children of `path`, in key order, by one range scan.
    fn children(&self, path: &str) -> Result<Vec<String>, TreeError> {
        let prefix = tree::children_prefix(path);
        let mut out = Vec::new();
        for kv in self.shared.engine.scan_prefix(&prefix, self.at)? {
            let (k, _) = kv?;
            if let Ok(name) = std::str::from_utf8(&k[prefix.len()..]) {
                out.push(name.to_owned());
            }
        }
        Ok(out)
    }

    /// Serves one read request and queues its reply (xid `xid`) on the connection;
    /// returns the reply's zxid. A read that may leave a watch holds the tree's read lock
    /// until its reply is queued (see the module docs).
    pub fn answer(&self, xid: i32, req: &Request) -> i64 {
        let watching = matches!(
            req,
            Request::Exists(PathWatchRequest { watch: true, .. })
                | Request::GetData(PathWatchRequest { watch: true, .. })
                | Request::GetChildren(PathWatchRequest { watch: true, .. })
                | Request::GetChildren2(PathWatchRequest { watch: true, .. })
                | Request::MultiRead(_)
                | Request::AddWatch(_)
        );
        let _guard = watching.then(|| self.shared.tree_lock.read());
        // A request that reads several keys (a node and its children, several nodes)
        // reads them all at one pinned zxid, so its answer is consistent. Under the tree
        // lock nothing is applied anyway, so a watched one needs no snapshot.
        let several = matches!(
            req,
            Request::GetChildren(_)
                | Request::GetChildren2(_)
                | Request::MultiRead(_)
                | Request::GetAllChildrenNumber(_)
                | Request::GetEphemerals(_)
        );
        let snapshot = (several && !watching).then(|| self.shared.engine.snapshot());
        let res = match &snapshot {
            Some(snap) => Reader {
                at: snap.read_seq(),
                ..*self
            }
            .serve(req),
            None => self.serve(req),
        };
        let zxid = self.reply_zxid();
        let frame = match res {
            Ok(Ok(body)) => reply_frame(xid, zxid, ErrorCode::OK, &body),
            Ok(Err(code)) => reply_frame(xid, zxid, code, &[]),
            Err(e) => {
                tracing::error!("read failed: {e}");
                reply_frame(xid, zxid, ErrorCode::SYSTEM_ERROR, &[])
            }
        };
        self.out.send_frame(frame);
        zxid
    }

    /// Serves one read request (the caller holds the tree lock if it leaves a watch).
    ///
    /// # Errors
    /// Engine failures and corrupt records.
    fn serve(&self, req: &Request) -> ReadResult {
        // ZooKeeper's exists refuses a NUL in the path as a bad argument; other reads of
        // malformed paths simply find no node.
        if matches!(req, Request::Exists(r) if r.path.contains('\0')) {
            return Ok(Err(ErrorCode::BAD_ARGUMENTS));
        }
        let ok = |body: Vec<u8>| Ok(Ok(body));
        match req {
            Request::Exists(r) => self.exists(r),
            Request::GetData(r) => {
                let (data, stat) = tri!(self.get_data(r)?);
                ok(GetDataResponse { data, stat }.to_bytes())
            }
            Request::GetChildren(r) => ok(ChildrenResponse {
                children: tri!(self.get_children(r)?).0.into(),
            }
            .to_bytes()),
            Request::GetChildren2(r) => {
                let (children, stat) = tri!(self.get_children(r)?);
                ok(Children2Response {
                    children: children.into(),
                    stat,
                }
                .to_bytes())
            }
            Request::GetAcl(r) => self.get_acl(r),
            Request::GetAllChildrenNumber(r) => self.all_children_number(r),
            Request::GetEphemerals(r) => self.get_ephemerals(r),
            Request::Sync(r) => ok(SyncResponse {
                path: r.path.clone(),
            }
            .to_bytes()),
            Request::WhoAmI => ok(self.who_am_i()),
            Request::MultiRead(ops) => self.multi_read(ops),
            Request::AddWatch(r) => self.add_watch(r),
            Request::CheckWatches(r) | Request::RemoveWatches(r) => {
                let remove = matches!(req, Request::RemoveWatches(_));
                tri!(self.check_or_remove_watches(&r.path, r.watcher_type, remove));
                ok(Vec::new())
            }
            _ => Ok(Err(ErrorCode::UNIMPLEMENTED)),
        }
    }

    fn exists(&self, r: &PathWatchRequest) -> ReadResult {
        let node = self.node(&r.path)?;
        if r.watch {
            self.shared.watches.add(self.conn, WatchKind::Data, &r.path);
        }
        let n = tri!(node.ok_or(ErrorCode::NO_NODE));
        Ok(Ok(StatResponse {
            stat: n.client_stat(),
        }
        .to_bytes()))
    }

    /// getACL needs READ or ADMIN; without ADMIN, ZooKeeper hides the password hashes
    /// of digest ids.
    fn get_acl(&self, r: &PathRequest) -> ReadResult {
        let n = tri!(self.node(&r.path)?.ok_or(ErrorCode::NO_NODE));
        tri!(self.acl_check(&n, perms::READ | perms::ADMIN)?);
        let mut acl = self.view().acl(n.acl_id)?;
        if !self.who.allows(&acl, perms::ADMIN) {
            for a in acl.iter_mut().filter(|a| a.id.scheme == "digest") {
                if let Some((user, _)) = a.id.id.split_once(':') {
                    a.id.id = format!("{user}:x");
                }
            }
        }
        Ok(Ok(GetAclResponse {
            acl: acl.into(),
            stat: n.client_stat(),
        }
        .to_bytes()))
    }

    fn all_children_number(&self, r: &PathRequest) -> ReadResult {
        let n = tri!(self.node(&r.path)?.ok_or(ErrorCode::NO_NODE));
        tri!(self.acl_check(&n, perms::READ)?);
        Ok(Ok(AllChildrenNumberResponse {
            total_number: self.count_descendants(&r.path)? as i32,
        }
        .to_bytes()))
    }

    fn get_ephemerals(&self, r: &PathRequest) -> ReadResult {
        let all = tree::session_ephemerals(&self.view(), self.session)?;
        let prefix = r.path.as_str();
        Ok(Ok(ChildrenResponse {
            children: all
                .into_iter()
                .filter(|p| prefix == "/" || p.starts_with(prefix))
                .collect::<Vec<_>>()
                .into(),
        }
        .to_bytes()))
    }

    /// ZooKeeper names users, not credentials (a digest id's hash is dropped), and lists
    /// authenticated identities before the connection's address.
    fn who_am_i(&self) -> Vec<u8> {
        let (ip, rest): (Vec<_>, Vec<_>) = self.who.ids.iter().partition(|i| i.scheme == "ip");
        WhoAmIResponse {
            client_info: rest
                .into_iter()
                .chain(ip)
                .map(|i| ClientInfo {
                    auth_scheme: i.scheme.clone(),
                    user: if i.scheme == "digest" {
                        i.id.split(':').next().unwrap_or_default().to_owned()
                    } else {
                        i.id.clone()
                    },
                })
                .collect::<Vec<_>>()
                .into(),
        }
        .to_bytes()
    }

    fn multi_read(&self, ops: &[Request]) -> ReadResult {
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            results.push(match op {
                Request::GetData(r) => match self.get_data(r)? {
                    Ok((data, stat)) => OpResult::GetData { data, stat },
                    Err(c) => OpResult::Error { err: c.0 },
                },
                Request::GetChildren(r) => match self.get_children(r)? {
                    Ok((children, _)) => OpResult::GetChildren { children },
                    Err(c) => OpResult::Error { err: c.0 },
                },
                _ => OpResult::Error {
                    err: ErrorCode::UNIMPLEMENTED.0,
                },
            });
        }
        let mut b = Vec::new();
        warren_proto::request::encode_multi_response(&results, &mut b);
        Ok(Ok(b))
    }

    fn add_watch(&self, r: &AddWatchRequest) -> ReadResult {
        let kind = match r.mode {
            add_watch_mode::PERSISTENT => WatchKind::Persistent,
            add_watch_mode::PERSISTENT_RECURSIVE => WatchKind::PersistentRecursive,
            _ => return Ok(Err(ErrorCode::BAD_ARGUMENTS)),
        };
        self.shared.watches.add(self.conn, kind, &r.path);
        // ZooKeeper answers addWatch with an ErrorResponse of 0.
        Ok(Ok(ErrorResponse { err: 0 }.to_bytes()))
    }

    fn get_data(
        &self,
        r: &PathWatchRequest,
    ) -> Result<Result<(warren_proto::Data, warren_proto::Stat), ErrorCode>, TreeError> {
        let n = if self.shared.config.stale_reads_fault && !r.watch && rand::random::<u8>() < 52 {
            self.stale().node(&r.path)?
        } else {
            self.node(&r.path)?
        };
        let n = tri!(n.ok_or(ErrorCode::NO_NODE));
        tri!(self.acl_check(&n, perms::READ)?);
        if r.watch {
            self.shared.watches.add(self.conn, WatchKind::Data, &r.path);
        }
        let stat = n.client_stat();
        Ok(Ok((n.data, stat)))
    }

    /// A reader of the tree as it was three txns ago: the planted bug of
    /// `warren.unsafe.testFault=stale-reads`, for the reliability harness's own test.
    fn stale(&self) -> Reader<'_> {
        let then = self.shared.last_zxid().saturating_sub(3).max(0) as u64;
        Reader {
            at: ReadSeq::At(then),
            ..*self
        }
    }

    fn get_children(
        &self,
        r: &PathWatchRequest,
    ) -> Result<Result<(Vec<String>, warren_proto::Stat), ErrorCode>, TreeError> {
        let n = tri!(self.node(&r.path)?.ok_or(ErrorCode::NO_NODE));
        tri!(self.acl_check(&n, perms::READ)?);
        let children = self.children(&r.path)?;
        if r.watch {
            self.shared
                .watches
                .add(self.conn, WatchKind::Child, &r.path);
        }
        Ok(Ok((children, n.client_stat())))
    }

    /// All nodes below `path`: its children's keys start with `n<path>\0`, deeper
    /// descendants' with `n<path>/`. Two range scans, no tree walk.
    fn count_descendants(&self, path: &str) -> Result<u64, TreeError> {
        let base = if path == "/" { "" } else { path };
        let mut n = 0u64;
        for sep in [0u8, b'/'] {
            let mut prefix = vec![tree::NODES];
            prefix.extend_from_slice(base.as_bytes());
            prefix.push(sep);
            for kv in self.shared.engine.scan_prefix(&prefix, self.at)? {
                kv?;
                n += 1;
            }
        }
        Ok(n)
    }

    fn check_or_remove_watches(
        &self,
        path: &str,
        wtype: i32,
        remove: bool,
    ) -> Result<(), ErrorCode> {
        let kinds: &[WatchKind] = match wtype {
            watcher_type::CHILDREN => &[WatchKind::Child],
            watcher_type::DATA => &[WatchKind::Data],
            watcher_type::ANY => &WatchKind::ALL,
            watcher_type::PERSISTENT => &[WatchKind::Persistent],
            watcher_type::PERSISTENT_RECURSIVE => &[WatchKind::PersistentRecursive],
            _ => return Err(ErrorCode::BAD_ARGUMENTS),
        };
        let mut found = false;
        for &k in kinds {
            let had = if remove {
                self.shared.watches.remove(self.conn, k, path)
            } else {
                self.shared.watches.has(self.conn, k, path)
            };
            found |= had;
        }
        if found {
            Ok(())
        } else {
            Err(ErrorCode::NO_WATCHER)
        }
    }

    /// Re-registers a reconnecting client's watches, and queues the setWatches reply
    /// before any later event (under the tree lock); returns the reply's zxid. A watch
    /// whose condition already changed since `relative_zxid` (the last zxid the client
    /// saw) fires at once, under the rule live events follow (CVE-2024-23944): an event
    /// naming an existing node the connection may not READ is withheld, and that
    /// one-shot watch is spent, exactly as if the client had stayed connected. (ZooKeeper
    /// does not check these events; a deleted node's event carries no ACL to check, and
    /// tells no more than `exists` does.)
    ///
    /// The reply carries the request's own xid, as ZooKeeper's does (only a ping's reply
    /// has a fixed xid). Java's client happens to send setWatches under −8, but aiozk
    /// sends it under its next ordinary xid and matches the reply by that xid: a fixed −8
    /// matched nothing, and aiozk dropped the connection in the middle of reconnecting.
    pub fn answer_set_watches(
        &self,
        xid: i32,
        relative_zxid: i64,
        lists: &[Vec<String>; 5],
    ) -> i64 {
        let _g = self.shared.tree_lock.read();
        let [data, exist, child, persistent, recursive] = lists;
        if let Err(e) = self.set_watches(relative_zxid, data, exist, child, persistent, recursive) {
            tracing::error!("setWatches failed: {e}");
        }
        let zxid = self.shared.last_zxid();
        self.out
            .send_frame(reply_frame(xid, zxid, ErrorCode::OK, &[]));
        zxid
    }

    fn set_watches(
        &self,
        relative_zxid: i64,
        data: &[String],
        exist: &[String],
        child: &[String],
        persistent: &[String],
        recursive: &[String],
    ) -> Result<(), TreeError> {
        for p in persistent {
            self.shared.watches.add(self.conn, WatchKind::Persistent, p);
        }
        for p in recursive {
            self.shared
                .watches
                .add(self.conn, WatchKind::PersistentRecursive, p);
        }
        for p in data {
            match self.node(p)? {
                None => self.out.send_frame(event_frame(event::NODE_DELETED, p)),
                Some(n) if n.stat.mzxid > relative_zxid => {
                    self.fire_if_readable(&n, event::NODE_DATA_CHANGED, p)?;
                }
                Some(_) => self.shared.watches.add(self.conn, WatchKind::Data, p),
            }
        }
        for p in exist {
            match self.node(p)? {
                Some(n) => self.fire_if_readable(&n, event::NODE_CREATED, p)?,
                None => self.shared.watches.add(self.conn, WatchKind::Data, p),
            }
        }
        for p in child {
            match self.node(p)? {
                None => self.out.send_frame(event_frame(event::NODE_DELETED, p)),
                Some(n) if n.stat.pzxid > relative_zxid => {
                    self.fire_if_readable(&n, event::NODE_CHILDREN_CHANGED, p)?;
                }
                Some(_) => self.shared.watches.add(self.conn, WatchKind::Child, p),
            }
        }
        Ok(())
    }

    /// Sends a setWatches event about `node` if the connection may READ it; else the
    /// event is withheld (and its watch spent), as a live one would be.
    fn fire_if_readable(&self, node: &Node, event_type: i32, path: &str) -> Result<(), TreeError> {
        if self.acl_check(node, perms::READ)?.is_ok() {
            self.out.send_frame(event_frame(event_type, path));
        } else {
            tracing::trace!(
                conn = self.conn,
                path,
                event = event_type,
                "setWatches event withheld: the connection may not read the node"
            );
        }
        Ok(())
    }

    /// The zxid a reply to a read carries: the last applied one.
    pub fn reply_zxid(&self) -> i64 {
        self.shared.last_zxid()
    }
}
