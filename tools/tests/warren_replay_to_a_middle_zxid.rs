//! `replay` (disaster recovery): a new data dir holding exactly the state at a zxid, built
//! from the engine's versions when the zxid is within retention and from the wal
//! otherwise; the new dir opens with `last_seq` = that zxid and an empty wal, and the
//! tools read it like any data dir.

mod common;

use common::run;
use common::warren::{all_keys, scenario};
use warren_datadir::DataDir;
use warren_engine::ReadSeq;

/// Every key of the source data dir as of `z` (wal tail replayed).
fn state_at(dir: &std::path::Path, z: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let dd = DataDir::locate(dir, None).unwrap();
    let e = dd.open_read(1_000_000).unwrap();
    let v = e
        .scan(.., ReadSeq::At(z))
        .unwrap()
        .map(|kv| kv.unwrap())
        .collect();
    e.close().unwrap();
    v
}

fn check_new_dir(new: &std::path::Path, expected: &[(Vec<u8>, Vec<u8>)], z: u64) {
    let got = all_keys(&new.join("engine"), ReadSeq::Latest);
    assert_eq!(got, expected);
    let e = warren_engine::Engine::open(&new.join("engine"), Default::default()).unwrap();
    assert_eq!((e.last_seq(), e.persisted_seq()), (z, z));
    e.close().unwrap();
    let wal = warren_wal::verify_dir(&new.join("wal")).unwrap();
    assert!(wal.is_clean() && wal.records() == 0);
    let (out, _, r) = run(&["snapshot", "dump", new.to_str().unwrap()], "");
    r.unwrap();
    let s = String::from_utf8(out).unwrap();
    assert!(s.ends_with(&format!("Last zxid: {z:#x}\n")), "{s}");
}

#[test]
fn replay_within_retention_copies_the_engine_state_at_the_zxid() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scenario(tmp.path());
    let new = tmp.path().join("new");
    let (out, _, r) = run(
        &[
            "replay",
            "--data-dir",
            dir.to_str().unwrap(),
            "--to-zxid",
            "0x7",
            "--out",
            new.to_str().unwrap(),
        ],
        "",
    );
    r.unwrap();
    let s = String::from_utf8(out).unwrap();
    assert!(
        s.contains("keys from the engine's versions at zxid 0x7"),
        "{s}"
    );
    let expected = state_at(&dir, 7);
    // /d exists with its new ACL; /a/b still exists; /e does not.
    let paths: Vec<String> = expected
        .iter()
        .filter_map(|(k, _)| warren_tree::key_path(k))
        .collect();
    assert!(paths.contains(&"/a/b".to_owned()) && !paths.contains(&"/e".to_owned()));
    check_new_dir(&new, &expected, 7);
}

#[test]
fn replay_outside_retention_replays_the_wal_to_the_same_state() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scenario(tmp.path());
    let new = tmp.path().join("new");
    let (out, _, r) = run(
        &[
            "replay",
            "--data-dir",
            dir.to_str().unwrap(),
            "--to-zxid",
            "3",
            "--out",
            new.to_str().unwrap(),
            "--retention-txns",
            "1",
        ],
        "",
    );
    r.unwrap();
    let s = String::from_utf8(out).unwrap();
    assert!(
        s.contains("replayed 3 txns from the wal up to zxid 0x3"),
        "{s}"
    );
    check_new_dir(&new, &state_at(&dir, 3), 3);
    // A used output dir is refused.
    let (_, _, r) = run(
        &[
            "replay",
            "--data-dir",
            dir.to_str().unwrap(),
            "--to-zxid",
            "3",
            "--out",
            new.to_str().unwrap(),
        ],
        "",
    );
    assert!(r.unwrap_err().to_string().contains("not empty"));
}

#[test]
fn replay_refuses_when_the_wal_was_purged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scenario(tmp.path());
    let first = warren_wal::list_segments(&dir.join("wal")).unwrap()[0]
        .1
        .clone();
    std::fs::remove_file(&first).unwrap();
    let (_, _, r) = run(
        &[
            "replay",
            "--data-dir",
            dir.to_str().unwrap(),
            "--to-zxid",
            "2",
            "--out",
            tmp.path().join("new").to_str().unwrap(),
            "--retention-txns",
            "1",
        ],
        "",
    );
    let e = r.unwrap_err().to_string();
    assert!(
        e.contains("oldest readable zxid 0x9") && e.contains("starts at zxid 0x6"),
        "{e}"
    );
}
