//! Size-based rotation, preallocation, and purging of segments wholly below a seq.
mod common;

use common::*;
use warren_wal::{segment_file_name, Wal, WalOptions};

#[test]
fn segments_rotate_by_size_and_replay_across_them() {
    for backend in backends() {
        for preallocate in [true, false] {
            let tmp = tempfile::tempdir().unwrap();
            let o = WalOptions {
                preallocate,
                ..small_opts(backend, 8192)
            };
            let wal = Wal::open(tmp.path(), o).unwrap();
            append_all(&wal, 1..=300);
            let segs = wal.segments();
            assert!(segs.len() > 5, "expected rotation, got {}", segs.len());
            assert_eq!(segs[0].first_seq, 1);
            for w in segs.windows(2) {
                assert_eq!(Some(w[1].first_seq - 1), w[0].last_seq);
                assert!(w[0].bytes <= 8192);
                assert!(!w[0].active);
            }
            assert!(segs.last().unwrap().active);
            for s in &segs {
                assert_eq!(
                    s.path.file_name().unwrap().to_str().unwrap(),
                    segment_file_name(s.first_seq)
                );
                let len = std::fs::metadata(&s.path).unwrap().len();
                if preallocate {
                    assert_eq!(len, 8192);
                } else {
                    assert_eq!(len, s.bytes);
                }
            }
            assert_eq!(wal.stats().segments_created, segs.len() as u64);
            drop(wal);
            let wal = Wal::open(tmp.path(), o).unwrap();
            assert_eq!(wal.segments().len(), segs.len());
            let seqs: Vec<u64> = (1..=300).collect();
            assert_records(&read_all(&wal, 0), &seqs);
            // Continue appending into the reopened active segment, then rotate on.
            append_all(&wal, 301..=400);
            drop(wal);
            let wal = Wal::open(tmp.path(), o).unwrap();
            let seqs: Vec<u64> = (1..=400).collect();
            assert_records(&read_all(&wal, 0), &seqs);
        }
    }
}

#[test]
fn purge_deletes_only_segments_wholly_below_and_never_the_active_one() {
    for backend in backends() {
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::open(tmp.path(), small_opts(backend, 8192)).unwrap();
        append_all(&wal, 1..=300);
        let segs = wal.segments();
        // A seq inside segment 3: segments 0..3 hold only lower seqs.
        let cut = segs[3].first_seq + 1;
        assert_eq!(wal.purge_below(cut).unwrap(), 3);
        let after = wal.segments();
        assert_eq!(after.len(), segs.len() - 3);
        assert_eq!(after[0].first_seq, segs[3].first_seq);
        for s in &segs[..3] {
            assert!(!s.path.exists());
        }
        // Exactly at a segment's first seq: the one before it goes too.
        assert_eq!(wal.purge_below(segs[5].first_seq).unwrap(), 2);
        assert_eq!(wal.purge_below(segs[5].first_seq).unwrap(), 0);
        let seqs: Vec<u64> = (segs[5].first_seq..=300).collect();
        assert_records(&read_all(&wal, 0), &seqs);
        // Purging everything keeps the active segment.
        wal.purge_below(u64::MAX).unwrap();
        let left = wal.segments();
        assert_eq!(left.len(), 1);
        assert!(left[0].active);
        assert_eq!(left[0].last_seq, Some(300));
        append_all(&wal, 301..=310);
        drop(wal);
        let wal = Wal::open(tmp.path(), small_opts(backend, 8192)).unwrap();
        let first = left[0].first_seq;
        let seqs: Vec<u64> = (first..=310).collect();
        assert_records(&read_all(&wal, 0), &seqs);
        assert_records(&read_all(&wal, 305), &(305..=310).collect::<Vec<_>>());
    }
}
