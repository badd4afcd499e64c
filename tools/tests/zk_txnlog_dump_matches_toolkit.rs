//! `txnlog dump` on the txn logs Apache ZooKeeper 3.8 wrote prints what its TxnLogToolkit
//! printed for them, line for line (dates aside, which match too); directories, `--json`
//! and the filters.

mod common;

use common::*;

#[test]
fn every_fixture_log_dumps_like_the_toolkit() {
    let mut n = 0;
    for kind in KINDS {
        for log in fixture_files(kind, "log.") {
            let name = log.file_name().unwrap().to_str().unwrap().to_owned();
            let ours = run_ok(&["txnlog", "dump", log.to_str().unwrap()]);
            let reference = expected(kind, &name, "txnlog.txt");
            assert_same_lines(&format!("{kind}/{name}"), &ours, &reference, mask_txn_date);
            n += 1;
        }
    }
    assert!(n >= 12, "only {n} fixture logs found");
}

#[test]
fn dates_are_printed_in_the_jvm_short_long_format_in_utc() {
    let log = fixtures().join("plain/version-2/log.1");
    let ours = run_ok(&["txnlog", "dump", log.to_str().unwrap()]);
    assert_eq!(ours, expected("plain", "log.1", "txnlog.txt"));
}

#[test]
fn a_directory_dumps_every_log_in_zxid_order() {
    for kind in KINDS {
        let dir = fixtures().join(kind).join("version-2");
        let ours = run_ok(&["txnlog", "dump", dir.to_str().unwrap()]);
        let mut logs = fixture_files(kind, "log.");
        logs.sort_by_key(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            u64::from_str_radix(&n[4..], 16).unwrap()
        });
        let mut reference = Vec::new();
        for l in &logs {
            reference.extend(expected(
                kind,
                l.file_name().unwrap().to_str().unwrap(),
                "txnlog.txt",
            ));
        }
        assert_same_lines(kind, &ours, &reference, mask_txn_date);
    }
}

fn json_lines(args: &[&str]) -> Vec<serde_json::Value> {
    let out = run_ok(args);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn json_gives_one_object_per_txn() {
    let log = fixtures().join("plain/version-2/log.1");
    let v = json_lines(&["txnlog", "dump", "--json", log.to_str().unwrap()]);
    assert_eq!(v.len(), 29);
    assert_eq!(v[0]["type"], "createSession");
    assert_eq!(v[0]["zxid"], "0x1");
    assert_eq!(v[0]["txn"]["timeout"], 10000);
    let create = v.iter().find(|t| t["zxid"] == "0x4").unwrap();
    assert_eq!(create["type"], "create");
    assert_eq!(create["txn"]["path"], "/config/app");
    assert_eq!(create["txn"]["data"], "v1");
    assert_eq!(create["txn"]["acl"][0]["scheme"], "world");
    let multi = v.iter().find(|t| t["zxid"] == "0x1b").unwrap();
    let subs = multi["txn"]["txns"].as_array().unwrap();
    let types: Vec<&str> = subs.iter().map(|s| s["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["create", "create", "setData", "check"]);
    assert!(v.iter().all(|t| t["crc_ok"] == true));
}

#[test]
fn filters_select_by_zxid_session_and_path() {
    let dir = fixtures().join("plain/version-2");
    let d = dir.to_str().unwrap();
    let all = json_lines(&["txnlog", "dump", "--json", d]);
    let zx =
        |t: &serde_json::Value| i64::from_str_radix(&t["zxid"].as_str().unwrap()[2..], 16).unwrap();

    let v = json_lines(&[
        "txnlog",
        "dump",
        "--json",
        "--from-zxid",
        "0x10",
        "--to-zxid",
        "0x20",
        d,
    ]);
    assert_eq!(v.len(), 0x11);
    assert!(v.iter().all(|t| (0x10..=0x20).contains(&zx(t))));

    let v = json_lines(&[
        "txnlog",
        "dump",
        "--json",
        "--session",
        "0x10000248f140003",
        d,
    ]);
    assert!(!v.is_empty());
    assert!(v.iter().all(|t| t["session"] == "0x10000248f140003"));
    let expected_count = all
        .iter()
        .filter(|t| t["session"] == "0x10000248f140003")
        .count();
    assert_eq!(v.len(), expected_count);

    let v = json_lines(&["txnlog", "dump", "--json", "--path-prefix", "/jobs/", d]);
    assert!(!v.is_empty());
    for t in &v {
        let s = t.to_string();
        assert!(s.contains("\"/jobs/"), "{s}");
    }
    // A multi counts when any sub-op matches, and closeSession through its ephemerals.
    let v = json_lines(&["txnlog", "dump", "--json", "--path-prefix", "/m/c", d]);
    let types: Vec<&str> = v.iter().map(|t| t["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["multi", "delete"]);
    let v = json_lines(&["txnlog", "dump", "--json", "--path-prefix", "/eph", d]);
    assert!(v.iter().any(|t| t["type"] == "closeSession"));

    // Text mode keeps the frame (header and EOF lines) around the filtered txns.
    let log = fixtures().join("plain/version-2/log.1");
    let out = run_ok(&["txnlog", "dump", "--to-zxid", "2", log.to_str().unwrap()]);
    let l = lines(&out);
    assert_eq!(l.len(), 5, "{l:?}");
    assert!(l[0].starts_with("ZooKeeper Transactional Log File"));
    assert_eq!(l[3], "EOF reached after 29 txns.");
}

#[test]
fn a_snapshot_is_refused_by_txnlog_dump() {
    let snap = fixtures().join("plain/version-2/snapshot.0");
    let (_, _, r) = run(&["txnlog", "dump", snap.to_str().unwrap()], "");
    let e = r.unwrap_err().to_string();
    assert!(
        e.contains("snapshot.0") && e.contains("not a ZooKeeper txn log"),
        "{e}"
    );
}

#[test]
fn warren_files_are_recognised_by_magic() {
    let dir = tempfile::tempdir().unwrap();
    let seg = dir.path().join("00000001.wal");
    std::fs::write(&seg, b"WARRNWAL\0\0\0\x01").unwrap();
    let p = seg.to_str().unwrap();
    // The txnlog tools read Warren segments: this one is cut short inside its header.
    let (_, _, r) = run(&["txnlog", "dump", p], "");
    let e = r.unwrap_err().to_string();
    assert!(e.contains("00000001.wal") && e.contains("offset 0"), "{e}");
    let (out, _, r) = run(&["txnlog", "verify", p], "");
    assert!(matches!(
        r,
        Err(warren_tools::ToolError::VerifyFailed { bad: 1 })
    ));
    assert!(String::from_utf8_lossy(&out).contains("offset 0"));
    // A segment is not a snapshot.
    let (_, _, r) = run(&["snapshot", "dump", p], "");
    let e = r.unwrap_err();
    assert!(
        matches!(
            e,
            warren_tools::ToolError::Unsupported {
                kind: "Warren WAL segment",
                ..
            }
        ),
        "{e}"
    );
}
