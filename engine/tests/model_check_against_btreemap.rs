//! Random puts, deletes, reads, range scans and reopens, checked against a BTreeMap.

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;

use rand::{Rng, SeedableRng};
use warren_engine::{Engine, ReadSeq, WriteBatch};

#[test]
fn random_ops_match_a_btreemap_across_flushes_compactions_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut e = Engine::open(dir.path(), common::small_opts()).unwrap();
    let mut seq = 0u64;
    for round in 0..4 {
        for _ in 0..6_000 {
            seq += 1;
            let mut b = WriteBatch::new();
            for _ in 0..rng.gen_range(1..4) {
                let k = format!("k{:05}", rng.gen_range(0..3_000)).into_bytes();
                if rng.gen_bool(0.2) {
                    b.delete(&k);
                    model.remove(&k);
                } else {
                    let v = format!("v{seq}-{}", rng.gen_range(0..1_000_000)).into_bytes();
                    b.put(&k, &v);
                    model.insert(k, v);
                }
            }
            e.write(seq, b).unwrap();
            if rng.gen_bool(0.01) {
                let k = format!("k{:05}", rng.gen_range(0..3_000)).into_bytes();
                assert_eq!(e.get(&k, ReadSeq::Latest).unwrap(), model.get(&k).cloned());
            }
        }
        for _ in 0..50 {
            let a = format!("k{:05}", rng.gen_range(0..3_000)).into_bytes();
            let b = format!("k{:05}", rng.gen_range(0..3_000)).into_bytes();
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let got: Vec<_> = e
                .scan(lo.clone()..hi.clone(), ReadSeq::Latest)
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            let want: Vec<_> = model
                .range::<Vec<u8>, _>((Bound::Included(&lo), Bound::Excluded(&hi)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            assert_eq!(got, want);
        }
        for k in 0..3_000 {
            let k = format!("k{k:05}").into_bytes();
            assert_eq!(e.get(&k, ReadSeq::Latest).unwrap(), model.get(&k).cloned());
        }
        match round {
            1 => e.compact_all().unwrap(),
            _ => e.flush().unwrap(),
        }
        assert_eq!(e.persisted_seq(), seq);
        e.close().unwrap();
        e = Engine::open(dir.path(), common::small_opts()).unwrap();
        assert_eq!(e.last_seq(), seq);
        let all: Vec<_> = e
            .scan(.., ReadSeq::Latest)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let want: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(all, want, "after reopen in round {round}");
    }
    let st = e.stats();
    assert!(st.levels.iter().skip(1).any(|l| l.files > 0));
}

#[test]
fn scan_prefix_handles_ff_bytes_and_empty_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let e = Engine::open(dir.path(), common::small_opts()).unwrap();
    let mut b = WriteBatch::new();
    for k in [
        &b"a"[..],
        b"a\xff",
        b"a\xff\xff",
        b"b",
        b"\xff",
        b"\xff\x00",
    ] {
        b.put(k, "v");
    }
    e.write(1, b).unwrap();
    let keys = |p: &[u8]| -> Vec<Vec<u8>> {
        e.scan_prefix(p, ReadSeq::Latest)
            .unwrap()
            .map(|r| r.unwrap().0)
            .collect()
    };
    assert_eq!(keys(b"a\xff").len(), 2);
    assert_eq!(keys(b"\xff").len(), 2);
    assert_eq!(keys(b"").len(), 6);
    e.flush().unwrap();
    assert_eq!(keys(b"a").len(), 3);
}
