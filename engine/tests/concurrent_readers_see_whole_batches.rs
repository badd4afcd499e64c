//! Readers running alongside the writer, flushes and compactions never see half a batch.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use warren_engine::{Engine, ReadSeq, WriteBatch};

#[test]
fn concurrent_readers_never_see_half_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), common::small_opts()).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (e, done) = (e.clone(), done.clone());
            std::thread::spawn(move || {
                let mut checks = 0u64;
                while !done.load(Ordering::Relaxed) {
                    let snap = e.snapshot();
                    let a = e.get(b"a", snap.read_seq()).unwrap();
                    let b = e.get(b"b", snap.read_seq()).unwrap();
                    assert_eq!(a, b, "a and b differ at seq {}", snap.seq());
                    let vals: Vec<Vec<u8>> = e
                        .scan_prefix(b"pair/", snap.read_seq())
                        .unwrap()
                        .map(|r| r.unwrap().1)
                        .collect();
                    assert!(
                        vals.windows(2).all(|w| w[0] == w[1]),
                        "scan saw a torn batch"
                    );
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    let filler = vec![b'f'; 100];
    for seq in 1..=8_000u64 {
        let mut b = WriteBatch::new();
        let v = seq.to_be_bytes();
        b.put("a", v);
        b.put("b", v);
        for i in 0..4 {
            b.put(format!("pair/{i}"), v);
        }
        b.put(format!("fill{seq:08}"), &filler);
        e.write(seq, b).unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    assert!(e.stats().flushes > 0);
    assert_eq!(
        e.get(b"a", ReadSeq::Latest).unwrap(),
        Some(8_000u64.to_be_bytes().to_vec())
    );
}
