//! Records appended, the log dropped and reopened: everything replays, in order, from
//! any starting seq, and appends continue above the old last seq.
mod common;

use common::*;
use warren_wal::{Wal, WalError, MAX_PAYLOAD};

#[test]
fn appended_records_replay_after_reopen() {
    for backend in backends() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested/wal");
        let seqs: Vec<u64> = (1..=500).map(|i| i * 2).collect();
        {
            let wal = Wal::open(&dir, opts(backend)).unwrap();
            assert_eq!(wal.last_seq(), 0);
            assert!(read_all(&wal, 0).is_empty());
            append_all(&wal, seqs.iter().copied());
            assert_eq!(wal.last_seq(), 1000);
            assert_eq!(wal.durable_seq(), 1000);
            // Replay of the live log sees everything written.
            assert_records(&read_all(&wal, 0), &seqs);
        }
        let wal = Wal::open(&dir, opts(backend)).unwrap();
        assert_eq!(wal.last_seq(), 1000);
        assert_eq!(wal.durable_seq(), 1000);
        assert_records(&read_all(&wal, 0), &seqs);
        assert_records(&read_all(&wal, 501), &seqs[250..]);
        assert_records(&read_all(&wal, 500), &seqs[249..]);
        assert!(read_all(&wal, 1001).is_empty());

        append_all(&wal, [1001, 1005]);
        drop(wal);
        let wal = Wal::open(&dir, opts(backend)).unwrap();
        let mut all = seqs.clone();
        all.extend([1001, 1005]);
        assert_records(&read_all(&wal, 0), &all);
    }
}

#[test]
fn seq_must_increase_and_payload_is_bounded() {
    for backend in backends() {
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::open(tmp.path(), opts(backend)).unwrap();
        assert!(matches!(
            wal.append(0, b"x"),
            Err(WalError::SeqNotIncreasing { seq: 0, last: 0 })
        ));
        wal.append(5, b"x").unwrap().wait().unwrap();
        assert!(matches!(
            wal.append(5, b"y"),
            Err(WalError::SeqNotIncreasing { seq: 5, last: 5 })
        ));
        let big = vec![0u8; MAX_PAYLOAD + 1];
        assert!(matches!(
            wal.append(6, &big),
            Err(WalError::RecordTooLarge { .. })
        ));
        // Empty payloads are fine (the length field counts the seq, so never zero).
        wal.append(6, b"").unwrap().wait().unwrap();
        drop(wal);
        let wal = Wal::open(tmp.path(), opts(backend)).unwrap();
        let recs = read_all(&wal, 0);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].payload, b"");
    }
}

#[test]
fn second_writer_is_refused_and_bad_dir_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Wal::open(tmp.path(), opts(backends()[0])).unwrap();
    let err = Wal::open(tmp.path(), opts(backends()[0])).err().unwrap();
    assert!(matches!(err, WalError::Locked { .. }), "{err}");
    drop(wal);
    Wal::open(tmp.path(), opts(backends()[0])).unwrap();

    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = Wal::open(&file, opts(backends()[0])).err().unwrap();
    let msg = err.to_string();
    assert!(matches!(err, WalError::Io { .. }), "{msg}");
    assert!(msg.contains("not-a-dir"), "{msg}");
}

#[test]
fn large_records_get_their_own_segment() {
    for backend in backends() {
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::open(tmp.path(), small_opts(backend, 4096)).unwrap();
        let big = vec![7u8; 20_000];
        wal.append(1, b"small").unwrap().wait().unwrap();
        wal.append(2, &big).unwrap().wait().unwrap();
        wal.append(3, b"after").unwrap().wait().unwrap();
        assert_eq!(wal.segments().len(), 3);
        drop(wal);
        let wal = Wal::open(tmp.path(), small_opts(backend, 4096)).unwrap();
        let recs = read_all(&wal, 0);
        assert_eq!(recs[1].payload, big);
        assert_eq!(recs[2].payload, b"after");
    }
}
