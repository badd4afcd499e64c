//! Memory is a budget, not a function of data size: under a workload many times larger
//! than the cache and the memtables, the cache's charge never exceeds its capacity and
//! memtables never exceed memtable_bytes × (1 + max_immutable_memtables) by more than a
//! batch.

mod common;

use rand::{Rng, SeedableRng};
use warren_engine::{Compression, Engine, EngineOptions, ReadSeq, WriteBatch};

#[test]
fn cache_and_memtables_stay_within_budget_under_a_large_workload() {
    let dir = tempfile::tempdir().unwrap();
    let opts = EngineOptions {
        memtable_bytes: 256 << 10,
        max_immutable_memtables: 1,
        block_cache_bytes: 256 << 10,
        block_bytes: 2048,
        level1_bytes: 2 << 20,
        target_file_bytes: 512 << 10,
        compression: Compression::None,
        ..common::small_opts()
    };
    let mem_budget = (opts.memtable_bytes * (1 + opts.max_immutable_memtables)) as u64;
    let cache_cap = opts.block_cache_bytes as u64;
    let e = Engine::open(dir.path(), opts).unwrap();
    let value = vec![b'v'; 200];
    const N: u64 = 60_000; // ~13 MB of user data: 50× the cache
    let mut max_mem = 0;
    for s in 1..=N {
        let mut b = WriteBatch::new();
        b.put(format!("key{:08}", (s * 48_271) % N), &value);
        e.write(s, b).unwrap();
        if s % 500 == 0 {
            let st = e.stats();
            max_mem = max_mem.max(st.memtable_bytes);
            assert!(
                st.cache_charge <= cache_cap,
                "cache {} > {}",
                st.cache_charge,
                cache_cap
            );
            assert!(
                st.memtable_bytes <= mem_budget + 4096,
                "memtables {} > budget {}",
                st.memtable_bytes,
                mem_budget
            );
        }
    }
    e.flush().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for i in 0..20_000 {
        let k = rng.gen_range(0..N);
        assert!(e
            .get(format!("key{k:08}").as_bytes(), ReadSeq::Latest)
            .unwrap()
            .is_some());
        if i % 1_000 == 0 {
            let n = e
                .scan(format!("key{k:08}").into_bytes().., ReadSeq::Latest)
                .unwrap()
                .take(500)
                .count();
            assert!(n > 0);
            assert!(e.stats().cache_charge <= cache_cap);
        }
    }
    let st = e.stats();
    assert!(st.cache_charge <= cache_cap);
    assert!(st.cache_misses > 0 && st.cache_hits > 0);
    assert!(
        st.live_sst_bytes > 10 * cache_cap,
        "workload was not larger than the cache"
    );
    eprintln!(
        "max memtable bytes {max_mem}, cache charge {} / {}, stalls {}, levels {:?}",
        st.cache_charge, cache_cap, st.write_stalls, st.levels
    );
}
