//! Once a compaction has dropped old versions, reads below its horizon must fail even if
//! the engine is reopened with a longer retention: the manifest records the horizon.

use warren_engine::{Engine, EngineError, EngineOptions, ReadSeq, WriteBatch};

fn put(e: &Engine, seq: u64, v: &str) {
    let mut b = WriteBatch::new();
    b.put(b"k", v.as_bytes());
    e.write(seq, b).unwrap();
}

#[test]
fn reads_below_a_compacted_horizon_fail_after_reopen_with_more_retention() {
    let dir = tempfile::tempdir().unwrap();
    let opts = EngineOptions {
        retention_seqs: 2,
        ..EngineOptions::default()
    };
    let e = Engine::open(dir.path(), opts.clone()).unwrap();
    for seq in 1..=10 {
        put(&e, seq, &format!("v{seq}"));
    }
    e.compact_all().unwrap();
    let horizon = e.oldest_readable_seq();
    assert_eq!(horizon, 8);
    assert_eq!(
        e.get(b"k", ReadSeq::At(9)).unwrap().as_deref(),
        Some(&b"v9"[..])
    );
    e.close().unwrap();

    let longer = EngineOptions {
        retention_seqs: 1_000,
        ..opts
    };
    let e = Engine::open(dir.path(), longer).unwrap();
    assert!(e.oldest_readable_seq() >= horizon);
    assert!(matches!(
        e.get(b"k", ReadSeq::At(3)),
        Err(EngineError::SeqTooOld { .. })
    ));
    assert_eq!(
        e.get(b"k", ReadSeq::At(9)).unwrap().as_deref(),
        Some(&b"v9"[..])
    );
}
