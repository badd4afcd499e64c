//! `snapshot dump` on the snapshots Apache ZooKeeper 3.8 wrote (plain, gzip and snappy)
//! prints what its SnapshotFormatter printed: the same per-node blocks, sessions and last
//! zxid in text and `-d` modes, and the same JSON tree with `--json`.

mod common;

use std::collections::BTreeSet;

use common::*;

/// Splits a formatter dump into (header line, node blocks, the rest after the nodes).
fn blocks(text: &[u8]) -> (String, Vec<String>, String) {
    let masked: Vec<String> = lines(text).iter().map(|l| mask_snapshot_date(l)).collect();
    let joined = masked.join("\n");
    let (nodes, tail) = joined
        .split_once("\n----\nSession Details")
        .expect("no session section");
    let mut parts = nodes.split("\n----\n");
    let header = parts.next().unwrap().to_owned();
    (header, parts.map(str::to_owned).collect(), tail.to_owned())
}

fn compare_text(kind: &str, name: &str, data: bool) {
    let file = fixtures().join(kind).join("version-2").join(name);
    let mut args = vec!["snapshot", "dump"];
    if data {
        args.push("-d");
    }
    args.push(file.to_str().unwrap());
    let ours = run_ok(&args);
    let reference = expected(
        kind,
        name,
        if data {
            "snapshot-d.txt"
        } else {
            "snapshot.txt"
        },
    );
    let (h1, b1, t1) = blocks(&ours);
    let (h2, b2, t2) = blocks(&reference);
    assert_eq!(h1, h2, "{kind}/{name}: header");
    assert_eq!(b1.len(), b2.len(), "{kind}/{name}: node count");
    let s1: BTreeSet<&String> = b1.iter().collect();
    let s2: BTreeSet<&String> = b2.iter().collect();
    assert_eq!(s1, s2, "{kind}/{name}: node blocks");
    // Sessions, compared as a set too, then the last zxid.
    let sess = |t: &str| -> (BTreeSet<String>, String) {
        let (s, last) = t.rsplit_once("\n----\n").unwrap();
        (
            s.lines().skip(1).map(str::to_owned).collect(),
            last.to_owned(),
        )
    };
    assert_eq!(
        sess(&t1),
        sess(&t2),
        "{kind}/{name}: sessions and last zxid"
    );
}

#[test]
fn every_fixture_snapshot_prints_the_same_nodes_sessions_and_last_zxid() {
    let mut n = 0;
    for kind in KINDS {
        for snap in fixture_files(kind, "snapshot.") {
            let name = snap.file_name().unwrap().to_str().unwrap().to_owned();
            compare_text(kind, &name, false);
            compare_text(kind, &name, true);
            n += 1;
        }
    }
    assert!(n >= 12, "only {n} fixture snapshots found");
}

#[test]
fn sibling_and_session_order_follow_java_hash_order_exactly() {
    // Stronger than the set comparison: the whole text, dates included, is the same.
    for kind in KINDS {
        for snap in fixture_files(kind, "snapshot.") {
            let name = snap.file_name().unwrap().to_str().unwrap().to_owned();
            let ours = run_ok(&["snapshot", "dump", snap.to_str().unwrap()]);
            assert_same_lines(&name, &ours, &expected(kind, &name, "snapshot.txt"), |l| {
                l.to_owned()
            });
        }
    }
}

/// Drops the timestamp and inode numbers, and sorts siblings, so two trees compare
/// whatever order their siblings were printed in.
fn normalize(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Array(items) => {
            let mut out: Vec<Value> = items.iter().map(normalize).collect();
            if out.first().is_some_and(Value::is_object) && out.len() > 1 {
                let first = out.remove(0);
                out.sort_by_key(|x| x.to_string());
                out.insert(0, first);
            }
            Value::Array(out)
        }
        Value::Object(m) => {
            let mut m = m.clone();
            m.remove("timestamp");
            m.remove("ino");
            Value::Object(m)
        }
        other => other.clone(),
    }
}

#[test]
fn json_tree_matches_the_formatter() {
    for kind in KINDS {
        for snap in fixture_files(kind, "snapshot.") {
            let name = snap.file_name().unwrap().to_str().unwrap().to_owned();
            let ours = run_ok(&["snapshot", "dump", "--json", snap.to_str().unwrap()]);
            let reference = expected(kind, &name, "snapshot.json");
            let a: serde_json::Value = serde_json::from_slice(&ours).unwrap();
            let b: serde_json::Value = serde_json::from_slice(&reference).unwrap();
            assert_eq!(normalize(&a), normalize(&b), "{kind}/{name}");
            assert_eq!(a[2]["progname"], b[2]["progname"]);
            // Sibling order is Java's too, so even the inode numbers agree.
            let strip = |v: &serde_json::Value| {
                let mut v = v.clone();
                v[2]["timestamp"] = serde_json::Value::Null;
                v
            };
            assert_eq!(strip(&a), strip(&b), "{kind}/{name} (exact)");
        }
    }
}

#[test]
fn compression_is_detected_from_the_bytes_not_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures().join("snappy/version-2/snapshot.2a.snappy");
    let renamed = dir.path().join("snapshot.2a");
    std::fs::copy(&src, &renamed).unwrap();
    let a = run_ok(&["snapshot", "dump", renamed.to_str().unwrap()]);
    let b = run_ok(&["snapshot", "dump", src.to_str().unwrap()]);
    assert_eq!(a, b);
}

#[test]
fn a_truncated_snapshot_is_an_error_naming_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read(fixtures().join("plain/version-2/snapshot.1c")).unwrap();
    let cut = dir.path().join("snapshot.1c");
    std::fs::write(&cut, &src[..src.len() / 2]).unwrap();
    let (_, _, r) = run(&["snapshot", "dump", cut.to_str().unwrap()], "");
    let e = r.unwrap_err().to_string();
    assert!(e.contains("snapshot.1c: offset "), "{e}");
}
