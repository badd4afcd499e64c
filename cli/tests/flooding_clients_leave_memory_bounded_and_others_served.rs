//! A client that floods the server, by pipelining requests without reading its replies,
//! must cost a bounded amount of memory, and every other client must go on being served.
//! ZooKeeper stops reading from clients while `globalOutstandingLimit` requests are
//! outstanding; Warren does the same, caps what one connection may have outstanding, and
//! disconnects a client whose unread replies pass `warren.clientOutboundLimitMB`.
//!
//! Before these limits, the server read every request as fast as the socket delivered it
//! and queued every reply without bound: a client that never read its socket could make
//! it hold gigabytes.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use warren_proto::consts::op;
use warren_proto::{Acl, CreateRequest, Jute, PathWatchRequest, Request, RequestHeader};

const MIB: u64 = 1 << 20;

/// The default `warren.memoryBudgetMB`, which every test here runs with.
const BUDGET: u64 = 256 * MIB;

/// Request frames, `xid` 1.., each made of `body` and the opcode `op`.
fn frames(op: i32, body: &[u8], count: usize) -> Vec<Vec<u8>> {
    (1..=count as i32)
        .map(|x| {
            let mut b = RequestHeader { xid: x, op }.to_bytes();
            b.extend_from_slice(body);
            frame(&b)
        })
        .collect()
}

/// Writes `frames` on `stream` from another thread, never reading; stops at the first
/// error (the server closed the connection). Returns how many were written.
fn flood(mut stream: TcpStream, frames: Vec<Vec<u8>>) -> std::thread::JoinHandle<usize> {
    stream
        .set_write_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    std::thread::spawn(move || {
        let mut sent = 0;
        for f in frames {
            if stream.write_all(&f).is_err() {
                break;
            }
            sent += 1;
        }
        // Keep the socket open (and unread) until the server has had its chance to act.
        std::thread::sleep(Duration::from_secs(1));
        sent
    })
}

/// Another client does a create and a getData while the flood goes on; how long it took.
fn others_are_served(addr: &str, name: &str) -> Duration {
    let started = Instant::now();
    let mut other = Raw::connect(addr, 30_000);
    let create = Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: format!("/{name}"),
            data: Some(b"still here".to_vec()),
            acl: Acl::open_unsafe().into(),
            flags: 0,
        },
    };
    assert_eq!(other.err(&create), 0, "another client's create");
    let get = Request::GetData(PathWatchRequest {
        path: format!("/{name}"),
        watch: false,
    });
    assert_eq!(other.err(&get), 0, "another client's getData");
    started.elapsed()
}

#[test]
fn a_client_that_never_reads_its_replies_is_disconnected_before_they_fill_memory() {
    let w = Warren::start_with("warren.clientOutboundLimitMB=16\n");
    let mut setup = Raw::connect(&w.addr(), 30_000);
    let big = Request::Create {
        op: op::CREATE,
        req: CreateRequest {
            path: "/big".into(),
            data: Some(vec![b'x'; 1_000_000]),
            acl: Acl::open_unsafe().into(),
            flags: 0,
        },
    };
    assert_eq!(setup.err(&big), 0);
    let before = peak_rss(w.pid());

    // 2,000 getData of a 1 MB node: about 2 GB of replies the client never reads.
    let reader = Raw::connect(&w.addr(), 30_000);
    let get = PathWatchRequest {
        path: "/big".into(),
        watch: false,
    }
    .to_bytes();
    let mut probe = reader.stream.try_clone().unwrap();
    let flooder = flood(reader.stream, frames(op::GET_DATA, &get, 2_000));

    let took = others_are_served(&w.addr(), "other");
    let sent = flooder.join().unwrap();
    assert!(
        closes_within(&mut probe, Duration::from_secs(10)),
        "the server kept the connection of a client that reads nothing ({sent} requests sent)"
    );
    let peak = peak_rss(w.pid());
    eprintln!(
        "peak RSS {} MiB (before the flood {} MiB); {sent} requests sent; another client served in {took:?}",
        peak / MIB,
        before / MIB
    );
    assert!(
        peak < BUDGET,
        "unread replies grew the server to {} MiB (from {} MiB)",
        peak / MIB,
        before / MIB
    );
    others_are_served(&w.addr(), "after");
}

#[test]
fn pipelined_writes_wait_at_the_outstanding_limit_instead_of_piling_up() {
    let w = Warren::start_with("globalOutstandingLimit=200\n");
    let before = peak_rss(w.pid());

    // 8,000 creates of 64 KiB (500 MiB) pipelined on one connection, replies unread:
    // the server can read them far faster than it can log them.
    let writer = Raw::connect(&w.addr(), 30_000);
    let frames: Vec<Vec<u8>> = (0..8_000)
        .map(|i| {
            let mut b = RequestHeader {
                xid: i + 1,
                op: op::CREATE,
            }
            .to_bytes();
            CreateRequest {
                path: format!("/flood{i}"),
                data: Some(vec![b'y'; 64 << 10]),
                acl: Acl::open_unsafe().into(),
                flags: 0,
            }
            .write(&mut b);
            frame(&b)
        })
        .collect();
    let flooder = flood(writer.stream, frames);
    std::thread::sleep(Duration::from_millis(300));
    let took = others_are_served(&w.addr(), "other");
    let sent = flooder.join().unwrap();
    assert_eq!(
        sent, 8_000,
        "the server closed a client that was only writing"
    );
    let peak = peak_rss(w.pid());
    eprintln!(
        "peak RSS {} MiB (before {} MiB); another client served in {took:?}",
        peak / MIB,
        before / MIB
    );
    assert!(
        peak < BUDGET,
        "8,000 pipelined 64 KiB creates grew the server to {} MiB (from {} MiB)",
        peak / MIB,
        before / MIB
    );
    let mut check = Raw::connect(&w.addr(), 30_000);
    let last = Request::Exists(PathWatchRequest {
        path: "/flood7999".into(),
        watch: false,
    });
    let end = Instant::now() + Duration::from_secs(30);
    while check.err(&last) != 0 {
        assert!(
            Instant::now() < end,
            "the last pipelined create never landed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The pid of the server running under a wrapper whose pid is `wrapper`.
fn child_of(wrapper: u32) -> u32 {
    let end = Instant::now() + CALL_TIMEOUT;
    loop {
        let children = std::fs::read_to_string(format!("/proc/{wrapper}/task/{wrapper}/children"))
            .unwrap_or_default();
        if let Some(pid) = children.split_whitespace().next() {
            return pid.parse().expect("a pid");
        }
        assert!(Instant::now() < end, "the wrapper started no server");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_burst_of_writes_while_the_disk_stalls_waits_in_bounded_memory() {
    // Every fdatasync of the server takes 300 ms: a disk that stalls.
    let strace = fdatasync_fault("inject=fdatasync:delay_enter=300000");
    let w = Warren::start_under(&strace, "globalOutstandingLimit=200\n");
    let server = child_of(w.pid());
    let before = peak_rss(server);

    // Four clients pipeline 1,500 creates of 64 KiB each (375 MiB in all), unread.
    let flooders: Vec<_> = (0..4)
        .map(|c| {
            let writer = Raw::connect(&w.addr(), 60_000);
            let frames = (0..1_500)
                .map(|i| {
                    let mut b = RequestHeader {
                        xid: i + 1,
                        op: op::CREATE,
                    }
                    .to_bytes();
                    CreateRequest {
                        path: format!("/burst{c}-{i}"),
                        data: Some(vec![b'z'; 64 << 10]),
                        acl: Acl::open_unsafe().into(),
                        flags: 0,
                    }
                    .write(&mut b);
                    frame(&b)
                })
                .collect();
            flood(writer.stream, frames)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let took = others_are_served(&w.addr(), "other");
    for f in flooders {
        assert_eq!(
            f.join().unwrap(),
            1_500,
            "the server closed a writing client"
        );
    }
    let peak = peak_rss(server);
    eprintln!(
        "peak RSS {} MiB (before {} MiB); another client served in {took:?}",
        peak / MIB,
        before / MIB
    );
    assert!(
        peak < BUDGET,
        "a burst during a disk stall grew the server to {} MiB (from {} MiB)",
        peak / MIB,
        before / MIB
    );
}
