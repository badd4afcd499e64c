//! `warren.memoryBudgetMB` is a ceiling on the whole process, under any load: pipelined
//! creates of values close to `jute.maxbuffer` must not drive the resident set past the
//! budget (with a tenth for allocator slack), and every create the server acknowledges
//! must be readable afterwards.
//!
//! Before the fix, admission charged each request its frame's bytes once, while every
//! large value was copied five or six times on its way to the engine (the decoded
//! request, the writer's decision and overlay, the txn, the WAL record, the memtable):
//! with a budget of 64 MiB this load drove the server to about 200 MiB.

mod common;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use warren_proto::consts::op;
use warren_proto::{
    Acl, CreateRequest, GetDataResponse, Jute, PathWatchRequest, Reader, Request, StatResponse,
};

const MIB: u64 = 1 << 20;
const BUDGET_MB: u64 = 64;
const CONNECTIONS: usize = 8;
const OUTSTANDING: usize = 64;
const CREATES: usize = 1_000;
const VALUE: usize = 900_000;

/// The value of create `i`: pseudo-random bytes (so compression does not shrink them
/// away), different for every `i`.
fn value(base: &[u8], i: usize) -> Vec<u8> {
    let mut v = base.to_vec();
    v[..8].copy_from_slice(&(i as u64).to_be_bytes());
    v
}

fn base_value() -> Vec<u8> {
    incompressible(0x2545_f491_4f6c_dd1d, VALUE)
}

fn path(i: usize) -> String {
    format!("/big{i}")
}

/// One connection's share of the creates (`i ≡ c mod CONNECTIONS`), `OUTSTANDING` in
/// flight at a time; the indexes the server acknowledged, and the error codes of the
/// others.
fn load(addr: &str, c: usize, base: &[u8]) -> (Vec<usize>, Vec<(usize, i32)>) {
    let mut raw = Raw::connect(addr, 30_000);
    raw.stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    raw.stream
        .set_write_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut todo = (c..CREATES).step_by(CONNECTIONS);
    let mut in_flight: VecDeque<(i32, usize)> = VecDeque::new();
    let (mut acked, mut refused) = (Vec::new(), Vec::new());
    loop {
        while in_flight.len() < OUTSTANDING {
            let Some(i) = todo.next() else { break };
            let mut body = Vec::new();
            CreateRequest {
                path: path(i),
                data: Some(value(base, i)),
                acl: Acl::open_unsafe().into(),
                flags: 0,
            }
            .write(&mut body);
            let x = raw.send(op::CREATE, &body);
            in_flight.push_back((x, i));
        }
        let Some((x, i)) = in_flight.pop_front() else {
            break;
        };
        match raw
            .recv()
            .expect("a reply (the server closed a connection that reads)")
        {
            Frame::Reply { hdr, .. } => {
                assert_eq!(hdr.xid, x, "replies out of order");
                if hdr.err == 0 {
                    acked.push(i);
                } else {
                    refused.push((i, hdr.err));
                }
            }
            Frame::Event { .. } => panic!("an event nobody asked for"),
        }
    }
    (acked, refused)
}

#[test]
fn pipelined_900kb_creates_keep_rss_within_the_budget() {
    let w = Warren::start_with(&format!("warren.memoryBudgetMB={BUDGET_MB}\n"));
    let pid = w.pid();
    let before = rss(pid);

    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = std::thread::spawn({
        let (stop, peak) = (stop.clone(), peak.clone());
        move || {
            let mut samples = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if let Some(now) = proc_status_bytes(pid, "VmRSS:") {
                    peak.fetch_max(now, Ordering::Relaxed);
                }
                samples += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            samples
        }
    });

    let base = Arc::new(base_value());
    let started = Instant::now();
    let loaders: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            let (addr, base) = (w.addr(), base.clone());
            std::thread::spawn(move || load(&addr, c, &base))
        })
        .collect();
    let (mut acked, mut refused) = (Vec::new(), Vec::new());
    for l in loaders {
        let (a, r) = l.join().expect("a loading connection");
        acked.extend(a);
        refused.extend(r);
    }
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    let sampled = peak.load(Ordering::Relaxed);
    let hwm = peak_rss(pid);
    let limit = BUDGET_MB * MIB * 11 / 10;
    eprintln!(
        "{} creates of {VALUE} bytes acknowledged, {} refused, in {took:?}; RSS before \
         {:.1} MiB, sampled peak {:.1} MiB ({samples} samples), VmHWM {:.1} MiB; limit {:.1} MiB",
        acked.len(),
        refused.len(),
        before as f64 / MIB as f64,
        sampled as f64 / MIB as f64,
        hwm as f64 / MIB as f64,
        limit as f64 / MIB as f64,
    );

    // Every acknowledged create is there, whole.
    let mut check = Raw::connect(&w.addr(), 30_000);
    check
        .stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    acked.sort_unstable();
    for &i in &acked {
        let (hdr, body) = check
            .call(&Request::Exists(PathWatchRequest {
                path: path(i),
                watch: false,
            }))
            .expect("exists");
        assert_eq!(hdr.err, 0, "acknowledged create {} is missing", path(i));
        let stat = StatResponse::read(&mut Reader::new(&body)).expect("a Stat");
        assert_eq!(stat.stat.data_length as usize, VALUE, "{}", path(i));
    }
    for &i in acked.iter().step_by(25) {
        let (hdr, body) = check
            .call(&Request::GetData(PathWatchRequest {
                path: path(i),
                watch: false,
            }))
            .expect("getData");
        assert_eq!(hdr.err, 0, "getData {}", path(i));
        let got = GetDataResponse::read(&mut Reader::new(&body)).expect("getData reply");
        assert!(
            got.data.as_deref() == Some(&value(&base, i)[..]),
            "{} reads back other bytes than were written",
            path(i)
        );
    }

    // A value this size always fits the budget: the server may make it wait, but must
    // not refuse it.
    assert!(
        refused.is_empty(),
        "creates that fit the budget were refused: {:?}",
        &refused[..refused.len().min(10)]
    );
    assert!(
        sampled <= limit && hwm <= limit,
        "peak RSS {:.1} MiB (sampled; VmHWM {:.1} MiB) passed 1.1 × the {BUDGET_MB} MiB budget",
        sampled as f64 / MIB as f64,
        hwm as f64 / MIB as f64,
    );
}
