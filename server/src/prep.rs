//! Preprocessing: a write request becomes a txn.
//!
//! This is where ZooKeeper's checks happen, in ZooKeeper's order, because the order
//! decides which error a client sees when several apply: a malformed ACL is reported
//! before a missing parent, a missing parent before a bad path (so `/missing/` answers
//! NONODE), and so on. A request that fails becomes an error txn: it still takes a zxid
//! and is logged, as in ZooKeeper.

use warren_proto::consts::{op, owner, perms};
use warren_proto::path;
use warren_proto::txn::{
    CheckVersionTxn, CreateContainerTxn, CreateSessionTxn, CreateTtlTxn, CreateTxn, DeleteTxn,
    ErrorTxn, SetAclTxn, SetDataTxn, Txn, TxnHeader,
};
use warren_proto::{
    consts::CreateMode, ErrorCode, PathRequest, PathVersionRequest, Request, SetAclRequest,
    SetDataRequest,
};

use crate::acl::{self, Identities};
use warren_tree::quota;
use warren_tree::{self as tree, apply_txn, Change, Outcome, OwnerKind, TreeError, View};

/// What the pipeline needs to know about the server to decide txns.
pub struct PrepContext<'a> {
    pub who: &'a Identities,
    pub session: i64,
    pub extended_types: bool,
    pub enforce_quota: bool,
    /// The server's own request (the reaper's deleteContainer), not a client's.
    pub from_server: bool,
}

/// A write as the pipeline receives it.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// A client's write request (create, delete, setData, setACL, multi, …).
    Client(Request),
    /// A new session with the negotiated timeout.
    CreateSession { timeout_ms: u32 },
    /// closeSession, from the client or from expiry.
    CloseSession,
    /// A request the server makes itself (the container and TTL reaper's
    /// deleteContainer): no session needs to be live for it.
    System(Request),
}

/// A decided txn, its effect on the view, and what it changed for watches.
pub struct Decided {
    pub txn: Txn,
    pub outcome: Outcome,
    pub changes: Vec<Change>,
}

/// Decides the txn for `op` against `view` and applies it there.
///
/// # Errors
/// Engine failures only; every ZooKeeper-level failure is an error txn.
pub fn decide(
    view: &mut View<'_>,
    hdr: &TxnHeader,
    ctx: &PrepContext<'_>,
    write: &WriteOp,
) -> Result<Decided, TreeError> {
    let mut changes = Vec::new();
    let txn = match write {
        WriteOp::CreateSession { timeout_ms } => Txn::CreateSession(CreateSessionTxn {
            time_out: *timeout_ms as i32,
        }),
        WriteOp::CloseSession => Txn::CloseSession(tree::session_ephemerals(view, ctx.session)?),
        WriteOp::Client(Request::Multi(ops)) => {
            return decide_multi(view, hdr, ctx, ops);
        }
        WriteOp::Client(req) | WriteOp::System(req) => match prep(view, ctx, req)? {
            Ok(t) => t,
            Err(code) => Txn::Error(ErrorTxn { err: code.0 }),
        },
    };
    let outcome = apply_txn(view, hdr, &txn, &mut changes)?;
    Ok(Decided {
        txn,
        outcome,
        changes,
    })
}

/// A multi: each op is decided against the effects of the ops before it; if one fails,
/// everything is undone and the txn records the ops up to the failure, the failure's
/// code, and RUNTIME_INCONSISTENCY for the rest.
fn decide_multi(
    view: &mut View<'_>,
    hdr: &TxnHeader,
    ctx: &PrepContext<'_>,
    ops: &[Request],
) -> Result<Decided, TreeError> {
    let mut txns = Vec::with_capacity(ops.len());
    let mut outcomes = Vec::with_capacity(ops.len());
    let mut changes = Vec::new();
    let mut failed = false;
    for req in ops {
        if failed {
            txns.push(Txn::Error(ErrorTxn {
                err: ErrorCode::RUNTIME_INCONSISTENCY.0,
            }));
            continue;
        }
        match prep(view, ctx, req)? {
            Ok(t) => {
                // Inside a multi, ZooKeeper logs a create2 as a create and answers it
                // with a plain create result.
                let t = match t {
                    Txn::Create2(c) => Txn::Create(c),
                    t => t,
                };
                let sub = TxnHeader {
                    txn_type: t.txn_type(),
                    ..hdr.clone()
                };
                outcomes.push(apply_txn(view, &sub, &t, &mut changes)?);
                txns.push(t);
            }
            Err(code) => {
                failed = true;
                txns.push(Txn::Error(ErrorTxn { err: code.0 }));
            }
        }
    }
    let txn = Txn::Multi(txns);
    if failed {
        view.discard();
        let mut none = Vec::new();
        let outcome = apply_txn(view, hdr, &txn, &mut none)?;
        return Ok(Decided {
            txn,
            outcome,
            changes: Vec::new(),
        });
    }
    Ok(Decided {
        txn,
        outcome: Outcome::Multi(outcomes),
        changes,
    })
}

type Prepped = Result<Txn, ErrorCode>;

/// The version check of every versioned write: −1 matches any version. Returns the next
/// version, which wraps like ZooKeeper's int.
fn check_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BAD_VERSION);
    }
    Ok(current.wrapping_add(1))
}

fn node_or_nonode(view: &View<'_>, p: &str) -> Result<Result<tree::Node, ErrorCode>, TreeError> {
    Ok(view.node(p)?.ok_or(ErrorCode::NO_NODE))
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(code) => return Ok(Err(code)),
        }
    };
}

fn valid_path(p: &str) -> Result<(), ErrorCode> {
    path::validate(p).map_err(|_| ErrorCode::BAD_ARGUMENTS)
}

/// ZooKeeper's special nodes, which no client may delete.
fn is_special(p: &str) -> bool {
    matches!(
        p,
        "/" | "/zookeeper" | "/zookeeper/quota" | "/zookeeper/config"
    )
}

fn prep(view: &View<'_>, ctx: &PrepContext<'_>, req: &Request) -> Result<Prepped, TreeError> {
    Ok(Ok(match req {
        Request::Create { op: create_op, req } => {
            let mode = if *create_op == op::CREATE_CONTAINER {
                Some(CreateMode::Container)
            } else {
                CreateMode::from_flag(req.flags)
            };
            tri!(prep_create(
                view, ctx, mode, &req.path, &req.data, &req.acl, 0, *create_op
            )?)
        }
        Request::CreateTtl(req) => tri!(prep_create(
            view,
            ctx,
            CreateMode::from_flag(req.flags),
            &req.path,
            &req.data,
            &req.acl,
            req.ttl,
            op::CREATE_TTL
        )?),
        Request::Delete(req) => return prep_delete(view, ctx, req),
        // deleteContainer skips the ACL checks of a delete: only the server's own reaper
        // may send it. From a client it is a bad argument, as ZooKeeper answers.
        Request::DeleteContainer(req) if ctx.from_server => {
            return prep_delete_container(view, req)
        }
        Request::DeleteContainer(_) => return Ok(Err(ErrorCode::BAD_ARGUMENTS)),
        Request::SetData(req) => return prep_set_data(view, ctx, req),
        Request::SetAcl(req) => return prep_set_acl(view, ctx, req),
        Request::Check(req) => return prep_check(view, ctx, req),
        _ => return Ok(Err(ErrorCode::UNIMPLEMENTED)),
    }))
}

fn prep_delete(
    view: &View<'_>,
    ctx: &PrepContext<'_>,
    req: &PathVersionRequest,
) -> Result<Prepped, TreeError> {
    let (p, version) = (req.path.clone(), req.version);
    let slash = p.rfind('/');
    if slash.is_none() || p.contains('\0') || is_special(&p) {
        return Ok(Err(ErrorCode::BAD_ARGUMENTS));
    }
    let node = tri!(node_or_nonode(view, &p)?);
    let parent = tri!(node_or_nonode(view, path::parent(&p))?);
    let parent_acl = view.acl(parent.acl_id)?;
    tri!(ctx.who.check(&parent_acl, perms::DELETE));
    tri!(check_version(node.stat.version, version));
    if node.num_children > 0 {
        return Ok(Err(ErrorCode::NOT_EMPTY));
    }
    Ok(Ok(Txn::Delete(DeleteTxn { path: p })))
}

/// The reaper's delete: no ACL or version check, but never an ephemeral.
fn prep_delete_container(view: &View<'_>, req: &PathRequest) -> Result<Prepped, TreeError> {
    if req.path.rfind('/').is_none() || is_special(&req.path) {
        return Ok(Err(ErrorCode::BAD_ARGUMENTS));
    }
    let node = tri!(node_or_nonode(view, &req.path)?);
    if node.num_children > 0 {
        return Ok(Err(ErrorCode::NOT_EMPTY));
    }
    if tree::owner_kind(node.stat.ephemeral_owner) == OwnerKind::Ephemeral {
        return Ok(Err(ErrorCode::BAD_VERSION));
    }
    Ok(Ok(Txn::DeleteContainer(DeleteTxn {
        path: req.path.clone(),
    })))
}

fn prep_set_data(
    view: &View<'_>,
    ctx: &PrepContext<'_>,
    req: &SetDataRequest,
) -> Result<Prepped, TreeError> {
    tri!(valid_path(&req.path));
    let node = tri!(node_or_nonode(view, &req.path)?);
    tri!(ctx.who.check(&view.acl(node.acl_id)?, perms::WRITE));
    let old = node.data.as_ref().map_or(0, Vec::len) as i64;
    let new = req.data.as_ref().map_or(0, Vec::len) as i64;
    if ctx.enforce_quota && quota::exceeds_hard_limit(view, &req.path, 0, new - old)? {
        return Ok(Err(ErrorCode::QUOTA_EXCEEDED));
    }
    let version = tri!(check_version(node.stat.version, req.version));
    Ok(Ok(Txn::SetData(SetDataTxn {
        path: req.path.clone(),
        data: req.data.clone(),
        version,
    })))
}

fn prep_set_acl(
    view: &View<'_>,
    ctx: &PrepContext<'_>,
    req: &SetAclRequest,
) -> Result<Prepped, TreeError> {
    tri!(valid_path(&req.path));
    let acl = tri!(acl::fixup(&req.acl, ctx.who));
    let node = tri!(node_or_nonode(view, &req.path)?);
    tri!(ctx.who.check(&view.acl(node.acl_id)?, perms::ADMIN));
    let version = tri!(check_version(node.stat.aversion, req.version));
    Ok(Ok(Txn::SetAcl(SetAclTxn {
        path: req.path.clone(),
        acl: acl.into(),
        version,
    })))
}

fn prep_check(
    view: &View<'_>,
    ctx: &PrepContext<'_>,
    req: &PathVersionRequest,
) -> Result<Prepped, TreeError> {
    tri!(valid_path(&req.path));
    let node = tri!(node_or_nonode(view, &req.path)?);
    tri!(ctx.who.check(&view.acl(node.acl_id)?, perms::READ));
    let version = tri!(check_version(node.stat.version, req.version));
    Ok(Ok(Txn::Check(CheckVersionTxn {
        path: req.path.clone(),
        version,
    })))
}

#[allow(clippy::too_many_arguments)]
fn prep_create(
    view: &View<'_>,
    ctx: &PrepContext<'_>,
    mode: Option<CreateMode>,
    req_path: &str,
    data: &warren_proto::Data,
    req_acl: &[warren_proto::Acl],
    ttl: i64,
    create_op: i32,
) -> Result<Prepped, TreeError> {
    let mode = tri!(check_mode(ctx, mode, ttl, create_op));
    let slash = req_path.rfind('/');
    if slash.is_none() || req_path.contains('\0') {
        return Ok(Err(ErrorCode::BAD_ARGUMENTS));
    }
    let acl = tri!(acl::fixup(req_acl, ctx.who));
    let parent_path = &req_path[..slash.unwrap_or(0)];
    let parent_path = if parent_path.is_empty() {
        "/"
    } else {
        parent_path
    };
    let parent = tri!(node_or_nonode(view, parent_path)?);
    tri!(ctx.who.check(&view.acl(parent.acl_id)?, perms::CREATE));
    let parent_cversion = parent.stat.cversion;
    let p = if mode.is_sequential() {
        format!("{req_path}{parent_cversion:010}")
    } else {
        req_path.to_owned()
    };
    tri!(valid_path(&p));
    if view.node(&p)?.is_some() {
        return Ok(Err(ErrorCode::NODE_EXISTS));
    }
    if tree::owner_kind(parent.stat.ephemeral_owner) == OwnerKind::Ephemeral {
        return Ok(Err(ErrorCode::NO_CHILDREN_FOR_EPHEMERALS));
    }
    let len = data.as_ref().map_or(0, Vec::len) as i64;
    if ctx.enforce_quota && quota::exceeds_hard_limit(view, &p, 1, len)? {
        return Ok(Err(ErrorCode::QUOTA_EXCEEDED));
    }
    let txn = create_txn(
        mode,
        create_op,
        p,
        data.clone(),
        acl.into(),
        parent_cversion.wrapping_add(1),
        ttl,
    );
    Ok(Ok(txn))
}

/// The create mode, checked: TTL modes need extendedTypesEnabled, and a TTL must be
/// given exactly for TTL modes and lie in (0, 2^40 − 1].
fn check_mode(
    ctx: &PrepContext<'_>,
    mode: Option<CreateMode>,
    ttl: i64,
    create_op: i32,
) -> Result<CreateMode, ErrorCode> {
    let Some(mode) = mode else {
        return Err(ErrorCode::BAD_ARGUMENTS);
    };
    if mode.is_ttl() && !ctx.extended_types {
        return Err(ErrorCode::UNIMPLEMENTED);
    }
    let ttl_ok = if mode.is_ttl() {
        ttl > 0 && ttl <= owner::MAX_TTL
    } else {
        create_op != op::CREATE_TTL || ttl == 0
    };
    if !ttl_ok || (create_op == op::CREATE_TTL && !mode.is_ttl()) {
        return Err(ErrorCode::BAD_ARGUMENTS);
    }
    Ok(mode)
}

/// The txn a checked create logs: its type follows the mode and the opcode.
fn create_txn(
    mode: CreateMode,
    create_op: i32,
    path: String,
    data: warren_proto::Data,
    acl: warren_proto::JVec<warren_proto::Acl>,
    new_cversion: i32,
    ttl: i64,
) -> Txn {
    match mode {
        CreateMode::Container => Txn::CreateContainer(CreateContainerTxn {
            path,
            data,
            acl,
            parent_cversion: new_cversion,
        }),
        m if m.is_ttl() => Txn::CreateTtl(CreateTtlTxn {
            path,
            data,
            acl,
            parent_cversion: new_cversion,
            ttl,
        }),
        m => {
            let t = CreateTxn {
                path,
                data,
                acl,
                ephemeral: m.is_ephemeral(),
                parent_cversion: new_cversion,
            };
            if create_op == op::CREATE {
                Txn::Create(t)
            } else {
                Txn::Create2(t)
            }
        }
    }
}
