//! `snapshot diff`: what changed in a Warren data dir's tree between two zxids, read from
//! the engine's versions (both zxids must be within retention): nodes created, deleted, and
//! changed (data, stat fields, ACL), one line each in path order, then the sessions opened
//! and closed, then a summary; or one JSON object per line with `--json`.
//!
//! Both states are read by one merge of two ordered scans over the node key space, so only
//! the differences are held in memory.

use std::cmp::Ordering;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use warren_engine::ReadSeq;
use warren_tree::{key_path, Node, NODES};

use warren_datadir::DataDir;

use crate::datadir::TreeAt;
use crate::error::ToolError;

/// What `snapshot diff` compares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffOptions {
    /// The older zxid.
    pub from_zxid: u64,
    /// The newer zxid.
    pub to_zxid: u64,
    /// JSON lines instead of text.
    pub json: bool,
    /// The dataLogDir, when the wal is not under the data dir.
    pub log_dir: Option<PathBuf>,
    /// How many txns of history the engine keeps.
    pub retention_txns: u64,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeChange {
    /// The node exists at `to` only.
    Created { path: String, czxid: i64 },
    /// The node exists at `from` only.
    Deleted { path: String },
    /// The node exists at both, with these fields different (`name`, old, new).
    Changed {
        path: String,
        fields: Vec<(&'static str, String, String)>,
    },
}

impl NodeChange {
    fn path(&self) -> &str {
        match self {
            NodeChange::Created { path, .. }
            | NodeChange::Deleted { path }
            | NodeChange::Changed { path, .. } => path,
        }
    }
}

/// Field-by-field differences of two versions of a node.
pub fn node_fields(a: &Node, b: &Node) -> Vec<(&'static str, String, String)> {
    let mut f = Vec::new();
    let mut cmp = |name: &'static str, x: String, y: String| {
        if x != y {
            f.push((name, x, y));
        }
    };
    let len = |n: &Node| n.data.as_ref().map_or(-1, |d| d.len() as i64);
    if a.data != b.data {
        f_data(&mut cmp, len(a), len(b));
    }
    let (s, t) = (&a.stat, &b.stat);
    cmp(
        "czxid",
        format!("{:#x}", s.czxid),
        format!("{:#x}", t.czxid),
    );
    cmp(
        "mzxid",
        format!("{:#x}", s.mzxid),
        format!("{:#x}", t.mzxid),
    );
    cmp("ctime", s.ctime.to_string(), t.ctime.to_string());
    cmp("mtime", s.mtime.to_string(), t.mtime.to_string());
    cmp(
        "pzxid",
        format!("{:#x}", s.pzxid),
        format!("{:#x}", t.pzxid),
    );
    cmp("cversion", s.cversion.to_string(), t.cversion.to_string());
    cmp("dataVersion", s.version.to_string(), t.version.to_string());
    cmp("aclVersion", s.aversion.to_string(), t.aversion.to_string());
    cmp(
        "ephemeralOwner",
        format!("{:#x}", s.ephemeral_owner),
        format!("{:#x}", t.ephemeral_owner),
    );
    cmp(
        "numChildren",
        a.num_children.to_string(),
        b.num_children.to_string(),
    );
    cmp(
        "acl",
        format!("{:#x}", a.acl_id),
        format!("{:#x}", b.acl_id),
    );
    f
}

fn f_data(cmp: &mut impl FnMut(&'static str, String, String), a: i64, b: i64) {
    // Same length, other bytes: still a change, shown with the lengths.
    let show = |l: i64| {
        if l < 0 {
            "null".to_owned()
        } else {
            format!("{l} bytes")
        }
    };
    let (x, y) = (show(a), show(b));
    if x == y {
        cmp("data", format!("{x} (old)"), format!("{y} (new)"));
    } else {
        cmp("data", x, y);
    }
}

/// The node differences between two zxids of an open engine, in path order.
///
/// # Errors
/// Engine failures, undecodable records, zxids outside what the engine holds.
pub fn diff_nodes(from: &TreeAt<'_>, to: &TreeAt<'_>) -> Result<Vec<NodeChange>, ToolError> {
    let err = |e| ToolError::engine(from.dir, e);
    let dec = |k: &[u8], v: &[u8]| {
        Node::decode(v).map_err(|e| {
            ToolError::corrupt(
                from.dir,
                0,
                format!("record under key {:?}: {e}", String::from_utf8_lossy(k)),
            )
        })
    };
    let mut a = from
        .engine
        .scan_prefix(&[NODES], ReadSeq::At(from.zxid))
        .map_err(err)?;
    let mut b = to
        .engine
        .scan_prefix(&[NODES], ReadSeq::At(to.zxid))
        .map_err(err)?;
    let next = |it: &mut warren_engine::EngineIter| it.next().transpose().map_err(err);
    let mut x = next(&mut a)?;
    let mut y = next(&mut b)?;
    let mut out = Vec::new();
    let path_of = |k: &[u8]| key_path(k).unwrap_or_else(|| String::from_utf8_lossy(k).into_owned());
    loop {
        let ord = match (&x, &y) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((ka, _)), Some((kb, _))) => ka.cmp(kb),
        };
        match ord {
            Ordering::Less => {
                if let Some((k, _)) = &x {
                    out.push(NodeChange::Deleted { path: path_of(k) });
                }
                x = next(&mut a)?;
            }
            Ordering::Greater => {
                if let Some((k, v)) = &y {
                    let n = dec(k, v)?;
                    out.push(NodeChange::Created {
                        path: path_of(k),
                        czxid: n.stat.czxid,
                    });
                }
                y = next(&mut b)?;
            }
            Ordering::Equal => {
                if let (Some((k, va)), Some((_, vb))) = (&x, &y) {
                    if va != vb {
                        let fields = node_fields(&dec(k, va)?, &dec(k, vb)?);
                        out.push(NodeChange::Changed {
                            path: path_of(k),
                            fields,
                        });
                    }
                }
                x = next(&mut a)?;
                y = next(&mut b)?;
            }
        }
    }
    out.sort_by(|p, q| p.path().cmp(q.path()));
    Ok(out)
}

/// Prints the differences between `--from-zxid` and `--to-zxid` of the data dir `dir`.
///
/// # Errors
/// As [`diff_nodes`]; [`ToolError::Usage`] when `dir` is not a data dir;
/// [`ToolError::Output`].
pub fn diff(dir: &Path, opts: &DiffOptions, out: &mut dyn Write) -> Result<(), ToolError> {
    let dd = DataDir::locate(dir, opts.log_dir.as_deref())?;
    let engine = dd.open_read(opts.retention_txns)?;
    let from = TreeAt::new(&engine, &dd.engine_dir, Some(opts.from_zxid))?;
    let to = TreeAt::new(&engine, &dd.engine_dir, Some(opts.to_zxid))?;
    let changes = diff_nodes(&from, &to)?;
    let sa = from.sessions()?;
    let sb = to.sessions()?;
    let opened = sessions_only_in(&sb, &sa);
    let closed = sessions_only_in(&sa, &sb);
    let (c, d, m) = print_changes(&changes, opts.json, out)?;
    print_sessions(&opened, &closed, opts.json, out)?;
    if !opts.json {
        w(
            out,
            format!(
                "{c} created, {d} deleted, {m} changed, {} session(s) opened, {} closed between zxid {:#x} and {:#x}\n",
                opened.len(),
                closed.len(),
                opts.from_zxid,
                opts.to_zxid
            ),
        )?;
    }
    Ok(())
}

fn w(out: &mut dyn Write, s: String) -> Result<(), ToolError> {
    out.write_all(s.as_bytes()).map_err(ToolError::Output)
}

/// The ids of the sessions (id, timeout) of `these` that `others` lacks, in `these`' order.
fn sessions_only_in(these: &[(i64, i32)], others: &[(i64, i32)]) -> Vec<i64> {
    these
        .iter()
        .filter(|s| !others.iter().any(|t| t.0 == s.0))
        .map(|s| s.0)
        .collect()
}

/// Prints each node change, as text or JSON; returns how many were created, deleted and
/// changed, for the summary.
fn print_changes(
    changes: &[NodeChange],
    json: bool,
    out: &mut dyn Write,
) -> Result<(usize, usize, usize), ToolError> {
    let (mut c, mut d, mut m) = (0usize, 0usize, 0usize);
    for ch in changes {
        match ch {
            NodeChange::Created { .. } => c += 1,
            NodeChange::Deleted { .. } => d += 1,
            NodeChange::Changed { .. } => m += 1,
        }
        let (line, v) = change_line(ch);
        if json {
            w(out, format!("{v}\n"))?;
        } else {
            w(out, line)?;
        }
    }
    Ok((c, d, m))
}

/// One change as its text line and as its JSON object.
fn change_line(ch: &NodeChange) -> (String, Value) {
    match ch {
        NodeChange::Created { path, czxid } => (
            format!("created {path} (czxid {czxid:#x})\n"),
            json!({"change": "created", "path": path, "czxid": format!("{czxid:#x}")}),
        ),
        NodeChange::Deleted { path } => (
            format!("deleted {path}\n"),
            json!({"change": "deleted", "path": path}),
        ),
        NodeChange::Changed { path, fields } => {
            let text: Vec<String> = fields
                .iter()
                .map(|(n, a, b)| format!("{n} {a} -> {b}"))
                .collect();
            let obj: serde_json::Map<String, Value> = fields
                .iter()
                .map(|(n, a, b)| ((*n).to_owned(), json!({"from": a, "to": b})))
                .collect();
            (
                format!("changed {path}: {}\n", text.join(", ")),
                json!({"change": "changed", "path": path, "fields": obj}),
            )
        }
    }
}

/// The sessions opened, then those closed, one line or object each.
fn print_sessions(
    opened: &[i64],
    closed: &[i64],
    json: bool,
    out: &mut dyn Write,
) -> Result<(), ToolError> {
    for (what, ids) in [("opened", opened), ("closed", closed)] {
        for id in ids {
            if json {
                w(
                    out,
                    format!("{}\n", json!({"session": what, "id": format!("{id:#x}")})),
                )?;
            } else {
                w(out, format!("session {id:#x} {what}\n"))?;
            }
        }
    }
    Ok(())
}
