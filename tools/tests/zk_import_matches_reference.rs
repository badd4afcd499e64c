//! `import` of the ZooKeeper 3.8 fixtures (plain, gz, snappy): after import, every znode's
//! path, data, ACL and stat, and the session table, equal the reference's as of the last
//! logged zxid. The reference state is SnapshotFormatter's `-d` output for the newest
//! snapshot with the later logged txns (setData and delete only, in these fixtures)
//! applied by a small model here. A damaged newest snapshot is skipped for the one before,
//! and the fuzzy replay from there reaches the same state.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{expected, fixture_files, fixtures, run, KINDS};
use warren_datadir::DataDir;
use warren_engine::ReadSeq;
use warren_proto::{Acl, Txn};
use warren_tools::datadir::TreeAt;
use warren_tools::java::date_to_string;
use warren_tools::txnfmt::decode_txn;
use warren_tools::zklog::{list_logs, zxid_from_name, Scan, ZkLog};
use warren_tools::zksnap::ZkSnapshot;

type Blocks = BTreeMap<String, BTreeMap<String, String>>;

/// SnapshotFormatter text → path → (field → value), and the session section.
fn parse(s: &str) -> (Blocks, String) {
    let mut nodes = BTreeMap::new();
    let (body, sessions) = s.split_once("----\nSession Details").unwrap();
    for b in body.split("----\n").skip(1) {
        let mut lines = b.lines();
        let path = lines.next().unwrap().to_owned();
        let fields = lines
            .map(|l| {
                let (k, v) = l.trim().split_once(" = ").unwrap_or((l.trim(), ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        nodes.insert(path, fields);
    }
    let sessions = sessions
        .rsplit_once("----\nLast zxid")
        .unwrap()
        .0
        .to_owned();
    (nodes, sessions)
}

fn hex16(v: i64) -> String {
    format!("{v:#016x}")
}

fn parent(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) => "/",
        Some(i) => &p[..i],
        None => "/",
    }
}

/// The newest snapshot of a fixture dir and its zxid.
fn newest_snapshot(kind: &str) -> (PathBuf, i64) {
    fixture_files(kind, "snapshot.")
        .into_iter()
        .map(|p| {
            let z = zxid_from_name(p.file_name().unwrap().to_str().unwrap(), "snapshot").unwrap();
            (p, z)
        })
        .max_by_key(|x| x.1)
        .unwrap()
}

/// The reference state at the last logged zxid.
fn reference(kind: &str) -> (Blocks, String, i64) {
    let (snap, zxid) = newest_snapshot(kind);
    let name = snap.file_name().unwrap().to_str().unwrap();
    let text = String::from_utf8(expected(kind, name, "snapshot-d.txt")).unwrap();
    let (mut nodes, sessions) = parse(&text);
    let mut last = zxid;
    for log in list_logs(&fixtures().join(kind).join("version-2")).unwrap() {
        let log = ZkLog::open(&log).unwrap();
        for item in log.entries() {
            let Scan::Entry(e) = item else { break };
            let (h, rest) = e.txn_header().unwrap();
            if h.zxid <= zxid {
                continue;
            }
            last = h.zxid;
            match decode_txn(h.txn_type, rest).unwrap().0 {
                Txn::SetData(t) => {
                    let n = nodes.get_mut(&t.path).unwrap();
                    n.insert("mZxid".into(), hex16(h.zxid));
                    n.insert("mtime".into(), date_to_string(h.time));
                    n.insert("dataVersion".into(), t.version.to_string());
                    use base64::Engine as _;
                    let b64 = base64::engine::general_purpose::STANDARD
                        .encode(t.data.unwrap_or_default());
                    n.insert("data".into(), b64);
                }
                Txn::Delete(t) => {
                    nodes.remove(&t.path).unwrap();
                    let p = nodes.get_mut(parent(&t.path)).unwrap();
                    let pz = i64::from_str_radix(p["pZxid"].trim_start_matches("0x"), 16).unwrap();
                    if h.zxid > pz {
                        p.insert("pZxid".into(), hex16(h.zxid));
                    }
                }
                other => panic!("the model does not know {other:?}"),
            }
        }
    }
    (nodes, sessions, last)
}

fn import(kind_dir: &Path, out: &Path) -> (String, String) {
    let (o, e, r) = run(
        &[
            "import",
            "--zookeeper-data-dir",
            kind_dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        "",
    );
    let o = String::from_utf8(o).unwrap();
    r.unwrap_or_else(|err| panic!("{err}\n{o}\n{e}"));
    (o, e)
}

/// Node paths → ACL lists of the imported dir, and the snapshot's.
fn acls(new: &Path, snap: &Path) -> (BTreeMap<String, Vec<Acl>>, BTreeMap<String, Vec<Acl>>) {
    let dd = DataDir::locate(new, None).unwrap();
    let e = dd.open_read(0).unwrap();
    let t = TreeAt::new(&e, &dd.engine_dir, None).unwrap();
    let s = ZkSnapshot::open(snap).unwrap();
    let cache: BTreeMap<i64, Vec<Acl>> = s.acls.iter().cloned().collect();
    let mut got = BTreeMap::new();
    let mut want = BTreeMap::new();
    for n in &s.nodes {
        if let Some(node) = t.node(&n.path).unwrap() {
            got.insert(n.path.clone(), t.acl(node.acl_id).unwrap());
            let w = cache
                .get(&n.acl_ref)
                .cloned()
                .unwrap_or_else(Acl::open_unsafe);
            want.insert(n.path.clone(), w);
        }
    }
    (got, want)
}

#[test]
fn every_fixture_imports_to_the_reference_state_at_the_last_zxid() {
    for kind in KINDS {
        let tmp = tempfile::tempdir().unwrap();
        let new = tmp.path().join("new");
        let (summary, warnings) = import(&fixtures().join(kind), &new);
        assert_eq!(warnings, "", "{kind}");
        let (want, want_sessions, last) = reference(kind);
        assert!(
            summary.contains(&format!("last zxid {last:#x}")),
            "{kind}: {summary}"
        );
        let (out, _, r) = run(&["snapshot", "dump", "-d", new.to_str().unwrap()], "");
        r.unwrap();
        let text = String::from_utf8(out).unwrap();
        let (got, got_sessions) = parse(&text);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{kind}"
        );
        for (path, w) in &want {
            assert_eq!(&got[path], w, "{kind}: {path}");
        }
        assert_eq!(got_sessions, want_sessions, "{kind}");
        assert!(text.starts_with(&format!("ZNode Details (count={}):", want.len() + 1)));
        assert!(text.ends_with(&format!("Last zxid: {last:#x}\n")));
        let (got_acl, want_acl) = acls(&new, &newest_snapshot(kind).0);
        assert_eq!(got_acl, want_acl, "{kind}");
        // The engine ends at the last zxid, with an empty wal beside it.
        let e = warren_engine::Engine::open(&new.join("engine"), Default::default()).unwrap();
        assert_eq!(e.last_seq(), last as u64);
        e.close().unwrap();
        assert!(warren_wal::verify_dir(&new.join("wal")).unwrap().is_clean());
    }
}

/// The tree keys (nodes, ACLs, ephemeral and reaper indexes, node counter) of a data dir.
fn tree_keys(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    common::warren::all_keys(&dir.join("engine"), ReadSeq::Latest)
        .into_iter()
        .filter(|(k, _)| matches!(k[0], b'n' | b'a' | b'e' | b'c') || k == b"mnode_count")
        .collect()
}

#[test]
fn a_damaged_newest_snapshot_is_skipped_and_the_fuzzy_replay_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("zk/version-2");
    std::fs::create_dir_all(&copy).unwrap();
    for f in fixture_files("plain", "") {
        std::fs::copy(&f, copy.join(f.file_name().unwrap())).unwrap();
    }
    let (newest, _) = newest_snapshot("plain");
    let damaged = copy.join(newest.file_name().unwrap());
    let mut b = std::fs::read(&damaged).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x55;
    std::fs::write(&damaged, &b).unwrap();
    let a = tmp.path().join("a");
    let (summary, warnings) = import(&tmp.path().join("zk"), &a);
    assert!(
        warnings.contains("snapshot.4b") && warnings.contains("skipping"),
        "{warnings}"
    );
    assert!(summary.contains("snapshot.37"), "{summary}");
    let b_dir = tmp.path().join("b");
    import(&fixtures().join("plain"), &b_dir);
    assert_eq!(tree_keys(&a), tree_keys(&b_dir));
}
