//! `check` on a Warren data dir: a clean dir passes; a flipped byte in an SSTable data
//! block and in a WAL record are each reported with file and offset (also by `txnlog
//! verify` for the WAL), and the command fails.

mod common;

use common::run;
use common::warren::scenario;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_clean_data_dir_passes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scenario(tmp.path());
    let (out, _, r) = run(&["check", dir.to_str().unwrap()], "");
    let s = text(&out);
    assert!(r.is_ok(), "{s}");
    assert!(
        s.contains("2 table(s)") && s.contains("2 segment(s), 10 record(s)"),
        "{s}"
    );
    assert!(s.ends_with("check: ok\n"), "{s}");
}

#[test]
fn flipped_bytes_in_a_table_and_a_wal_record_are_named_with_offsets() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scenario(tmp.path());
    let sst = std::fs::read_dir(dir.join("engine"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "sst"))
        .unwrap();
    // The first data block starts right after the 8-byte header.
    let mut b = std::fs::read(&sst).unwrap();
    b[12] ^= 0x20;
    std::fs::write(&sst, &b).unwrap();
    let seg = warren_wal::list_segments(&dir.join("wal")).unwrap()[0]
        .1
        .clone();
    let mut w = std::fs::read(&seg).unwrap();
    w[32 + 16 + 3] ^= 0x01; // first record's payload
    std::fs::write(&seg, &w).unwrap();

    let (out, _, r) = run(&["check", dir.to_str().unwrap()], "");
    let s = text(&out);
    print!("{s}");
    assert!(
        matches!(r, Err(warren_tools::ToolError::CheckFailed { faults: 2 })),
        "{r:?}\n{s}"
    );
    assert!(
        s.contains(&format!(
            "{}: offset 8: data block checksum mismatch",
            sst.display()
        )),
        "{s}"
    );
    assert!(
        s.contains(&format!(
            "{}: offset 32: record checksum mismatch",
            seg.display()
        )),
        "{s}"
    );
    assert!(s.ends_with("check: 2 fault(s)\n"));
    let (out, _, r) = run(&["txnlog", "verify", dir.to_str().unwrap()], "");
    assert!(r.is_err());
    assert!(text(&out).contains(&format!("{}: offset 32: ", seg.display())));
}

#[test]
fn a_damaged_manifest_record_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = scenario(tmp.path());
    let current = std::fs::read_to_string(dir.join("engine/CURRENT")).unwrap();
    let m = dir.join("engine").join(current.trim());
    let mut b = std::fs::read(&m).unwrap();
    b[8 + 8 + 1] ^= 0xff; // inside the first record's payload
    std::fs::write(&m, &b).unwrap();
    let (out, _, r) = run(&["check", dir.to_str().unwrap()], "");
    let s = text(&out);
    assert!(r.is_err(), "{s}");
    assert!(
        s.contains(&format!(
            "{}: offset 8: manifest record checksum mismatch",
            m.display()
        )),
        "{s}"
    );
}
