//! A data dir belongs to one process: a second server started on it by mistake stops with
//! a message naming the dir instead of running flushes and compactions in a directory
//! another process writes. The offline tools open a data dir read-only: they work beside
//! a live server, see what it has acknowledged, and change nothing there.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::*;
use warren_proto::consts::op;
use warren_proto::{Acl, CreateRequest, Request};

fn warren(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warren"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .output()
        .expect("run warren")
}

/// Every file under `dir`, with its size.
fn tree(dir: &Path) -> BTreeSet<(String, u64)> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            out.extend(tree(&p));
        } else {
            out.insert((p.display().to_string(), e.metadata().unwrap().len()));
        }
    }
    out
}

#[test]
fn a_second_server_refuses_a_data_dir_in_use() {
    let w = Warren::start();
    let data = w.data_dir();
    let d = data.to_str().unwrap();
    let port = free_port().to_string();
    let second = warren(&["--data-dir", d, "--port", &port]);
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "a second server started: {err}");
    assert!(err.contains("in use by another Warren process"), "{err}");
    assert!(err.contains(d), "{err}");
    assert_eq!(
        four_letter(w.port, "ruok"),
        "imok",
        "the first server must go on"
    );
}

#[test]
fn a_tool_reads_a_live_servers_data_dir_and_changes_nothing_there() {
    let mut w = Warren::start();
    let mut c = Raw::connect(&w.addr(), 30_000);
    for i in 0..200 {
        let create = Request::Create {
            op: op::CREATE,
            req: CreateRequest {
                path: format!("/live{i}"),
                data: Some(b"acknowledged".to_vec()),
                acl: Acl::open_unsafe().into(),
                flags: 0,
            },
        };
        assert_eq!(c.err(&create), 0);
    }
    let data = w.data_dir();
    let d = data.to_str().unwrap();
    let before = tree(&data);

    let dump = warren(&["snapshot", "dump", d]);
    let out = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.status.success(),
        "snapshot dump beside the server: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    for i in [0, 199] {
        assert!(
            out.contains(&format!("/live{i}")),
            "/live{i} missing from the dump"
        );
    }
    assert_eq!(tree(&data), before, "the tool changed the live data dir");
    assert_eq!(four_letter(w.port, "ruok"), "imok");

    // The server goes on, and its own restart finds everything.
    assert!(w.stop().success());
    w.restart();
    let mut c = Raw::connect(&w.addr(), 30_000);
    let exists = Request::Exists(warren_proto::PathWatchRequest {
        path: "/live199".into(),
        watch: false,
    });
    assert_eq!(c.err(&exists), 0);
}

#[test]
fn a_tool_reads_a_data_dir_while_the_server_flushes_and_compacts_it() {
    let w = Warren::start_with("warren.memoryBudgetMB=16\n");
    let addr = w.addr();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut c = Raw::connect(&addr, 30_000);
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let create = Request::Create {
                    op: op::CREATE,
                    req: CreateRequest {
                        path: format!("/busy{i}"),
                        data: Some(vec![b'b'; 16 << 10]),
                        acl: Acl::open_unsafe().into(),
                        flags: 0,
                    },
                };
                assert_eq!(c.err(&create), 0);
                i += 1;
            }
            i
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    let d = w.data_dir();
    let tables_before = tree(&d.join("engine"));
    for round in 0..5 {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let dump = warren(&["snapshot", "dump", d.to_str().unwrap()]);
        assert!(
            dump.status.success(),
            "dump {round} beside a busy server: {}",
            String::from_utf8_lossy(&dump.stderr)
        );
        assert!(String::from_utf8_lossy(&dump.stdout).contains("/busy0"));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let created = writer.join().unwrap();
    eprintln!("{created} creates during the dumps");
    assert_ne!(
        tree(&d.join("engine")),
        tables_before,
        "the server wrote no table while the tool read: the test tested nothing"
    );
    assert_eq!(four_letter(w.port, "ruok"), "imok");
}
