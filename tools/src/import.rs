//! `import`: migrates an Apache ZooKeeper data dir to a new Warren data dir.
//!
//! 1. The newest snapshot that reads cleanly (its checksum seal included) is loaded;
//!    damaged ones are skipped with a warning, as ZooKeeper does at start-up.
//! 2. A new engine is bootstrapped (initial tree and session secret), then every node of
//!    the snapshot is written with seq-0 bootstrap writes: its record (stat exactly as in
//!    the snapshot, stored cversion included; child count; ACL through the ACL table;
//!    data), the ephemeral-owner index for ephemeral nodes, the reaper keys of container
//!    and TTL nodes, the node counter, and every session (the value layout `apply_txn`
//!    writes for createSession: timeout, then the snapshot's zxid as the creating zxid).
//!    The engine is then stamped with the snapshot's zxid.
//! 3. Every logged txn above the snapshot's zxid is applied through `apply_txn`. The
//!    snapshot is fuzzy (it may already hold some of those txns), so a txn that no longer
//!    applies is skipped, as ZooKeeper's own replay does.
//! 4. The engine is flushed and an empty wal dir is written.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use warren_engine::{Engine, WriteBatch};
use warren_proto::txn::LoggedTxn;
use warren_proto::{Acl, JVec, Jute};
use warren_tree::{
    acl_id, acl_key, ephemeral_key, meta_key, node_key, owner_kind, reap_key, session_key,
    session_value, Node, OwnerKind, EPHEMERAL_COUNT, NODE_COUNT,
};

use warren_datadir::open_engine;

use crate::datadir::{apply_logged, failed};
use crate::error::ToolError;
use crate::replay::{create_empty_dir, empty_wal, finish_engine};
use crate::txnfmt::decode_txn;
use crate::zklog::{list_logs, zxid_from_name, LogEnd, RawEntry, Scan, ZkLog};
use crate::zksnap::{Seal, ZkSnapshot};

/// How `import` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// ZooKeeper's dataDir (or its `version-2`).
    pub zk_data_dir: PathBuf,
    /// ZooKeeper's dataLogDir, when the logs are elsewhere.
    pub zk_log_dir: Option<PathBuf>,
    /// The new Warren data dir (must not exist, or be empty).
    pub out: PathBuf,
}

/// What `import` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// The snapshot loaded.
    pub snapshot: PathBuf,
    /// Its zxid.
    pub snapshot_zxid: i64,
    /// Nodes and sessions it held.
    pub nodes: usize,
    pub sessions: usize,
    /// Log txns applied on top, and those skipped because they no longer applied.
    pub applied: usize,
    pub skipped: usize,
    /// The zxid the new data dir ends at.
    pub last_zxid: i64,
}

/// `dir/version-2` when it exists, else `dir`.
fn version2(dir: &Path) -> PathBuf {
    let v = dir.join("version-2");
    if v.is_dir() {
        v
    } else {
        dir.to_owned()
    }
}

/// Snapshot files of `dir`, newest first.
fn snapshots(dir: &Path) -> Result<Vec<(i64, PathBuf)>, ToolError> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| ToolError::io(dir, e))? {
        let e = e.map_err(|e| ToolError::io(dir, e))?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(z) = zxid_from_name(name, "snapshot") {
            v.push((z, e.path()));
        }
    }
    v.sort();
    v.reverse();
    Ok(v)
}

/// The newest snapshot that decodes and whose seal checks out.
fn newest_valid(dir: &Path, warn: &mut dyn Write) -> Result<(i64, ZkSnapshot), ToolError> {
    let all = snapshots(dir)?;
    for (z, path) in &all {
        match ZkSnapshot::open(path) {
            Ok(s) if s.seal == Seal::Ok => return Ok((*z, s)),
            Ok(s) => {
                let _ = writeln!(
                    warn,
                    "warning: {}: skipping this snapshot: its checksum seal does not match ({:?})",
                    path.display(),
                    s.seal
                );
            }
            Err(e) => {
                let _ = writeln!(warn, "warning: skipping a snapshot that does not read: {e}");
            }
        }
    }
    Err(ToolError::Usage(format!(
        "{}: no valid snapshot.* file ({} found)",
        dir.display(),
        all.len()
    )))
}

struct Loader<'a> {
    engine: &'a Engine,
    dir: &'a Path,
    batch: WriteBatch,
}

impl Loader<'_> {
    fn put(&mut self, k: Vec<u8>, v: Vec<u8>) -> Result<(), ToolError> {
        self.batch.put(k, v);
        if self.batch.len() >= 4096 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ToolError> {
        if !self.batch.is_empty() {
            self.engine
                .write(0, std::mem::take(&mut self.batch))
                .map_err(|e| ToolError::engine(self.dir, e))?;
        }
        Ok(())
    }
}

/// Writes the snapshot's state with seq-0 writes (after `bootstrap`).
fn load_snapshot(
    engine: &Engine,
    dir: &Path,
    snap: &ZkSnapshot,
    zxid: i64,
) -> Result<(), ToolError> {
    let acls: HashMap<i64, &Vec<Acl>> = snap.acls.iter().map(|(r, l)| (*r, l)).collect();
    let open = Acl::open_unsafe();
    let mut l = Loader {
        engine,
        dir,
        batch: WriteBatch::default(),
    };
    // The bootstrap's initial nodes that the snapshot lacks are removed.
    let paths: std::collections::HashSet<&str> =
        snap.nodes.iter().map(|n| n.path.as_str()).collect();
    for p in ["/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
        if !paths.contains(p) {
            l.batch.delete(node_key(p));
        }
    }
    let mut written_acls = std::collections::HashSet::new();
    let mut ephemerals = 0i64;
    for n in &snap.nodes {
        // ZooKeeper's ACL cache maps -1 to OPEN_ACL_UNSAFE without storing it.
        let list: &Vec<Acl> = match acls.get(&n.acl_ref) {
            Some(l) => l,
            None if n.acl_ref == -1 => &open,
            None => {
                return Err(ToolError::corrupt(
                    &snap.path,
                    0,
                    format!(
                        "node {} refers to ACL {} which the snapshot's ACL cache lacks",
                        n.path, n.acl_ref
                    ),
                ))
            }
        };
        let id = acl_id(list);
        if written_acls.insert(id) {
            l.put(acl_key(id), JVec(list.clone()).to_bytes())?;
        }
        let node = Node {
            stat: n.stat.clone(),
            num_children: n.children.len() as i32,
            acl_id: id,
            data: n.data.clone(),
        };
        l.put(node_key(&n.path), node.encode())?;
        match owner_kind(n.stat.ephemeral_owner) {
            OwnerKind::Ephemeral if n.parent.is_some() => {
                l.put(ephemeral_key(n.stat.ephemeral_owner, &n.path), Vec::new())?;
                ephemerals += 1;
            }
            OwnerKind::Container | OwnerKind::Ttl(_) => l.put(reap_key(&n.path), Vec::new())?,
            _ => {}
        }
    }
    for (id, timeout) in &snap.sessions {
        l.put(session_key(*id), session_value(*timeout, zxid))?;
    }
    l.put(
        meta_key(NODE_COUNT),
        (snap.nodes.len() as i64).to_le_bytes().to_vec(),
    )?;
    l.put(meta_key(EPHEMERAL_COUNT), ephemerals.to_le_bytes().to_vec())?;
    l.flush()
}

/// Imports a ZooKeeper data dir into a new Warren data dir, reporting on `out` and
/// warnings on `warn`.
///
/// # Errors
/// [`ToolError::Usage`] without a valid snapshot or with a non-empty output; snapshot and
/// log read errors naming the file and offset (a log entry with a bad checksum stops the
/// import, as it stops ZooKeeper); engine errors.
pub fn import(
    opts: &ImportOptions,
    out: &mut dyn Write,
    warn: &mut dyn Write,
) -> Result<ImportSummary, ToolError> {
    let snap_dir = version2(&opts.zk_data_dir);
    let log_dir = version2(opts.zk_log_dir.as_deref().unwrap_or(&opts.zk_data_dir));
    let (snap_zxid, snap) = newest_valid(&snap_dir, warn)?;
    create_empty_dir(&opts.out)?;
    let edir = opts.out.join("engine");
    let engine = open_engine(&edir, 0)?;
    warren_tree::bootstrap(&engine).map_err(|e| ToolError::tree(&edir, e))?;
    load_snapshot(&engine, &edir, &snap, snap_zxid)?;
    if snap_zxid > 0 {
        finish_engine(&engine, &edir, snap_zxid as u64)?;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    let logs = apply_logs(&engine, &edir, &log_dir, snap_zxid, &bar, warn)?;
    finish_engine(&engine, &edir, logs.last as u64)?;
    bar.finish_and_clear();
    engine.close().map_err(|e| ToolError::engine(&edir, e))?;
    empty_wal(&opts.out)?;
    let s = ImportSummary {
        snapshot: snap.path.clone(),
        snapshot_zxid: snap_zxid,
        nodes: snap.nodes.len(),
        sessions: snap.sessions.len(),
        applied: logs.applied,
        skipped: logs.skipped,
        last_zxid: logs.last,
    };
    writeln!(
        out,
        "{}: imported {} (zxid {:#x}: {} nodes, {} sessions), then {} txns from {} ({} skipped: already in the fuzzy snapshot); last zxid {:#x}",
        opts.out.display(),
        s.snapshot.display(),
        s.snapshot_zxid,
        s.nodes,
        s.sessions,
        s.applied,
        log_dir.display(),
        s.skipped,
        s.last_zxid
    )
    .map_err(ToolError::Output)?;
    Ok(s)
}

/// What [`apply_logs`] did: txns applied and skipped, and the last zxid gone through.
struct AppliedLogs {
    applied: usize,
    skipped: usize,
    last: i64,
}

/// Applies every txn of the logs in `log_dir` above `snap_zxid`, in zxid order. A torn
/// tail ends a log (with a warning), as it ends ZooKeeper's replay; a txn the fuzzy
/// snapshot already holds fails to apply and is counted as skipped.
fn apply_logs(
    engine: &Engine,
    edir: &Path,
    log_dir: &Path,
    snap_zxid: i64,
    bar: &indicatif::ProgressBar,
    warn: &mut dyn Write,
) -> Result<AppliedLogs, ToolError> {
    let mut done = AppliedLogs {
        applied: 0,
        skipped: 0,
        last: snap_zxid,
    };
    for f in list_logs(log_dir)? {
        let log = ZkLog::open(&f)?;
        for item in log.entries() {
            let e = match item {
                Scan::Entry(e) => e,
                Scan::End(LogEnd::Truncated { offset, reason }) => {
                    let _ = writeln!(
                        warn,
                        "warning: {}: offset {offset}: {reason}; treated as the end of the log",
                        f.display()
                    );
                    break;
                }
                Scan::End(_) => break,
            };
            let Some(logged) = txn_to_apply(&f, &e, done.last)? else {
                continue;
            };
            let outcome = apply_logged(engine, edir, &logged)?;
            if failed(&outcome) && !records_a_failure(&logged.txn) {
                done.skipped += 1;
            } else {
                done.applied += 1;
            }
            done.last = logged.header.zxid;
            bar.set_message(format!("zxid {:#x}", done.last));
            bar.tick();
        }
    }
    Ok(done)
}

/// The txn of log entry `e` of file `f`, decoded, when its zxid is above `last` (`None`
/// for one already applied or in the snapshot).
///
/// # Errors
/// A header or record that does not decode; a bad checksum or a missing end marker,
/// which stop the import as they stop ZooKeeper.
fn txn_to_apply(f: &Path, e: &RawEntry<'_>, last: i64) -> Result<Option<LoggedTxn>, ToolError> {
    let (h, rest) = e.txn_header().map_err(|source| ToolError::Decode {
        path: f.to_owned(),
        offset: e.offset,
        source,
    })?;
    if h.zxid <= last {
        return Ok(None);
    }
    if !e.crc_ok() {
        return Err(ToolError::corrupt(
            f,
            e.offset,
            format!(
                "checksum mismatch in zxid {:#x}; ZooKeeper stops here too (see `txnlog recover`)",
                h.zxid
            ),
        ));
    }
    if !e.eor_ok() {
        return Err(ToolError::corrupt(
            f,
            e.end() - 1,
            "entry does not end with 'B': the last transaction was partial",
        ));
    }
    let (txn, _) = decode_txn(h.txn_type, rest).map_err(|source| ToolError::Decode {
        path: f.to_owned(),
        offset: e.offset,
        source,
    })?;
    Ok(Some(LoggedTxn {
        header: h,
        txn,
        digest: None,
    }))
}

/// Whether a txn logs a failure (an error txn, or a multi holding one): it changes
/// nothing when applied, and that is what was logged, not a skip.
fn records_a_failure(txn: &warren_proto::Txn) -> bool {
    match txn {
        warren_proto::Txn::Error(_) => true,
        warren_proto::Txn::Multi(subs) => subs
            .iter()
            .any(|t| matches!(t, warren_proto::Txn::Error(_))),
        _ => false,
    }
}
