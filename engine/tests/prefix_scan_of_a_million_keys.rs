//! Listing the children of a znode is a prefix scan; it must return every child, in
//! order, however many there are and however they are spread over memtables and levels.

mod common;

use warren_engine::{Engine, EngineOptions, ReadSeq, WriteBatch};

#[test]
#[cfg_attr(debug_assertions, ignore = "1M keys: run with --release")]
fn prefix_scan_over_a_million_keys_returns_them_all_in_order() {
    const N: u32 = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let opts = EngineOptions {
        memtable_bytes: 4 << 20,
        block_bytes: 4096,
        level1_bytes: 8 << 20,
        target_file_bytes: 2 << 20,
        block_cache_bytes: 4 << 20,
        ..common::small_opts()
    };
    let e = Engine::open(dir.path(), opts).unwrap();
    let mut seq = 0;
    // Keys of the parent "/p" (prefix "n/p\0"), written in a shuffled order, with
    // neighbours on both sides that must not show up.
    let mut b = WriteBatch::new();
    for i in 0..N {
        let j = (u64::from(i) * 7_919 % u64::from(N)) as u32;
        b.put(format!("n/p\0child{j:07}"), "d");
        if i % 10 == 0 {
            b.put(format!("n/o\0x{j:07}"), "before");
            b.put(format!("n/p/deeper\0x{j:07}"), "after");
        }
        if b.len() >= 1_000 {
            seq += 1;
            e.write(seq, std::mem::take(&mut b)).unwrap();
        }
    }
    seq += 1;
    e.write(seq, b).unwrap();
    // Part of the data is still in memtables, part in L0, part deeper.
    let st = e.stats();
    assert!(st.flushes > 0);
    let mut n = 0u32;
    for kv in e.scan_prefix(b"n/p\0", ReadSeq::Latest).unwrap() {
        let (k, v) = kv.unwrap();
        assert_eq!(k, format!("n/p\0child{n:07}").as_bytes());
        assert_eq!(v, b"d");
        n += 1;
    }
    assert_eq!(n, N);
    // A prefix near the end of the range seeks instead of walking from the start.
    let before = e.stats().blocks_read + e.stats().cache_hits;
    let tail: Vec<_> = e
        .scan_prefix(b"n/p\0child099999", ReadSeq::Latest)
        .unwrap()
        .collect();
    assert_eq!(tail.len(), 10);
    let touched = e.stats().blocks_read + e.stats().cache_hits - before;
    assert!(touched < 200, "a 10-key scan touched {touched} blocks");
}
