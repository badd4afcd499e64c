//! A real crash: this test binary re-executes itself as a child that appends from
//! several threads and prints each seq only after its ticket completed. The parent
//! SIGKILLs it mid-stream, reopens the log and checks that every acknowledged seq is
//! there (and that replay is a gap-free prefix). Three rounds on the same directory, so
//! recovery of a killed log is itself exercised.
mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use warren_wal::{Backend, Wal, WalOptions};

const CHILD_DIR: &str = "WARREN_WAL_SIGKILL_CHILD_DIR";
const CHILD_BACKEND: &str = "WARREN_WAL_SIGKILL_CHILD_BACKEND";

fn child_opts(backend: Backend) -> WalOptions {
    // Small segments so kills also land around rotations.
    small_opts(backend, 64 << 10)
}

/// The child: a no-op unless the parent set the environment.
#[test]
fn sigkill_child_entry() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let backend = match std::env::var(CHILD_BACKEND).as_deref() {
        Ok("uring") => Backend::IoUring,
        _ => Backend::Std,
    };
    let wal = Wal::open(std::path::Path::new(&dir), child_opts(backend)).unwrap();
    let next = Arc::new(Mutex::new(wal.last_seq()));
    let out = Arc::new(Mutex::new(std::io::stdout()));
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (wal, next, out) = (&wal, next.clone(), out.clone());
            s.spawn(move || loop {
                let ticket = {
                    let mut g = next.lock().unwrap();
                    *g += 1;
                    wal.append(*g, &payload(*g)).unwrap()
                };
                let seq = ticket.seq();
                ticket.wait().unwrap();
                let mut o = out.lock().unwrap();
                writeln!(o, "ack {seq}").unwrap();
                o.flush().unwrap();
            });
        }
    });
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    for backend in backends() {
        let tmp = tempfile::tempdir().unwrap();
        let mut max_acked = 0u64;
        for round in 0..3 {
            let mut child = Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "sigkill_child_entry",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_DIR, tmp.path())
                .env(
                    CHILD_BACKEND,
                    if backend == Backend::IoUring {
                        "uring"
                    } else {
                        "std"
                    },
                )
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            // Read acks on a thread so the kill happens at an arbitrary moment.
            let acks = Arc::new(Mutex::new(Vec::<u64>::new()));
            let reader = {
                let acks = acks.clone();
                std::thread::spawn(move || {
                    for line in BufReader::new(stdout).lines() {
                        let Ok(line) = line else { break };
                        if let Some(n) = line.strip_prefix("ack ") {
                            acks.lock().unwrap().push(n.trim().parse().unwrap());
                        }
                    }
                })
            };
            let t0 = Instant::now();
            while acks.lock().unwrap().len() < 300 + round * 100 {
                assert!(
                    t0.elapsed() < Duration::from_secs(60),
                    "child made no progress"
                );
                std::thread::sleep(Duration::from_millis(2));
            }
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            reader.join().unwrap();
            let acked = acks.lock().unwrap().clone();
            let wal = Wal::open(tmp.path(), child_opts(backend)).unwrap();
            let records = read_all(&wal, 0);
            let present: Vec<u64> = records.iter().map(|r| r.seq).collect();
            // Replay is gap-free from 1 and carries the right payloads.
            assert_eq!(present, (1..=present.len() as u64).collect::<Vec<_>>());
            assert_records(&records, &present);
            let last = wal.last_seq();
            for seq in &acked {
                assert!(
                    *seq <= last,
                    "acknowledged seq {seq} lost (last {last}, round {round})"
                );
            }
            max_acked = max_acked.max(acked.iter().copied().max().unwrap_or(0));
            assert!(last >= max_acked);
            eprintln!(
                "{backend:?} round {round}: {} acks, max acked {max_acked}, recovered up to {last}",
                acked.len()
            );
        }
    }
}
