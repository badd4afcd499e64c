//! `warren-tree`: ZooKeeper's data tree, kept in the engine rather than in memory. Shared
//! by the server, which applies txns as they commit, and the tools, which replay and
//! inspect data dirs offline.
//!
//! Every znode is one engine key (see [`node_key`]): `n` + parent path + `\0` + name. The
//! `\0` cannot occur in a path, so the children of a node are exactly the keys under
//! [`children_prefix`], and listing them is one range scan however large the tree is.
//! Sessions, the ephemeral-owner index and the ACL table are key spaces of their own.
//!
//! Txns change the tree through [`apply_txn`], the one place that turns a txn into engine
//! writes. It runs on a [`View`]: the engine's applied state, under the changes of txns
//! that are logged but not yet applied (the [`Overlay`]), under the changes of the txn
//! being built. The request pipeline uses it to decide the next txn against every txn
//! before it; recovery uses it to replay the log. Same code, same result.

#![deny(unsafe_code)]

pub mod quota;

use std::collections::BTreeMap;
use std::ops::Bound;

use warren_engine::{Engine, EngineError, ReadSeq, WriteBatch};
use warren_proto::consts::{event, op, owner, perms};
use warren_proto::txn::{CreateTxn, Txn, TxnHeader};
use warren_proto::{Acl, Data, ErrorCode, JVec, Jute, Stat, StatPersisted};

/// Errors of the tree: the engine failed, or bytes in it do not decode.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("storage engine: {0}")]
    Engine(#[from] EngineError),
    #[error("corrupt {what} record in the engine: {detail}")]
    Corrupt { what: &'static str, detail: String },
}

fn corrupt(what: &'static str, detail: impl ToString) -> TreeError {
    TreeError::Corrupt {
        what,
        detail: detail.to_string(),
    }
}

/// Key-value pairs read from a range.
pub type KeyValues = Vec<(Vec<u8>, Vec<u8>)>;

/// The engine key of a znode.
pub fn node_key(path: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(path.len() + 2);
    k.push(b'n');
    // ZooKeeper's tree knows the root by the empty path too.
    if path == "/" || path.is_empty() {
        return k;
    }
    match path.rfind('/') {
        Some(slash) if path.starts_with('/') => {
            k.extend_from_slice(&path.as_bytes()[..slash]);
            k.push(0);
            k.extend_from_slice(&path.as_bytes()[slash + 1..]);
        }
        // Not a path: a key no node can have (0xFF never occurs in UTF-8).
        _ => {
            k.push(0xFF);
            k.extend_from_slice(path.as_bytes());
        }
    }
    k
}

/// The key prefix under which all children of `path` lie.
pub fn children_prefix(path: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(path.len() + 2);
    k.push(b'n');
    if path != "/" {
        k.extend_from_slice(path.as_bytes());
    }
    k.push(0);
    k
}

/// The path of a node key (the inverse of [`node_key`]).
pub fn key_path(key: &[u8]) -> Option<String> {
    let rest = key.strip_prefix(b"n")?;
    if rest.is_empty() {
        return Some("/".to_owned());
    }
    let zero = rest.iter().position(|&b| b == 0)?;
    let parent = std::str::from_utf8(&rest[..zero]).ok()?;
    let name = std::str::from_utf8(&rest[zero + 1..]).ok()?;
    Some(format!("{parent}/{name}"))
}

/// A session's key: `s` + id.
pub fn session_key(id: i64) -> Vec<u8> {
    let mut k = vec![b's'];
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Decodes a session key space entry into (session id, timeout ms).
pub fn session_entry(key: &[u8], value: &[u8]) -> Option<(i64, i32)> {
    let id: [u8; 8] = key.strip_prefix(b"s")?.try_into().ok()?;
    let timeout: [u8; 4] = value.get(..4)?.try_into().ok()?;
    Some((i64::from_be_bytes(id), i32::from_le_bytes(timeout)))
}

/// An ephemeral-owner index key: `e` + session id + path.
pub fn ephemeral_key(session: i64, path: &str) -> Vec<u8> {
    let mut k = ephemeral_prefix(session);
    k.extend_from_slice(path.as_bytes());
    k
}

/// The prefix of all ephemeral index keys of one session.
pub fn ephemeral_prefix(session: i64) -> Vec<u8> {
    let mut k = vec![b'e'];
    k.extend_from_slice(&session.to_be_bytes());
    k
}

/// A reaper candidate key: `c` + path, for container and TTL nodes, so the reaper finds
/// them without walking the tree.
pub fn reap_key(path: &str) -> Vec<u8> {
    let mut k = vec![b'c'];
    k.extend_from_slice(path.as_bytes());
    k
}

/// An ACL table key: `a` + the ACL list's content hash.
pub fn acl_key(id: u64) -> Vec<u8> {
    let mut k = vec![b'a'];
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The metadata name of the znode counter.
pub const NODE_COUNT: &str = "node_count";

/// A server metadata key: `m` + name.
pub fn meta_key(name: &str) -> Vec<u8> {
    let mut k = vec![b'm'];
    k.extend_from_slice(name.as_bytes());
    k
}

/// The id of an ACL list in the ACL table: a hash of its encoding, so equal lists share
/// one entry and the id never depends on the order txns were applied in.
pub fn acl_id(acl: &[Acl]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(&JVec(acl.to_vec()).to_bytes())
}

/// A znode as stored: ZooKeeper's persisted stat, the child count, the ACL id and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub stat: StatPersisted,
    pub num_children: i32,
    pub acl_id: u64,
    pub data: Data,
}

const NODE_FORMAT: u8 = 1;

impl Node {
    /// Encodes the node record (layout in docs/FORMATS.md).
    pub fn encode(&self) -> Vec<u8> {
        let s = &self.stat;
        let data_len = self.data.as_ref().map_or(0, Vec::len);
        let mut v = Vec::with_capacity(74 + data_len);
        v.push(NODE_FORMAT);
        for x in [s.czxid, s.mzxid, s.ctime, s.mtime] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        for x in [s.version, s.cversion, s.aversion] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(&s.ephemeral_owner.to_le_bytes());
        v.extend_from_slice(&s.pzxid.to_le_bytes());
        v.extend_from_slice(&self.num_children.to_le_bytes());
        v.extend_from_slice(&self.acl_id.to_le_bytes());
        match &self.data {
            None => v.push(0),
            Some(d) => {
                v.push(1);
                v.extend_from_slice(d);
            }
        }
        v
    }

    /// Decodes a node record.
    ///
    /// # Errors
    /// [`TreeError::Corrupt`] when the bytes are not a node record.
    pub fn decode(b: &[u8]) -> Result<Node, TreeError> {
        if b.len() < 74 || b[0] != NODE_FORMAT {
            return Err(corrupt(
                "node",
                format!("{} bytes, format {:?}", b.len(), b.first()),
            ));
        }
        let i64_at = |o: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[o..o + 8]);
            i64::from_le_bytes(a)
        };
        let i32_at = |o: usize| {
            let mut a = [0u8; 4];
            a.copy_from_slice(&b[o..o + 4]);
            i32::from_le_bytes(a)
        };
        Ok(Node {
            stat: StatPersisted {
                czxid: i64_at(1),
                mzxid: i64_at(9),
                ctime: i64_at(17),
                mtime: i64_at(25),
                version: i32_at(33),
                cversion: i32_at(37),
                aversion: i32_at(41),
                ephemeral_owner: i64_at(45),
                pzxid: i64_at(53),
            },
            num_children: i32_at(61),
            acl_id: i64_at(65) as u64,
            data: match b[73..].split_first() {
                Some((0, _)) => None,
                Some((_, d)) => Some(d.to_vec()),
                None => None,
            },
        })
    }

    /// The Stat clients see. The stored cversion counts child creates; ZooKeeper shows
    /// creates plus deletes, which is `2 × stored − numChildren`. Container and TTL nodes
    /// keep a marker in ephemeralOwner that clients see as 0.
    pub fn client_stat(&self) -> Stat {
        let mut st = Stat::from_persisted(
            &self.stat,
            self.data.as_ref().map_or(0, |d| d.len() as i32),
            self.num_children,
        );
        st.cversion = self
            .stat
            .cversion
            .wrapping_mul(2)
            .wrapping_sub(self.num_children);
        if owner_kind(self.stat.ephemeral_owner) != OwnerKind::Ephemeral {
            st.ephemeral_owner = 0;
        }
        st
    }
}

/// What a stored ephemeralOwner means (`EphemeralType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    Persistent,
    Ephemeral,
    Container,
    Ttl(i64),
}

/// Classifies a stored ephemeralOwner.
pub fn owner_kind(o: i64) -> OwnerKind {
    if o == 0 {
        OwnerKind::Persistent
    } else if o == owner::CONTAINER {
        OwnerKind::Container
    } else if o & owner::TTL_MASK == owner::TTL_MASK {
        OwnerKind::Ttl(o & owner::MAX_TTL)
    } else {
        OwnerKind::Ephemeral
    }
}

/// Changes of txns that are logged but not yet applied to the engine, by key, each with
/// the zxid of the txn that made it. Owned by the request pipeline.
#[derive(Debug, Default)]
pub struct Overlay {
    entries: BTreeMap<Vec<u8>, (i64, Option<Vec<u8>>)>,
}

impl Overlay {
    /// Records the changes of txn `zxid`.
    pub fn record(&mut self, zxid: i64, changes: &[(Vec<u8>, Option<Vec<u8>>)]) {
        for (k, v) in changes {
            self.entries.insert(k.clone(), (zxid, v.clone()));
        }
    }

    /// Forgets the changes of txn `zxid` once the engine holds them, unless a later txn
    /// changed the same key again.
    pub fn applied(&mut self, zxid: i64, changes: &[(Vec<u8>, Option<Vec<u8>>)]) {
        for (k, _) in changes {
            if let Some((z, _)) = self.entries.get(k) {
                if *z <= zxid {
                    self.entries.remove(k);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The state a txn is decided and applied against (see the module docs).
pub struct View<'a> {
    engine: &'a Engine,
    overlay: Option<&'a Overlay>,
    local: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'a> View<'a> {
    /// A view of the engine under `overlay`.
    pub fn new(engine: &'a Engine, overlay: Option<&'a Overlay>) -> View<'a> {
        View {
            engine,
            overlay,
            local: BTreeMap::new(),
        }
    }

    /// Reads a key.
    ///
    /// # Errors
    /// Engine failures.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TreeError> {
        if let Some(v) = self.local.get(key) {
            return Ok(v.clone());
        }
        if let Some((_, v)) = self.overlay.and_then(|o| o.entries.get(key)) {
            return Ok(v.clone());
        }
        Ok(self.engine.get(key, ReadSeq::Latest)?)
    }

    /// All live keys under `prefix`, in order. Only for small key ranges (a session's
    /// ephemerals): it collects them.
    ///
    /// # Errors
    /// Engine failures.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<KeyValues, TreeError> {
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for kv in self.engine.scan_prefix(prefix, ReadSeq::Latest)? {
            let (k, v) = kv?;
            merged.insert(k, Some(v));
        }
        let range = (Bound::Included(prefix.to_vec()), Bound::Unbounded);
        if let Some(o) = self.overlay {
            for (k, (_, v)) in o.entries.range(range.clone()) {
                if !k.starts_with(prefix) {
                    break;
                }
                merged.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in self.local.range(range) {
            if !k.starts_with(prefix) {
                break;
            }
            merged.insert(k.clone(), v.clone());
        }
        Ok(merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect())
    }

    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.local.insert(key, Some(value));
    }

    fn delete(&mut self, key: Vec<u8>) {
        self.local.insert(key, None);
    }

    /// Reads a node.
    ///
    /// # Errors
    /// Engine failures and corrupt records.
    pub fn node(&self, path: &str) -> Result<Option<Node>, TreeError> {
        self.get(&node_key(path))?
            .map(|b| Node::decode(&b))
            .transpose()
    }

    /// Number of znodes, kept as a counter so nothing has to scan the tree for it.
    ///
    /// # Errors
    /// Engine failures and corrupt records.
    pub fn node_count(&self) -> Result<i64, TreeError> {
        match self.get(&meta_key(NODE_COUNT))? {
            None => Ok(0),
            Some(b) => {
                let a: [u8; 8] = b
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt("node count", format!("{} bytes", b.len())))?;
                Ok(i64::from_le_bytes(a))
            }
        }
    }

    fn add_nodes(&mut self, delta: i64) -> Result<(), TreeError> {
        let n = self.node_count()? + delta;
        self.put(meta_key(NODE_COUNT), n.to_le_bytes().to_vec());
        Ok(())
    }

    fn put_node(&mut self, path: &str, node: &Node) {
        self.put(node_key(path), node.encode());
    }

    /// Reads an ACL list by id.
    ///
    /// # Errors
    /// Engine failures and corrupt records.
    pub fn acl(&self, id: u64) -> Result<Vec<Acl>, TreeError> {
        match self.get(&acl_key(id))? {
            None => Err(corrupt("acl", format!("ACL id {id:#x} is missing"))),
            Some(b) => Ok(JVec::<Acl>::from_bytes(&b)
                .map_err(|e| corrupt("acl", e))?
                .0),
        }
    }

    fn intern_acl(&mut self, acl: &[Acl]) -> Result<u64, TreeError> {
        let id = acl_id(acl);
        if self.get(&acl_key(id))?.is_none() {
            self.put(acl_key(id), JVec(acl.to_vec()).to_bytes());
        }
        Ok(id)
    }

    /// The changes made through this view, to log in the overlay and write to the engine.
    pub fn take_changes(&mut self) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        std::mem::take(&mut self.local).into_iter().collect()
    }

    /// Drops the changes made through this view (a failed multi's partial work).
    pub fn discard(&mut self) {
        self.local.clear();
    }
}

/// Writes a set of changes to the engine as one atomic batch stamped with `zxid`.
///
/// # Errors
/// Engine failures.
pub fn write_changes(
    engine: &Engine,
    zxid: i64,
    changes: &[(Vec<u8>, Option<Vec<u8>>)],
) -> Result<(), TreeError> {
    let mut batch = WriteBatch::default();
    for (k, v) in changes {
        match v {
            Some(v) => batch.put(k.clone(), v.clone()),
            None => batch.delete(k.clone()),
        }
    }
    engine.write(zxid as u64, batch)?;
    Ok(())
}

/// A change a watch may be waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub event_type: i32,
    pub path: String,
}

/// What applying a txn did, for the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A node was created; `op` is the create opcode of the (sub)txn.
    Created {
        op: i32,
        path: String,
        stat: Stat,
    },
    Deleted,
    DataSet {
        stat: Stat,
    },
    AclSet {
        stat: Stat,
    },
    Checked,
    SessionCreated,
    SessionClosed,
    /// The txn records a failure, or applying it failed.
    Failed(ErrorCode),
    Multi(Vec<Outcome>),
}

/// Applies a txn to a view: the single definition of what each txn does to the tree.
///
/// # Errors
/// Engine failures and corrupt records. A txn that cannot apply (say, a create whose node
/// exists, met while replaying) is an [`Outcome::Failed`], not an error.
pub fn apply_txn(
    view: &mut View<'_>,
    hdr: &TxnHeader,
    txn: &Txn,
    changes: &mut Vec<Change>,
) -> Result<Outcome, TreeError> {
    let zxid = hdr.zxid;
    Ok(match txn {
        Txn::Create(t) | Txn::Create2(t) => {
            let o = if t.ephemeral { hdr.client_id } else { 0 };
            create(view, hdr, txn.txn_type(), t, o, changes)?
        }
        Txn::CreateContainer(t) => {
            let t2 = CreateTxn {
                path: t.path.clone(),
                data: t.data.clone(),
                acl: t.acl.clone(),
                ephemeral: false,
                parent_cversion: t.parent_cversion,
            };
            create(
                view,
                hdr,
                op::CREATE_CONTAINER,
                &t2,
                owner::CONTAINER,
                changes,
            )?
        }
        Txn::CreateTtl(t) => {
            let t2 = CreateTxn {
                path: t.path.clone(),
                data: t.data.clone(),
                acl: t.acl.clone(),
                ephemeral: false,
                parent_cversion: t.parent_cversion,
            };
            let o = owner::TTL_MASK | (t.ttl & owner::MAX_TTL);
            create(view, hdr, op::CREATE_TTL, &t2, o, changes)?
        }
        Txn::Delete(t) | Txn::DeleteContainer(t) => delete(view, zxid, &t.path, changes)?,
        Txn::SetData(t) => {
            let Some(mut n) = view.node(&t.path)? else {
                return Ok(Outcome::Failed(ErrorCode::NO_NODE));
            };
            let old_len = n.data.as_ref().map_or(0, Vec::len) as i64;
            let new_len = t.data.as_ref().map_or(0, Vec::len) as i64;
            quota::account(view, &t.path, 0, new_len - old_len)?;
            n.data = t.data.clone();
            n.stat.version = t.version;
            n.stat.mzxid = zxid;
            n.stat.mtime = hdr.time;
            view.put_node(&t.path, &n);
            changes.push(Change {
                event_type: event::NODE_DATA_CHANGED,
                path: t.path.clone(),
            });
            Outcome::DataSet {
                stat: n.client_stat(),
            }
        }
        Txn::SetAcl(t) => {
            let Some(mut n) = view.node(&t.path)? else {
                return Ok(Outcome::Failed(ErrorCode::NO_NODE));
            };
            n.acl_id = view.intern_acl(&t.acl)?;
            n.stat.aversion = t.version;
            view.put_node(&t.path, &n);
            Outcome::AclSet {
                stat: n.client_stat(),
            }
        }
        Txn::Check(_) => Outcome::Checked,
        Txn::Error(e) => Outcome::Failed(ErrorCode(e.err)),
        Txn::CreateSession(t) => {
            let mut v = Vec::with_capacity(12);
            v.extend_from_slice(&t.time_out.to_le_bytes());
            v.extend_from_slice(&zxid.to_le_bytes());
            view.put(session_key(hdr.client_id), v);
            Outcome::SessionCreated
        }
        Txn::CloseSession(paths) => {
            // Older logs carry no paths: the ephemeral index knows them.
            let mut paths = paths.clone();
            if paths.is_empty() {
                paths = session_ephemerals(view, hdr.client_id)?;
            }
            for p in &paths {
                delete(view, zxid, p, changes)?;
            }
            view.delete(session_key(hdr.client_id));
            Outcome::SessionClosed
        }
        Txn::Multi(txns) => {
            let failed = txns.iter().any(|t| matches!(t, Txn::Error(_)));
            if failed {
                // ZooKeeper turns every op into an error: those before the failure
                // report OK (rolled back), the rest keep their recorded code.
                Outcome::Multi(
                    txns.iter()
                        .map(|t| match t {
                            Txn::Error(e) => Outcome::Failed(ErrorCode(e.err)),
                            _ => Outcome::Failed(ErrorCode::OK),
                        })
                        .collect(),
                )
            } else {
                let mut out = Vec::with_capacity(txns.len());
                for t in txns {
                    let sub = TxnHeader {
                        txn_type: t.txn_type(),
                        ..hdr.clone()
                    };
                    out.push(apply_txn(view, &sub, t, changes)?);
                }
                Outcome::Multi(out)
            }
        }
    })
}

/// The paths of a session's ephemeral nodes, in order.
///
/// # Errors
/// Engine failures.
pub fn session_ephemerals(view: &View<'_>, session: i64) -> Result<Vec<String>, TreeError> {
    let prefix = ephemeral_prefix(session);
    Ok(view
        .scan_prefix(&prefix)?
        .into_iter()
        .filter_map(|(k, _)| String::from_utf8(k[prefix.len()..].to_vec()).ok())
        .collect())
}

fn create(
    view: &mut View<'_>,
    hdr: &TxnHeader,
    create_op: i32,
    t: &CreateTxn,
    ephemeral_owner: i64,
    changes: &mut Vec<Change>,
) -> Result<Outcome, TreeError> {
    let zxid = hdr.zxid;
    let parent_path = warren_proto::path::parent(&t.path);
    let Some(mut parent) = view.node(parent_path)? else {
        return Ok(Outcome::Failed(ErrorCode::NO_NODE));
    };
    if view.node(&t.path)?.is_some() {
        return Ok(Outcome::Failed(ErrorCode::NODE_EXISTS));
    }
    let acl_id = view.intern_acl(&t.acl)?;
    let mut node = Node {
        stat: StatPersisted {
            czxid: zxid,
            mzxid: zxid,
            ctime: hdr.time,
            mtime: hdr.time,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner,
            pzxid: zxid,
        },
        num_children: 0,
        acl_id,
        data: t.data.clone(),
    };
    quota::on_quota_node(view, &t.path, true, Some(&mut node))?;
    quota::account(
        view,
        &t.path,
        1,
        node.data.as_ref().map_or(0, Vec::len) as i64,
    )?;
    view.put_node(&t.path, &node);
    view.add_nodes(1)?;
    // Old logs (format 0) carry −1: the parent's counter goes up by one.
    let parent_cversion = if t.parent_cversion == -1 {
        parent.stat.cversion.wrapping_add(1)
    } else {
        t.parent_cversion
    };
    if parent_cversion > parent.stat.cversion {
        parent.stat.cversion = parent_cversion;
        parent.stat.pzxid = zxid;
    }
    parent.num_children += 1;
    view.put_node(parent_path, &parent);
    match owner_kind(ephemeral_owner) {
        OwnerKind::Ephemeral => view.put(ephemeral_key(ephemeral_owner, &t.path), Vec::new()),
        OwnerKind::Container | OwnerKind::Ttl(_) => view.put(reap_key(&t.path), Vec::new()),
        OwnerKind::Persistent => {}
    }
    changes.push(Change {
        event_type: event::NODE_CREATED,
        path: t.path.clone(),
    });
    changes.push(Change {
        event_type: event::NODE_CHILDREN_CHANGED,
        path: parent_path.to_owned(),
    });
    Ok(Outcome::Created {
        op: create_op,
        path: t.path.clone(),
        stat: node.client_stat(),
    })
}

fn delete(
    view: &mut View<'_>,
    zxid: i64,
    path: &str,
    changes: &mut Vec<Change>,
) -> Result<Outcome, TreeError> {
    let Some(node) = view.node(path)? else {
        return Ok(Outcome::Failed(ErrorCode::NO_NODE));
    };
    let parent_path = warren_proto::path::parent(path);
    quota::account(
        view,
        path,
        -1,
        -(node.data.as_ref().map_or(0, Vec::len) as i64),
    )?;
    quota::on_quota_node(view, path, false, None)?;
    view.delete(node_key(path));
    view.add_nodes(-1)?;
    match owner_kind(node.stat.ephemeral_owner) {
        OwnerKind::Ephemeral => view.delete(ephemeral_key(node.stat.ephemeral_owner, path)),
        OwnerKind::Container | OwnerKind::Ttl(_) => view.delete(reap_key(path)),
        OwnerKind::Persistent => {}
    }
    if let Some(mut parent) = view.node(parent_path)? {
        parent.num_children -= 1;
        if zxid > parent.stat.pzxid {
            parent.stat.pzxid = zxid;
        }
        view.put_node(parent_path, &parent);
    }
    changes.push(Change {
        event_type: event::NODE_DELETED,
        path: path.to_owned(),
    });
    changes.push(Change {
        event_type: event::NODE_CHILDREN_CHANGED,
        path: parent_path.to_owned(),
    });
    Ok(Outcome::Deleted)
}

/// The metadata name of the secret session passwords derive from.
pub const SESSION_SECRET: &str = "session_secret";

/// Loads the session secret of a data dir, or, on a new one, lays down the initial tree
/// and a fresh secret at sequence 0 and flushes them: they are not in the txn log.
///
/// # Errors
/// Engine failures.
pub fn bootstrap(engine: &Engine) -> Result<[u8; 16], TreeError> {
    if let Some(b) = engine.get(&meta_key(SESSION_SECRET), ReadSeq::Latest)? {
        if let Ok(a) = <[u8; 16]>::try_from(b.as_slice()) {
            return Ok(a);
        }
    }
    let seed = xxhash_rust::xxh3::xxh3_128(
        format!(
            "{:?}{}{:?}",
            std::time::SystemTime::now(),
            std::process::id(),
            std::time::Instant::now()
        )
        .as_bytes(),
    );
    let secret = seed.to_be_bytes();
    let mut changes = initial_nodes();
    changes.push((meta_key(SESSION_SECRET), Some(secret.to_vec())));
    write_changes(engine, 0, &changes)?;
    engine.flush()?;
    Ok(secret)
}

/// The nodes every ZooKeeper tree starts with: `/`, `/zookeeper`, `/zookeeper/quota` and
/// `/zookeeper/config`, all with zero stats, as ZooKeeper creates them outside the log.
pub fn initial_nodes() -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let open = Acl::open_unsafe();
    let read_only = vec![Acl::new(perms::READ, "world", "anyone")];
    let node = |children: i32, acl: &[Acl]| Node {
        stat: StatPersisted::default(),
        num_children: children,
        acl_id: acl_id(acl),
        data: Some(Vec::new()),
    };
    vec![
        (node_key("/"), Some(node(1, &open).encode())),
        (node_key("/zookeeper"), Some(node(2, &open).encode())),
        (node_key("/zookeeper/quota"), Some(node(0, &open).encode())),
        (
            node_key("/zookeeper/config"),
            Some(node(0, &read_only).encode()),
        ),
        (meta_key(NODE_COUNT), Some(4i64.to_le_bytes().to_vec())),
        (acl_key(acl_id(&open)), Some(JVec(open).to_bytes())),
        (
            acl_key(acl_id(&read_only)),
            Some(JVec(read_only).to_bytes()),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_group_children_under_their_parent() {
        assert_eq!(node_key("/"), b"n");
        assert_eq!(node_key("/a"), b"n\0a");
        assert_eq!(node_key("/a/b"), b"n/a\0b");
        assert_eq!(node_key(""), b"n");
        assert_eq!(node_key("é"), b"n\xff\xc3\xa9");
        assert!(node_key("/a").starts_with(&children_prefix("/")));
        assert!(node_key("/a/b").starts_with(&children_prefix("/a")));
        assert!(!node_key("/a/b/c").starts_with(&children_prefix("/a")));
        assert!(!node_key("/ab").starts_with(&children_prefix("/a")));
        for p in ["/", "/a", "/a/b/c"] {
            assert_eq!(key_path(&node_key(p)).as_deref(), Some(p));
        }
    }

    #[test]
    fn node_records_round_trip_and_show_zookeeper_cversion() {
        let n = Node {
            stat: StatPersisted {
                czxid: 1,
                mzxid: 2,
                ctime: 3,
                mtime: 4,
                version: 5,
                cversion: 3,
                aversion: 7,
                ephemeral_owner: owner::CONTAINER,
                pzxid: 9,
            },
            num_children: 1,
            acl_id: 42,
            data: Some(b"hi".to_vec()),
        };
        assert_eq!(Node::decode(&n.encode()).unwrap(), n);
        let st = n.client_stat();
        assert_eq!((st.cversion, st.ephemeral_owner, st.data_length), (5, 0, 2));
        let null = Node { data: None, ..n };
        assert_eq!(Node::decode(&null.encode()).unwrap().data, None);
        assert!(Node::decode(b"junk").is_err());
    }
}
