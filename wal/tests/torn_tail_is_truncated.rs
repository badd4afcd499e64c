//! A crash mid-write leaves a partial or garbled last record followed only by zeros or
//! end of file. Open zeroes it, keeps everything before it, and appends carry on.
mod common;

use common::*;
use warren_wal::{verify_dir, FaultKind, Wal, WalOptions};

fn setup(backend: warren_wal::Backend, o: WalOptions) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Wal::open(tmp.path(), o).unwrap();
    let _ = backend;
    append_all(&wal, 1..=50);
    drop(wal);
    let last = segment_paths(tmp.path()).pop().unwrap();
    (tmp, last)
}

fn assert_recovers_to_49(dir: &std::path::Path, o: WalOptions) {
    let wal = Wal::open(dir, o).unwrap();
    assert_eq!(wal.last_seq(), 49);
    assert_records(&read_all(&wal, 0), &(1..=49).collect::<Vec<_>>());
    // The lost seq can be appended again, and the result survives a reopen.
    append_all(&wal, [50, 51]);
    drop(wal);
    let wal = Wal::open(dir, o).unwrap();
    assert_records(&read_all(&wal, 0), &(1..=51).collect::<Vec<_>>());
    assert!(verify_dir(dir).unwrap().is_clean());
}

#[test]
fn file_cut_mid_record_is_truncated() {
    for backend in backends() {
        let o = opts(backend);
        let (tmp, last) = setup(backend, o);
        let (off, seq, len) = *record_offsets(&last).last().unwrap();
        assert_eq!(seq, 50);
        assert!(len > 10);
        // Cut inside the payload of seq 50: no preallocated zeros remain, just EOF.
        let f = std::fs::OpenOptions::new().write(true).open(&last).unwrap();
        f.set_len(off + 16 + 5).unwrap();
        drop(f);
        let report = verify_dir(tmp.path()).unwrap();
        assert_eq!(report.faults.len(), 1);
        assert_eq!(report.faults[0].kind, FaultKind::TornTail);
        assert_eq!(report.faults[0].offset, off);
        assert_recovers_to_49(tmp.path(), o);

        // Cut inside the frame header itself.
        let (tmp, last) = setup(backend, o);
        let (off, _, _) = *record_offsets(&last).last().unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&last).unwrap();
        f.set_len(off + 7).unwrap();
        drop(f);
        assert_recovers_to_49(tmp.path(), o);
    }
}

#[test]
fn garbage_after_a_valid_length_is_truncated() {
    for backend in backends() {
        let o = opts(backend);
        let (tmp, last) = setup(backend, o);
        let (off, _, len) = *record_offsets(&last).last().unwrap();
        let end = off + 16 + len as u64;
        // Seq 50's frame keeps its length but its checksum, seq and the first part of its
        // payload are overwritten; the rest of the payload reads as zeros. Then the
        // preallocated zero space follows.
        write_bytes(
            &last,
            off + 4,
            &[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7],
        );
        write_bytes(&last, off + 16, &vec![0u8; len]);
        write_bytes(&last, off + 16, &[0x99; 3]);
        assert!(std::fs::metadata(&last).unwrap().len() > end);
        // Only the damaged bytes are zeroed, not the whole preallocated extent.
        let fault = verify_dir(tmp.path()).unwrap().faults[0].clone();
        assert_eq!(fault.kind, FaultKind::TornTail);
        assert!(fault.offset == off && fault.end <= end, "{fault:?}");
        assert_recovers_to_49(tmp.path(), o);
        // The zeroed bytes really are gone from the file (beyond what 50 and 51 rewrote).
        let bytes = std::fs::read(&last).unwrap();
        let used: u64 = record_offsets(&last)
            .last()
            .map(|&(o, _, l)| o + 16 + l as u64)
            .unwrap();
        let zeros = [0u8; 4096];
        assert!(bytes[used as usize..]
            .chunks(4096)
            .all(|c| c == &zeros[..c.len()]));
    }
}

#[test]
fn half_written_new_record_after_the_last_is_truncated() {
    for backend in backends() {
        let o = opts(backend);
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::open(tmp.path(), o).unwrap();
        append_all(&wal, 1..=49);
        drop(wal);
        let last = segment_paths(tmp.path()).pop().unwrap();
        let (off, _, len) = *record_offsets(&last).last().unwrap();
        let end = off + 16 + len as u64;
        // A frame for seq 50 whose length landed but nothing else did...
        write_bytes(&last, end, &(8u32 + 200).to_le_bytes());
        assert_recovers_to_49(tmp.path(), o);

        // ...and one whose length field itself is torn into something huge.
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::open(tmp.path(), o).unwrap();
        append_all(&wal, 1..=49);
        drop(wal);
        let last = segment_paths(tmp.path()).pop().unwrap();
        write_bytes(&last, end, &[0xff, 0xff, 0x7f]);
        assert_recovers_to_49(tmp.path(), o);
    }
}

#[test]
fn empty_last_segment_from_a_crash_at_rotation_is_dropped() {
    for backend in backends() {
        let o = small_opts(backend, 4096);
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::open(tmp.path(), o).unwrap();
        append_all(&wal, 1..=60);
        let segs = wal.segments();
        drop(wal);
        // Keep only the header of the last segment, as if its first write never landed.
        let last = &segs.last().unwrap().path;
        write_bytes(last, 32, &vec![0u8; 4000]);
        let wal = Wal::open(tmp.path(), o).unwrap();
        assert_eq!(wal.segments().len(), segs.len() - 1);
        let kept = segs[segs.len() - 2].last_seq.unwrap();
        assert_eq!(wal.last_seq(), kept);
        append_all(&wal, kept + 1..=80);
        drop(wal);
        let wal = Wal::open(tmp.path(), o).unwrap();
        assert_records(&read_all(&wal, 0), &(1..=80).collect::<Vec<_>>());
    }
}
