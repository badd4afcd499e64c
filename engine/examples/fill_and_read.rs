//! Throughput check: fill N keys (one write per key, as the server applies one txn per
//! zxid), flush, then random point reads of existing keys.
//!
//! `CARGO_TARGET_DIR=/work/target-engine cargo run -p warren-engine --release --example fill_and_read -- 1000000`

use std::time::Instant;

use warren_engine::{Engine, EngineOptions, ReadSeq, WriteBatch};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("warren-engine-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let e = Engine::open(&dir, EngineOptions::default())?;
    let value = [b'v'; 100];
    // A multiplicative permutation makes the insert order random without an RNG.
    let key = |i: u64| format!("key{:012}", (i * 2_654_435_761) % n);

    let t = Instant::now();
    let mut b = WriteBatch::new();
    for i in 0..n {
        b.clear();
        b.put(key(i), value);
        e.write(i + 1, b.clone())?;
    }
    let fill = t.elapsed();
    e.flush()?;
    let fill_flush = t.elapsed();

    let t = Instant::now();
    let mut x = 88_172_645_463_325_252u64;
    let mut found = 0;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if e.get(key(x % n).as_bytes(), ReadSeq::Latest)?.is_some() {
            found += 1;
        }
    }
    let read = t.elapsed();
    assert_eq!(found, n);

    let t = Instant::now();
    let scanned = e.scan(.., ReadSeq::Latest)?.count();
    let scan = t.elapsed();
    let st = e.stats();
    println!("keys: {n}, value 100 B, key 15 B");
    println!(
        "fill:  {:.0} puts/s ({:.2?}; {:.2?} including the final flush)",
        n as f64 / fill.as_secs_f64(),
        fill,
        fill_flush
    );
    println!(
        "get:   {:.0} random gets/s ({:.2?})",
        n as f64 / read.as_secs_f64(),
        read
    );
    println!(
        "scan:  {:.0} keys/s ({scanned} keys, {:.2?})",
        scanned as f64 / scan.as_secs_f64(),
        scan
    );
    println!(
        "write amplification {:.2}, blocks read per get {:.3}, cache hits {} misses {}, levels {:?}",
        st.write_amplification(),
        st.read_amplification(),
        st.cache_hits,
        st.cache_misses,
        st.levels.iter().map(|l| l.files).collect::<Vec<_>>()
    );
    e.close()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
