//! Damage and repair on copies of real ZooKeeper txn logs: a flipped byte is reported by
//! `verify` with its offset (and makes the binary exit non-zero), `dump` flags it like the
//! toolkit, `recover` rewrites the checksum, and `chop` cuts a log at a zxid.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use warren_tools::zklog::{Scan, ZkLog};
use warren_tools::ToolError;

/// Copies a fixture log into a temp dir (writable: the fixtures are read-only).
fn copy_log(dir: &Path, kind: &str, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::write(
        &to,
        std::fs::read(fixtures().join(kind).join("version-2").join(name)).unwrap(),
    )
    .unwrap();
    to
}

/// Offsets of the entries of a log, in order.
fn entry_offsets(path: &Path) -> Vec<u64> {
    let log = ZkLog::open(path).unwrap();
    log.entries()
        .filter_map(|s| match s {
            Scan::Entry(e) => Some(e.offset),
            Scan::End(_) => None,
        })
        .collect()
}

fn flip(path: &Path, at: u64) {
    let mut b = std::fs::read(path).unwrap();
    b[at as usize] ^= 0x20;
    std::fs::write(path, b).unwrap();
}

#[test]
fn verify_passes_on_every_fixture_dir() {
    for kind in KINDS {
        let dir = fixtures().join(kind).join("version-2");
        let out = run_ok(&["txnlog", "verify", dir.to_str().unwrap()]);
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().all(|l| l.ends_with(": ok")), "{text}");
    }
}

#[test]
fn a_flipped_body_byte_is_reported_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = copy_log(dir.path(), "plain", "log.1");
    let offsets = entry_offsets(&log);
    let victim = offsets[5];
    // A byte of the path inside the body (well past the 12-byte framing and 28-byte header).
    flip(&log, victim + 12 + 28 + 6);

    let (out, _, r) = run(&["txnlog", "verify", log.to_str().unwrap()], "");
    let text = String::from_utf8(out).unwrap();
    assert!(
        matches!(r, Err(ToolError::VerifyFailed { bad: 1 })),
        "{r:?}\n{text}"
    );
    let expected = format!(
        "{}: offset {victim}: checksum mismatch (zxid 0x6)",
        log.display()
    );
    assert!(text.contains(&expected), "{text}");

    // The binary exits non-zero and says why on stderr.
    let o = Command::new(env!("CARGO_BIN_EXE_warren-tools"))
        .args(["txnlog", "verify", log.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("offset {victim}")));
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 bad record(s) found"));

    // dump flags the txn as the toolkit does: once behind CRC ERROR, once as usual.
    let dump = run_ok(&["txnlog", "dump", log.to_str().unwrap()]);
    let l = lines(&dump);
    let bad: Vec<&String> = l.iter().filter(|x| x.starts_with("CRC ERROR - ")).collect();
    assert_eq!(bad.len(), 1);
    assert!(bad[0].contains("zxid 0x6 "));
    assert_eq!(l.iter().filter(|x| x.contains(" zxid 0x6 ")).count(), 2);
}

#[test]
fn a_broken_end_marker_and_a_truncated_tail_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let log = copy_log(dir.path(), "gz", "log.1e");
    let offsets = entry_offsets(&log);
    // The 'B' of the third entry is the byte before the fourth entry.
    flip(&log, offsets[3] - 1);
    let (out, _, r) = run(&["txnlog", "verify", log.to_str().unwrap()], "");
    let text = String::from_utf8(out).unwrap();
    assert!(r.is_err());
    assert!(
        text.contains(&format!(
            "offset {}: entry at offset {} ends with byte",
            offsets[3] - 1,
            offsets[2]
        )),
        "{text}"
    );

    let log = copy_log(dir.path(), "snappy", "log.1");
    let b = std::fs::read(&log).unwrap();
    let last = *entry_offsets(&log).last().unwrap();
    std::fs::write(&log, &b[..b.len() - 3]).unwrap();
    let (out, _, r) = run(&["txnlog", "verify", log.to_str().unwrap()], "");
    let text = String::from_utf8(out).unwrap();
    assert!(r.is_err());
    assert!(
        text.contains(&format!("offset {last}: truncated entry")),
        "{text}"
    );
}

#[test]
fn chop_at_a_middle_zxid_keeps_only_txns_up_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures().join("plain/version-2/log.1");
    let out = dir.path().join("log.1.chopped");
    let msg = run_ok(&[
        "txnlog",
        "chop",
        "--zxid",
        "0x10",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(String::from_utf8(msg)
        .unwrap()
        .contains("Chopping at 10 new log has 16 records"));

    let chopped = lines(&run_ok(&["txnlog", "dump", out.to_str().unwrap()]));
    let full = lines(&run_ok(&["txnlog", "dump", src.to_str().unwrap()]));
    let txn_lines: Vec<&String> = chopped.iter().filter(|l| l.contains(" zxid 0x")).collect();
    assert_eq!(txn_lines.len(), 16);
    for l in &txn_lines {
        let z = l
            .split(" zxid 0x")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        assert!(i64::from_str_radix(z, 16).unwrap() <= 0x10, "{l}");
    }
    // Everything before the EOF line is the start of the full dump.
    let eof = chopped
        .iter()
        .position(|l| l.starts_with("EOF reached"))
        .unwrap();
    assert_eq!(chopped[eof], "EOF reached after 16 txns.");
    assert_eq!(chopped[..eof], full[..eof]);
    let v = run_ok(&["txnlog", "verify", out.to_str().unwrap()]);
    assert!(String::from_utf8(v)
        .unwrap()
        .contains(": 16 txns, zxid 0x1 to 0x10: ok"));
}

#[test]
fn chop_at_a_zxid_not_in_the_log_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures().join("plain/version-2/log.1e");
    let out = dir.path().join("x");
    let (_, _, r) = run(
        &[
            "txnlog",
            "chop",
            "--zxid",
            "0x5",
            src.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        "",
    );
    assert!(
        matches!(r, Err(ToolError::ZxidNotFound { zxid: 5, .. })),
        "{r:?}"
    );
    assert!(!out.exists());
}

#[test]
fn recover_fixes_a_flipped_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let log = copy_log(dir.path(), "snappy", "log.17");
    let original = std::fs::read(&log).unwrap();
    let offsets = entry_offsets(&log);
    flip(&log, offsets[2] + 7); // the last byte of the stored checksum
    flip(&log, offsets[4] + 5);

    let (out, _, r) = run(&["txnlog", "recover", "--yes", log.to_str().unwrap()], "");
    r.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("CRC FIXED - ").count(), 2, "{text}");
    assert!(text.contains("has been written with 2 fixed CRC error(s)"));
    let fixed = PathBuf::from(format!("{}.fixed", log.display()));
    assert_eq!(std::fs::read(&fixed).unwrap(), original);
    run_ok(&["txnlog", "verify", fixed.to_str().unwrap()]);
    // The damaged input is left alone, and a second run refuses to overwrite the output.
    assert_ne!(std::fs::read(&log).unwrap(), original);
    let (_, _, r) = run(&["txnlog", "recover", "--yes", log.to_str().unwrap()], "");
    assert!(matches!(r, Err(ToolError::Usage(_))));
}

#[test]
fn recover_asks_before_each_fix() {
    let dir = tempfile::tempdir().unwrap();
    let log = copy_log(dir.path(), "plain", "log.39");
    let offsets = entry_offsets(&log);
    flip(&log, offsets[0] + 7);
    flip(&log, offsets[1] + 7);

    // "no" to the first, a bad answer then "yes" to the second.
    let out_path = dir.path().join("answered");
    let (out, _, r) = run(
        &[
            "txnlog",
            "recover",
            log.to_str().unwrap(),
            "--out",
            out_path.to_str().unwrap(),
        ],
        "no\nwhat\nYes\n",
    );
    r.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text.matches("Would you like to fix it (Yes/No/Abort) ? ")
            .count(),
        3,
        "{text}"
    );
    assert!(text.contains("with 1 fixed CRC error(s)"));
    let (vout, _, vr) = run(&["txnlog", "verify", out_path.to_str().unwrap()], "");
    assert!(matches!(vr, Err(ToolError::VerifyFailed { bad: 1 })));
    assert!(String::from_utf8(vout)
        .unwrap()
        .contains(&format!("offset {}:", offsets[0])));

    // Abort writes nothing.
    let aborted = dir.path().join("aborted");
    let (_, _, r) = run(
        &[
            "txnlog",
            "recover",
            log.to_str().unwrap(),
            "--out",
            aborted.to_str().unwrap(),
        ],
        "a\n",
    );
    assert!(matches!(r, Err(ToolError::Aborted)));
    assert!(!aborted.exists());
}
