//! What each txn does to the tree: the one definition, used by the live pipeline, by
//! recovery and by the tools.
//!
//! [`apply_txn`] turns a txn into changes on a [`View`]. The pipeline runs it while
//! deciding a txn (on a view with the overlay of earlier, uncommitted txns), and
//! [`apply_committed`] runs it once the txn is committed, against the engine alone, and
//! writes the result as one batch stamped with the txn's zxid. Recovery and the tools
//! call [`apply_committed`] too, so a replayed txn does exactly what it did live.

use warren_engine::Engine;
use warren_proto::consts::{event, op, owner};
use warren_proto::txn::{LoggedTxn, SetAclTxn, SetDataTxn, Txn, TxnHeader};
use warren_proto::{Acl, Data, ErrorCode, Stat, StatPersisted};

use crate::keys::{
    ephemeral_key, ephemeral_prefix, node_key, reap_key, session_key, session_value,
};
use crate::node::{owner_kind, Node, OwnerKind};
use crate::view::{write_changes, View};
use crate::{quota, TreeError, Writes};

/// A change a watch may be waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub event_type: i32,
    pub path: String,
    /// The ACL (by id) a watcher must have READ in to be told of the change, as
    /// ZooKeeper checks since 3.8.4 (CVE-2024-23944): the node's own for created, deleted
    /// and data-changed, the parent's for children-changed. ACL ids name their content,
    /// so the list can be looked up later, only when some connection watches.
    pub acl_id: u64,
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
            let new = NewNode::of(&t.path, &t.data, &t.acl.0, t.parent_cversion, o);
            create(view, hdr, txn.txn_type(), &new, changes)?
        }
        Txn::CreateContainer(t) => {
            let new = NewNode::of(
                &t.path,
                &t.data,
                &t.acl.0,
                t.parent_cversion,
                owner::CONTAINER,
            );
            create(view, hdr, op::CREATE_CONTAINER, &new, changes)?
        }
        Txn::CreateTtl(t) => {
            let o = owner::TTL_MASK | (t.ttl & owner::MAX_TTL);
            let new = NewNode::of(&t.path, &t.data, &t.acl.0, t.parent_cversion, o);
            create(view, hdr, op::CREATE_TTL, &new, changes)?
        }
        Txn::Delete(t) | Txn::DeleteContainer(t) => delete(view, zxid, &t.path, changes)?,
        Txn::SetData(t) => set_data(view, hdr, t, changes)?,
        Txn::SetAcl(t) => set_acl(view, t)?,
        Txn::Check(_) => Outcome::Checked,
        Txn::Error(e) => Outcome::Failed(ErrorCode(e.err)),
        Txn::CreateSession(t) => {
            view.put(session_key(hdr.client_id), session_value(t.time_out, zxid));
            Outcome::SessionCreated
        }
        Txn::CloseSession(paths) => close_session(view, hdr, paths, changes)?,
        Txn::Multi(txns) => multi(view, hdr, txns, changes)?,
    })
}

fn set_data(
    view: &mut View<'_>,
    hdr: &TxnHeader,
    t: &SetDataTxn,
    changes: &mut Vec<Change>,
) -> Result<Outcome, TreeError> {
    let zxid = hdr.zxid;
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
        acl_id: n.acl_id,
    });
    Ok(Outcome::DataSet {
        stat: n.client_stat(),
    })
}

fn set_acl(view: &mut View<'_>, t: &SetAclTxn) -> Result<Outcome, TreeError> {
    let Some(mut n) = view.node(&t.path)? else {
        return Ok(Outcome::Failed(ErrorCode::NO_NODE));
    };
    n.acl_id = view.intern_acl(&t.acl)?;
    n.stat.aversion = t.version;
    view.put_node(&t.path, &n);
    Ok(Outcome::AclSet {
        stat: n.client_stat(),
    })
}

/// closeSession deletes the session's ephemerals, then the session.
fn close_session(
    view: &mut View<'_>,
    hdr: &TxnHeader,
    paths: &[String],
    changes: &mut Vec<Change>,
) -> Result<Outcome, TreeError> {
    // Older logs carry no paths: the ephemeral index knows them.
    let mut paths = paths.to_vec();
    if paths.is_empty() {
        paths = session_ephemerals(view, hdr.client_id)?;
    }
    for p in &paths {
        delete(view, hdr.zxid, p, changes)?;
    }
    view.delete(session_key(hdr.client_id));
    Ok(Outcome::SessionClosed)
}

/// A multi applies all its ops, or (when its txn records a failure) none.
fn multi(
    view: &mut View<'_>,
    hdr: &TxnHeader,
    txns: &[Txn],
    changes: &mut Vec<Change>,
) -> Result<Outcome, TreeError> {
    let failed = txns.iter().any(|t| matches!(t, Txn::Error(_)));
    if failed {
        // ZooKeeper turns every op into an error: those before the failure
        // report OK (rolled back), the rest keep their recorded code.
        return Ok(Outcome::Multi(
            txns.iter()
                .map(|t| match t {
                    Txn::Error(e) => Outcome::Failed(ErrorCode(e.err)),
                    _ => Outcome::Failed(ErrorCode::OK),
                })
                .collect(),
        ));
    }
    let mut out = Vec::with_capacity(txns.len());
    for t in txns {
        let sub = TxnHeader {
            txn_type: t.txn_type(),
            ..hdr.clone()
        };
        out.push(apply_txn(view, &sub, t, changes)?);
    }
    Ok(Outcome::Multi(out))
}

/// What every kind of create (plain, ephemeral, sequential, container, TTL) records: the
/// node, and the owner marker that says which kind it is.
struct NewNode<'a> {
    path: &'a str,
    data: &'a Data,
    acl: &'a [Acl],
    parent_cversion: i32,
    ephemeral_owner: i64,
}

impl<'a> NewNode<'a> {
    fn of(
        path: &'a str,
        data: &'a Data,
        acl: &'a [Acl],
        parent_cversion: i32,
        ephemeral_owner: i64,
    ) -> NewNode<'a> {
        NewNode {
            path,
            data,
            acl,
            parent_cversion,
            ephemeral_owner,
        }
    }
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
    t: &NewNode<'_>,
    changes: &mut Vec<Change>,
) -> Result<Outcome, TreeError> {
    let ephemeral_owner = t.ephemeral_owner;
    let zxid = hdr.zxid;
    let parent_path = warren_proto::path::parent(t.path);
    let Some(mut parent) = view.node(parent_path)? else {
        return Ok(Outcome::Failed(ErrorCode::NO_NODE));
    };
    if view.node(t.path)?.is_some() {
        return Ok(Outcome::Failed(ErrorCode::NODE_EXISTS));
    }
    let acl_id = view.intern_acl(t.acl)?;
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
    quota::on_quota_node(view, t.path, true, Some(&mut node))?;
    quota::account(
        view,
        t.path,
        1,
        node.data.as_ref().map_or(0, Vec::len) as i64,
    )?;
    view.put_node(t.path, &node);
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
        OwnerKind::Ephemeral => {
            view.add_ephemerals(1)?;
            view.put(ephemeral_key(ephemeral_owner, t.path), Vec::new());
        }
        OwnerKind::Container | OwnerKind::Ttl(_) => view.put(reap_key(t.path), Vec::new()),
        OwnerKind::Persistent => {}
    }
    changes.push(Change {
        event_type: event::NODE_CREATED,
        path: t.path.to_owned(),
        acl_id,
    });
    changes.push(Change {
        event_type: event::NODE_CHILDREN_CHANGED,
        path: parent_path.to_owned(),
        acl_id: parent.acl_id,
    });
    Ok(Outcome::Created {
        op: create_op,
        path: t.path.to_owned(),
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
        OwnerKind::Ephemeral => {
            view.add_ephemerals(-1)?;
            view.delete(ephemeral_key(node.stat.ephemeral_owner, path));
        }
        OwnerKind::Container | OwnerKind::Ttl(_) => view.delete(reap_key(path)),
        OwnerKind::Persistent => {}
    }
    // A parent is always there; were it missing, the node's own ACL guards the event.
    let mut parent_acl_id = node.acl_id;
    if let Some(mut parent) = view.node(parent_path)? {
        parent.num_children -= 1;
        if zxid > parent.stat.pzxid {
            parent.stat.pzxid = zxid;
        }
        parent_acl_id = parent.acl_id;
        view.put_node(parent_path, &parent);
    }
    changes.push(Change {
        event_type: event::NODE_DELETED,
        path: path.to_owned(),
        acl_id: node.acl_id,
    });
    changes.push(Change {
        event_type: event::NODE_CHILDREN_CHANGED,
        path: parent_path.to_owned(),
        acl_id: parent_acl_id,
    });
    Ok(Outcome::Deleted)
}

/// What applying a committed txn did: the reply's outcome, the watch events, and the
/// engine writes (already written by [`apply_committed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub outcome: Outcome,
    pub events: Vec<Change>,
    pub writes: Writes,
}

/// Computes what a committed txn does to the engine's applied state, without writing it.
///
/// # Errors
/// Engine failures and corrupt records.
pub fn compute(engine: &Engine, txn: &LoggedTxn) -> Result<Applied, TreeError> {
    let mut view = View::new(engine, None);
    let mut events = Vec::new();
    let outcome = apply_txn(&mut view, &txn.header, &txn.txn, &mut events)?;
    Ok(Applied {
        outcome,
        events,
        writes: view.take_changes(),
    })
}

/// Applies a committed txn to the engine: [`compute`], then one atomic batch stamped
/// with the txn's zxid (nothing is written when the txn changes nothing).
///
/// # Errors
/// Engine failures and corrupt records.
pub fn apply_committed(engine: &Engine, txn: &LoggedTxn) -> Result<Applied, TreeError> {
    let applied = compute(engine, txn)?;
    if !applied.writes.is_empty() {
        write_changes(engine, txn.header.zxid, &applied.writes)?;
    }
    Ok(applied)
}
