//! The offline API: verify a directory or a file without opening the log, list every
//! fault with file and offset, iterate records with offsets, repair checksums.
mod common;

use common::*;
use warren_wal::{
    read_segment_file, rewrite_record_checksum, verify_dir, verify_segment, FaultKind, Wal,
    WalError, HEADER_LEN,
};

#[test]
fn clean_directory_verifies_and_reader_yields_offsets() {
    for backend in backends() {
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::open(tmp.path(), small_opts(backend, 8192)).unwrap();
        append_all(&wal, 1..=120);
        // Verification is read-only and may run beside the live log.
        let report = verify_dir(tmp.path()).unwrap();
        assert!(report.is_clean(), "{:?}", report.faults);
        assert_eq!(report.records(), 120);
        assert_eq!(report.last_seq(), Some(120));
        assert_eq!(report.segments.len(), wal.segments().len());

        let first = &report.segments[0].path;
        let mut reader = read_segment_file(first).unwrap();
        assert_eq!(reader.header().first_seq, 1);
        let (off, rec) = reader.next().unwrap().unwrap();
        assert_eq!((off, rec.seq), (HEADER_LEN, 1));
        let (off2, rec2) = reader.next().unwrap().unwrap();
        assert_eq!(off2, HEADER_LEN + 16 + payload(1).len() as u64);
        assert_eq!(rec2.payload, payload(2));
    }
}

#[test]
fn every_bad_record_is_listed_and_checksums_can_be_rewritten() {
    let tmp = tempfile::tempdir().unwrap();
    append_all(&Wal::open(tmp.path(), opts(backends()[0])).unwrap(), 1..=60);
    let seg = segment_paths(tmp.path()).pop().unwrap();
    let recs = record_offsets(&seg);
    let bad: Vec<u64> = [10usize, 20, 40].iter().map(|&i| recs[i].0).collect();
    for &off in &bad {
        flip_byte(&seg, off + 12); // inside the seq field
    }
    let report = verify_segment(&seg, true).unwrap();
    let offsets: Vec<u64> = report.faults.iter().map(|f| f.offset).collect();
    assert_eq!(offsets, bad);
    assert!(report.faults.iter().all(|f| f.kind == FaultKind::Corrupt));
    assert_eq!(report.records, 57);
    let shown = report.faults[0].to_string();
    assert!(shown.contains(&seg.display().to_string()) && shown.contains(&bad[0].to_string()));

    // The reader stops at the first bad record with a Corrupt error.
    let err = read_segment_file(&seg)
        .unwrap()
        .find_map(|r| r.err())
        .unwrap();
    assert!(matches!(err, WalError::Corrupt { offset, .. } if offset == bad[0]));

    // Rewriting checksums over a damaged seq makes the frames verify but breaks seq
    // order: still reported, as corruption of a different kind.
    for &off in &bad {
        rewrite_record_checksum(&seg, off).unwrap();
    }
    let report = verify_dir(tmp.path()).unwrap();
    assert!(!report.is_clean());
    assert!(
        report.faults.iter().all(|f| f.reason.contains("seq")),
        "{:?}",
        report.faults
    );
    // Put the seq bytes back: clean again.
    for &off in &bad {
        flip_byte(&seg, off + 12);
        rewrite_record_checksum(&seg, off).unwrap();
    }
    assert!(verify_dir(tmp.path()).unwrap().is_clean());
    assert!(rewrite_record_checksum(&seg, 3).is_err());
}

#[test]
fn missing_directory_is_an_io_error_for_tools() {
    let tmp = tempfile::tempdir().unwrap();
    let err = verify_dir(&tmp.path().join("nope")).unwrap_err();
    assert!(matches!(err, WalError::Io { .. }));
    assert!(err.to_string().contains("nope"));
}
