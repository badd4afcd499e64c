//! `snapshot dump`: prints a ZooKeeper snapshot the way ZooKeeper 3.8's SnapshotFormatter
//! does: every znode's stat (or, with `-d`, its data in base64), then the sessions and the
//! last zxid; or, with `--json`, the ncdu-style nested JSON tree it writes with `-json`.
//! [`dump_warren`] prints a Warren data dir's tree as of any zxid in the same layout.

use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;

use std::collections::HashMap;

use warren_datadir::DataDir;

use crate::datadir::TreeAt;
use crate::error::ToolError;
use crate::java::{date_to_string, hash_iteration_order, long_hash, string_hash};
use crate::zklog::zxid_from_name;
use crate::zksnap::{Seal, ZkSnapshot};

/// What `snapshot dump` prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotDumpOptions {
    /// Print each znode's data in base64 instead of its length.
    pub data: bool,
    /// Print the JSON tree instead of the text.
    pub json: bool,
}

/// Dumps the snapshot at `path` to `out`. A checksum that does not match is reported on
/// `warn` (ZooKeeper's formatter does not check it at all).
///
/// # Errors
/// Any error of [`ZkSnapshot::open`]; [`ToolError::Output`] when writing fails.
pub fn dump(
    path: &Path,
    opts: SnapshotDumpOptions,
    out: &mut dyn Write,
    warn: &mut dyn Write,
) -> Result<(), ToolError> {
    let snap = ZkSnapshot::open(path)?;
    if let Seal::Mismatch {
        offset,
        stored,
        computed,
    } = snap.seal
    {
        let _ = writeln!(
            warn,
            "warning: {}: offset {offset} (uncompressed): checksum mismatch (stored {stored:#x}, computed {computed:#x})",
            path.display()
        );
    }
    let text = if opts.json {
        json_tree(&snap)
    } else {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        details(
            &snap,
            opts.data,
            zxid_from_name(name, "snapshot").unwrap_or(-1),
        )
    };
    out.write_all(text.as_bytes()).map_err(ToolError::Output)
}

fn hex16(v: i64) -> String {
    // Java's `%#016x`: "0x" and at least 14 digits.
    format!("{v:#016x}")
}

/// The text layout: znodes, sessions, last zxid. `file_zxid` is the zxid in the file name
/// (−1 if none); the last zxid printed is the larger of it and the tree's newest zxid.
pub fn details(snap: &ZkSnapshot, with_data: bool, file_zxid: i64) -> String {
    let mut s = String::new();
    // ZooKeeper counts the root twice (under "" and "/").
    s.push_str(&format!(
        "ZNode Details (count={}):\n",
        snap.nodes.len() + 1
    ));
    let mut tree_zxid = i64::MIN;
    for i in snap.preorder() {
        let n = &snap.nodes[i];
        let st = &n.stat;
        s.push_str(&node_block(&n.path, st, n.data.as_deref(), with_data));
        tree_zxid = tree_zxid.max(st.mzxid).max(st.pzxid);
    }
    s.push_str("----\n");
    s.push_str("Session Details (sid, timeout, ephemeralCount):\n");
    let eph = snap.ephemeral_counts();
    for (sid, timeout) in snap.sessions_in_java_order() {
        s.push_str(&format!(
            "{}, {timeout}, {}\n",
            hex16(sid),
            eph.get(&sid).copied().unwrap_or(0)
        ));
    }
    s.push_str(&format!(
        "----\nLast zxid: 0x{:x}\n",
        file_zxid.max(tree_zxid)
    ));
    s
}

/// Jackson's `quoteAsString`: JSON string escaping without the quotes.
fn quote(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            '\u{8}' => o.push_str("\\b"),
            '\u{c}' => o.push_str("\\f"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04X}", c as u32)),
            c => o.push(c),
        }
    }
    o
}

/// The `-json` layout: `[1,0,{header}`, then for each node `,` and either `{node}` or, when
/// it has children, `[{node},children…]`; inode numbers count from 1001 in print order.
pub fn json_tree(snap: &ZkSnapshot) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut s = format!(
        "[1,0,{{\"progname\":\"SnapshotFormatter.java\",\"progver\":\"0.01\",\"timestamp\":{now}}}"
    );
    let mut ino = 1000u64;
    // Iterative pre-order, closing brackets after the last child.
    enum Step {
        Node(usize),
        Close,
    }
    let mut stack = vec![Step::Node(0)];
    while let Some(step) = stack.pop() {
        let i = match step {
            Step::Close => {
                s.push(']');
                continue;
            }
            Step::Node(i) => i,
        };
        let n = &snap.nodes[i];
        let len = n.data.as_ref().map_or(0, Vec::len);
        ino += 1;
        let node = format!(
            "{{\"name\":\"{}\",\"asize\":{len},\"dsize\":{len},\"dev\":0,\"ino\":{ino}}}",
            quote(&n.name)
        );
        s.push(',');
        if n.children.is_empty() {
            s.push_str(&node);
        } else {
            s.push('[');
            s.push_str(&node);
            stack.push(Step::Close);
            stack.extend(n.children.iter().rev().map(|&c| Step::Node(c)));
        }
    }
    s.push(']');
    s
}

/// What `snapshot dump` reads from a Warren data dir.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WarrenDumpOptions {
    /// Print each znode's data in base64 instead of its length.
    pub data: bool,
    /// Print the JSON tree instead of the text.
    pub json: bool,
    /// The zxid to show the tree at (default: the latest).
    pub at_zxid: Option<u64>,
    /// The dataLogDir, when the wal is not under the data dir.
    pub log_dir: Option<std::path::PathBuf>,
    /// How many txns of history the engine keeps (see [`crate::datadir`]).
    pub retention_txns: u64,
}

/// Children of `path` at the dump's zxid, in the order ZooKeeper's tools list siblings
/// (Java `HashSet` order of the names).
fn ordered_children(
    t: &TreeAt<'_>,
    path: &str,
) -> Result<Vec<(String, warren_tree::Node)>, ToolError> {
    let kids = t.children(path)?;
    if kids.len() < 2 {
        return Ok(kids);
    }
    let hashes: Vec<i32> = kids.iter().map(|(n, _)| string_hash(n)).collect();
    let order = hash_iteration_order(&hashes, 8);
    let mut slots: Vec<Option<(String, warren_tree::Node)>> = kids.into_iter().map(Some).collect();
    Ok(order.iter().filter_map(|&i| slots[i].take()).collect())
}

fn child_path(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

fn node_text(path: &str, n: &warren_tree::Node, with_data: bool) -> String {
    node_block(path, &n.stat, n.data.as_deref(), with_data)
}

/// One node's block in SnapshotFormatter's layout (the stored cversion, as it prints).
fn node_block(
    path: &str,
    st: &warren_proto::StatPersisted,
    data: Option<&[u8]>,
    with_data: bool,
) -> String {
    let mut s = format!("----\n{path}\n");
    s.push_str(&format!("  cZxid = {}\n", hex16(st.czxid)));
    s.push_str(&format!("  ctime = {}\n", date_to_string(st.ctime)));
    s.push_str(&format!("  mZxid = {}\n", hex16(st.mzxid)));
    s.push_str(&format!("  mtime = {}\n", date_to_string(st.mtime)));
    s.push_str(&format!("  pZxid = {}\n", hex16(st.pzxid)));
    s.push_str(&format!("  cversion = {}\n", st.cversion));
    s.push_str(&format!("  dataVersion = {}\n", st.version));
    s.push_str(&format!("  aclVersion = {}\n", st.aversion));
    s.push_str(&format!(
        "  ephemeralOwner = {}\n",
        hex16(st.ephemeral_owner)
    ));
    if with_data {
        let b64 = data
            .map(|d| base64::engine::general_purpose::STANDARD.encode(d))
            .unwrap_or_default();
        s.push_str(&format!("  data = {b64}\n"));
    } else {
        s.push_str(&format!("  dataLength = {}\n", data.map_or(0, <[u8]>::len)));
    }
    s
}

/// Dumps the tree of a Warren data dir as of a zxid in SnapshotFormatter's layout (stat
/// lines with the stored cversion, as the formatter prints a snapshot), the sessions with
/// their ephemeral counts, and `Last zxid:` = the zxid shown; or the `-json` tree. The
/// tree is walked one sibling list at a time, so memory does not grow with its size.
///
/// # Errors
/// [`ToolError::Usage`] when `dir` is not a data dir, [`ToolError::TooOld`] /
/// [`ToolError::TooNew`] for a zxid outside what the engine holds, engine and wal errors
/// (naming file and offset), [`ToolError::Output`].
pub fn dump_warren(
    dir: &Path,
    opts: &WarrenDumpOptions,
    out: &mut dyn Write,
) -> Result<(), ToolError> {
    let dd = DataDir::locate(dir, opts.log_dir.as_deref())?;
    let engine = dd.open_read(opts.retention_txns)?;
    let t = TreeAt::new(&engine, &dd.engine_dir, opts.at_zxid)?;
    let root = t
        .node("/")?
        .ok_or_else(|| ToolError::corrupt(&dd.engine_dir, 0, "the tree has no root node"))?;
    let bar = indicatif::ProgressBar::new(u64::try_from(t.node_count()?).unwrap_or(0));
    if opts.json {
        return warren_json_tree(&t, root, &bar, out);
    }
    w(
        out,
        &format!("ZNode Details (count={}):\n", t.node_count()? + 1),
    )?;
    let ephemerals = warren_node_blocks(&t, root, opts.data, &bar, out)?;
    bar.finish_and_clear();
    w(
        out,
        "----\nSession Details (sid, timeout, ephemeralCount):\n",
    )?;
    warren_sessions(&t, &ephemerals, out)?;
    w(out, &format!("----\nLast zxid: 0x{:x}\n", t.zxid))
}

fn w(out: &mut dyn Write, s: &str) -> Result<(), ToolError> {
    out.write_all(s.as_bytes()).map_err(ToolError::Output)
}

/// [`json_tree`]'s layout for a Warren tree, written as it is walked: a node's children
/// are read when it is reached, and its closing bracket waits on the stack behind them.
fn warren_json_tree(
    t: &TreeAt<'_>,
    root: warren_tree::Node,
    bar: &indicatif::ProgressBar,
    out: &mut dyn Write,
) -> Result<(), ToolError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    w(
        out,
        &format!(
            "[1,0,{{\"progname\":\"SnapshotFormatter.java\",\"progver\":\"0.01\",\"timestamp\":{now}}}"
        ),
    )?;
    enum Step {
        Node(String, String, warren_tree::Node),
        Close,
    }
    let mut ino = 1000u64;
    let mut stack = vec![Step::Node("/".into(), "/".into(), root)];
    while let Some(step) = stack.pop() {
        let (path, name, n) = match step {
            Step::Close => {
                w(out, "]")?;
                continue;
            }
            Step::Node(p, name, n) => (p, name, n),
        };
        bar.inc(1);
        let len = n.data.as_ref().map_or(0, Vec::len);
        ino += 1;
        let node = format!(
            "{{\"name\":\"{}\",\"asize\":{len},\"dsize\":{len},\"dev\":0,\"ino\":{ino}}}",
            quote(&name)
        );
        let kids = if n.num_children > 0 {
            ordered_children(t, &path)?
        } else {
            Vec::new()
        };
        if kids.is_empty() {
            w(out, &format!(",{node}"))?;
        } else {
            w(out, &format!(",[{node}"))?;
            stack.push(Step::Close);
            for (cname, c) in kids.into_iter().rev() {
                stack.push(Step::Node(child_path(&path, &cname), cname, c));
            }
        }
    }
    w(out, "]")?;
    bar.finish_and_clear();
    Ok(())
}

/// Every node's block, in pre-order from `root`; returns how many ephemeral nodes each
/// session owns, counted on the way so the tree is walked once (the root never counts, as
/// in ZooKeeper).
fn warren_node_blocks(
    t: &TreeAt<'_>,
    root: warren_tree::Node,
    with_data: bool,
    bar: &indicatif::ProgressBar,
    out: &mut dyn Write,
) -> Result<HashMap<i64, usize>, ToolError> {
    let mut ephemerals: HashMap<i64, usize> = HashMap::new();
    let mut stack = vec![("/".to_owned(), root)];
    while let Some((path, n)) = stack.pop() {
        bar.inc(1);
        w(out, &node_text(&path, &n, with_data))?;
        if path != "/" && n.stat.ephemeral_owner != 0 {
            *ephemerals.entry(n.stat.ephemeral_owner).or_insert(0) += 1;
        }
        if n.num_children > 0 {
            for (name, c) in ordered_children(t, &path)?.into_iter().rev() {
                stack.push((child_path(&path, &name), c));
            }
        }
    }
    Ok(ephemerals)
}

/// The session lines, in the order ZooKeeper's tools list them (Java `HashMap` order).
fn warren_sessions(
    t: &TreeAt<'_>,
    ephemerals: &HashMap<i64, usize>,
    out: &mut dyn Write,
) -> Result<(), ToolError> {
    let sessions = t.sessions()?;
    let hashes: Vec<i32> = sessions.iter().map(|s| long_hash(s.0)).collect();
    for i in hash_iteration_order(&hashes, 16) {
        let (sid, timeout) = sessions[i];
        w(
            out,
            &format!(
                "{}, {timeout}, {}\n",
                hex16(sid),
                ephemerals.get(&sid).copied().unwrap_or(0)
            ),
        )?;
    }
    Ok(())
}
