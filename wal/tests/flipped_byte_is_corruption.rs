//! Damage that is not a torn tail stops the open with `WalError::Corrupt` naming the file
//! and the offset of the bad frame; the offline tools see the same fault and can repair
//! a checksum.
mod common;

use common::*;
use warren_wal::{rewrite_record_checksum, verify_dir, FaultKind, Wal, WalError};

fn corrupt_err(
    dir: &std::path::Path,
    o: warren_wal::WalOptions,
) -> (std::path::PathBuf, u64, String) {
    match Wal::open(dir, o) {
        Err(e @ WalError::Corrupt { .. }) => {
            let msg = e.to_string();
            let WalError::Corrupt { file, offset, .. } = e else {
                unreachable!()
            };
            (file, offset, msg)
        }
        Err(e) => panic!("expected Corrupt, got {e}"),
        Ok(_) => panic!("expected Corrupt, open succeeded"),
    }
}

#[test]
fn flipped_payload_byte_mid_segment_names_file_and_offset() {
    for backend in backends() {
        let o = opts(backend);
        let tmp = tempfile::tempdir().unwrap();
        append_all(&Wal::open(tmp.path(), o).unwrap(), 1..=50);
        let seg = segment_paths(tmp.path()).pop().unwrap();
        let recs = record_offsets(&seg);
        let (off, seq, len) = recs[24];
        assert_eq!(seq, 25);
        flip_byte(&seg, off + 16 + len as u64 / 2);

        let (file, offset, msg) = corrupt_err(tmp.path(), o);
        assert_eq!(file, seg);
        assert_eq!(offset, off);
        assert!(msg.contains(&seg.display().to_string()), "{msg}");
        assert!(msg.contains(&format!("offset {off}")), "{msg}");

        // The tools agree, and a checksum rewrite makes the log open again.
        let report = verify_dir(tmp.path()).unwrap();
        assert_eq!(report.faults.len(), 1);
        assert_eq!(report.faults[0].offset, off);
        assert_eq!(report.faults[0].kind, FaultKind::Corrupt);
        let (old, new) = rewrite_record_checksum(&seg, off).unwrap();
        assert_ne!(old, new);
        assert!(verify_dir(tmp.path()).unwrap().is_clean());
        let wal = Wal::open(tmp.path(), o).unwrap();
        assert_eq!(read_all(&wal, 0).len(), 50);
    }
}

#[test]
fn bad_last_record_of_an_older_segment_is_corruption_not_a_torn_tail() {
    for backend in backends() {
        let o = small_opts(backend, 4096);
        let tmp = tempfile::tempdir().unwrap();
        append_all(&Wal::open(tmp.path(), o).unwrap(), 1..=100);
        let segs = segment_paths(tmp.path());
        assert!(segs.len() > 2);
        let (off, _, _) = *record_offsets(&segs[0]).last().unwrap();
        flip_byte(&segs[0], off + 9);
        let (file, offset, _) = corrupt_err(tmp.path(), o);
        assert_eq!((file, offset), (segs[0].clone(), off));
    }
}

#[test]
fn damaged_header_is_corruption_at_offset_zero() {
    for backend in backends() {
        let o = opts(backend);
        let tmp = tempfile::tempdir().unwrap();
        append_all(&Wal::open(tmp.path(), o).unwrap(), 1..=10);
        let seg = segment_paths(tmp.path()).pop().unwrap();
        flip_byte(&seg, 17);
        let (file, offset, msg) = corrupt_err(tmp.path(), o);
        assert_eq!((file, offset), (seg, 0));
        assert!(msg.contains("checksum"), "{msg}");
    }
}

#[test]
fn damaged_length_or_zeroed_frame_before_valid_records_is_corruption() {
    for backend in backends() {
        let o = opts(backend);
        // A flipped length byte.
        let tmp = tempfile::tempdir().unwrap();
        append_all(&Wal::open(tmp.path(), o).unwrap(), 1..=50);
        let seg = segment_paths(tmp.path()).pop().unwrap();
        let (off, _, _) = record_offsets(&seg)[30];
        flip_byte(&seg, off + 1);
        let (_, offset, _) = corrupt_err(tmp.path(), o);
        assert_eq!(offset, off);

        // A whole frame header zeroed: looks like the end of data, but records follow.
        let tmp = tempfile::tempdir().unwrap();
        append_all(&Wal::open(tmp.path(), o).unwrap(), 1..=50);
        let seg = segment_paths(tmp.path()).pop().unwrap();
        let (off, _, _) = record_offsets(&seg)[30];
        write_bytes(&seg, off, &[0u8; 16]);
        let (_, offset, msg) = corrupt_err(tmp.path(), o);
        assert_eq!(offset, off, "{msg}");
    }
}
