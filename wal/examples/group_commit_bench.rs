//! Measures group-commit throughput: N threads appending 128-byte records (about the
//! size of a ZooKeeper setData txn), each waiting for durability before its next append.
//!
//!     cargo run --release -p warren-wal --example group_commit_bench -- [threads] [secs] [std|uring]
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use warren_wal::{Backend, Wal, WalOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args.get(1).map_or(Ok(8), |a| a.parse())?;
    let secs: u64 = args.get(2).map_or(Ok(3), |a| a.parse())?;
    let backend = match args.get(3).map(String::as_str) {
        Some("uring") => Backend::IoUring,
        _ => Backend::Std,
    };
    let dir = tempfile::tempdir()?;
    let wal = Wal::open(
        dir.path(),
        WalOptions {
            backend,
            ..WalOptions::default()
        },
    )?;
    let next = Arc::new(Mutex::new(0u64));
    let stop = Arc::new(AtomicBool::new(false));
    let payload = [0xabu8; 128];
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (wal, next, stop) = (&wal, next.clone(), stop.clone());
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let ticket = {
                        let mut g = next.lock().unwrap_or_else(|e| e.into_inner());
                        *g += 1;
                        wal.append(*g, &payload)
                    };
                    if ticket.and_then(|t| t.wait()).is_err() {
                        return;
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_secs(secs));
        stop.store(true, Ordering::Relaxed);
    });
    let elapsed = t0.elapsed().as_secs_f64();
    let st = wal.stats();
    println!(
        "backend {:?}, {threads} threads: {} appends in {elapsed:.2}s = {:.0} appends/s; {} fsyncs ({:.0}/s), {:.1} records per fsync",
        wal.backend(),
        st.appends,
        st.appends as f64 / elapsed,
        st.fsyncs,
        st.fsyncs as f64 / elapsed,
        st.appends as f64 / st.fsyncs.max(1) as f64
    );
    Ok(())
}
