//! Many threads and async tasks appending at once share fsyncs: the writer's counter
//! shows fewer fdatasyncs than appends, and every completed append is durable.
mod common;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use common::*;
use warren_wal::{FsyncPolicy, Wal, WalOptions};

/// Appends `per_thread` records from each of `threads` threads. Seqs are handed out
/// under a lock together with the append, as the server does with zxids; the wait for
/// durability happens outside it, which is what lets groups form.
fn hammer(wal: &Wal, threads: usize, per_thread: usize, acks_are_durable: bool) {
    let next = Arc::new(Mutex::new(wal.last_seq()));
    std::thread::scope(|s| {
        for _ in 0..threads {
            let next = next.clone();
            s.spawn(move || {
                for _ in 0..per_thread {
                    let ticket = {
                        let mut g = next.lock().unwrap();
                        *g += 1;
                        wal.append(*g, &payload(*g)).unwrap()
                    };
                    let seq = ticket.seq();
                    ticket.wait().unwrap();
                    if acks_are_durable {
                        assert!(wal.durable_seq() >= seq);
                    }
                }
            });
        }
    });
}

#[test]
fn concurrent_threads_share_fsyncs() {
    for backend in backends() {
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::open(tmp.path(), opts(backend)).unwrap();
        let (threads, per_thread) = (8, 400);
        let t0 = Instant::now();
        hammer(&wal, threads, per_thread, true);
        let elapsed = t0.elapsed();
        let stats = wal.stats();
        let n = (threads * per_thread) as u64;
        assert_eq!(stats.appends, n);
        assert!(
            stats.fsyncs < stats.appends,
            "group commit should share fsyncs: {stats:?}"
        );
        eprintln!(
            "{backend:?} (actual {:?}): {n} appends from {threads} threads in {elapsed:?} = {:.0} appends/s, {} fsyncs, {} writes",
            wal.backend(),
            n as f64 / elapsed.as_secs_f64(),
            stats.fsyncs,
            stats.writes
        );
        drop(wal);
        let wal = Wal::open(tmp.path(), opts(backend)).unwrap();
        let seqs: Vec<u64> = (1..=n).collect();
        assert_records(&read_all(&wal, 0), &seqs);
    }
}

#[test]
fn async_tasks_await_durability_without_blocking() {
    for backend in backends() {
        let tmp = tempfile::tempdir().unwrap();
        let wal = Wal::open(tmp.path(), opts(backend)).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let next = Arc::new(Mutex::new(0u64));
        rt.block_on(async {
            let mut tasks = Vec::new();
            for _ in 0..64 {
                let wal = wal.clone();
                let next = next.clone();
                tasks.push(tokio::spawn(async move {
                    for _ in 0..20 {
                        let ticket = {
                            let mut g = next.lock().unwrap();
                            *g += 1;
                            wal.append(*g, &payload(*g)).unwrap()
                        };
                        let seq = ticket.seq();
                        ticket.durable().await.unwrap();
                        assert!(wal.durable_seq() >= seq);
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
        let stats = wal.stats();
        assert_eq!(stats.appends, 64 * 20);
        assert!(stats.fsyncs < stats.appends, "{stats:?}");
        drop(wal);
        let wal = Wal::open(tmp.path(), opts(backend)).unwrap();
        assert_eq!(read_all(&wal, 0).len(), 64 * 20);
    }
}

#[test]
fn dropped_durable_future_is_harmless() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Wal::open(tmp.path(), opts(backends()[0])).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        for seq in 1..=50u64 {
            let t = wal.append(seq, b"x").unwrap();
            // Race the future against an immediately ready branch, dropping it
            // (registered or not) half the time.
            let fut = t.durable();
            if seq % 2 == 0 {
                tokio::select! {
                    biased;
                    r = fut => r.unwrap(),
                    _ = std::future::ready(()) => {}
                }
            } else {
                fut.await.unwrap();
            }
        }
    });
    wal.sync().unwrap();
    assert_eq!(wal.durable_seq(), 50);
}

#[test]
fn relaxed_policies_ack_on_write_and_sync_makes_durable() {
    for backend in backends() {
        for policy in [FsyncPolicy::EveryMillis(20), FsyncPolicy::Never] {
            let tmp = tempfile::tempdir().unwrap();
            let o = WalOptions {
                fsync: policy,
                ..opts(backend)
            };
            let wal = Wal::open(tmp.path(), o).unwrap();
            hammer(&wal, 4, 100, false);
            let before = wal.stats().fsyncs;
            wal.sync().unwrap();
            assert_eq!(wal.durable_seq(), 400, "{policy:?}");
            assert!(wal.stats().fsyncs <= before + 1);
            if policy == FsyncPolicy::Never {
                assert!(before <= 1, "Never should not fsync per group: {before}");
            }
            if let FsyncPolicy::EveryMillis(_) = policy {
                // A lone append becomes durable by the timer, without sync().
                wal.append(401, b"t").unwrap().wait().unwrap();
                let t0 = Instant::now();
                while wal.durable_seq() < 401 {
                    assert!(t0.elapsed().as_secs() < 5, "timer fsync never came");
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
            drop(wal);
            let wal = Wal::open(tmp.path(), o).unwrap();
            assert!(read_all(&wal, 0).len() >= 400);
        }
    }
}
