//! `truncate_after(seq)` drops every record above seq, across segments, durably.
mod common;

use common::*;
use warren_wal::{verify_dir, Wal};

#[test]
fn truncate_after_drops_later_records_and_appends_continue() {
    for backend in backends() {
        let o = small_opts(backend, 8192);
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::open(tmp.path(), o).unwrap();
        append_all(&wal, 1..=300);
        let before = wal.segments();
        wal.truncate_after(150).unwrap();
        assert_eq!(wal.last_seq(), 150);
        assert_eq!(wal.durable_seq(), 150);
        let after = wal.segments();
        assert!(after.len() < before.len());
        assert!(after.iter().all(|s| s.first_seq <= 150));
        assert_eq!(after.last().unwrap().last_seq, Some(150));
        assert!(after.last().unwrap().active);
        assert_records(&read_all(&wal, 0), &(1..=150).collect::<Vec<_>>());
        assert!(wal.append(150, b"again").is_err());
        append_all(&wal, 151..=200);
        drop(wal);
        assert!(verify_dir(tmp.path()).unwrap().is_clean());
        let wal = Wal::open(tmp.path(), o).unwrap();
        assert_records(&read_all(&wal, 0), &(1..=200).collect::<Vec<_>>());

        // Above the last seq: nothing happens.
        wal.truncate_after(1000).unwrap();
        assert_eq!(wal.last_seq(), 200);

        // Just below a segment boundary: the later segment disappears entirely.
        let segs = wal.segments();
        let boundary = segs[2].first_seq;
        wal.truncate_after(boundary - 1).unwrap();
        assert_eq!(wal.segments().len(), 2);
        assert_eq!(wal.last_seq(), boundary - 1);

        // Below everything: the log is empty and starts over.
        wal.truncate_after(0).unwrap();
        assert_eq!(wal.last_seq(), 0);
        assert!(wal.segments().is_empty());
        append_all(&wal, 1..=5);
        drop(wal);
        let wal = Wal::open(tmp.path(), o).unwrap();
        assert_records(&read_all(&wal, 0), &(1..=5).collect::<Vec<_>>());
    }
}

#[test]
fn truncate_waits_for_in_flight_appends() {
    for backend in backends() {
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::open(tmp.path(), opts(backend)).unwrap();
        // Tickets not yet waited for: truncate must write them before cutting.
        let tickets: Vec<_> = (1..=100)
            .map(|s| wal.append(s, &payload(s)).unwrap())
            .collect();
        wal.truncate_after(60).unwrap();
        for t in tickets {
            t.wait().unwrap();
        }
        assert_records(&read_all(&wal, 0), &(1..=60).collect::<Vec<_>>());
    }
}
