//! Without autopurge configured, the txn log must not grow with every write ever made:
//! segments wholly below what the engine has persisted (and the retention window) go,
//! and a restart after SIGKILL still finds every acknowledged write.

mod common;

use std::time::{Duration, Instant};

use common::*;
use warren_proto::{PathWatchRequest, Request};

fn segments(w: &Warren) -> usize {
    std::fs::read_dir(w.data_dir().join("wal"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "log")
        })
        .count()
}

#[test]
fn old_segments_are_purged_without_autopurge_and_nothing_acknowledged_is_lost() {
    // 2 MiB memtables (an eighth of the 16 MiB budget) flush often; 1 MiB segments.
    let mut w = Warren::start_with(
        "warren.memoryBudgetMB=16\npreAllocSize=1024\nwarren.retentionTxns=100\n\
         warren.logPurgeIntervalMs=200\n",
    );
    let mut r = Raw::connect(&w.addr(), 30_000);
    const NODES: usize = 8000;
    create_nodes(&mut r, NODES, 1024);
    // About 8 MiB of log was written; what the engine holds is not kept.
    let end = Instant::now() + Duration::from_secs(10);
    while segments(&w) > 4 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(segments(&w) <= 4, "{} segments kept", segments(&w));
    w.kill9();
    w.restart();
    let mut r = Raw::connect(&w.addr(), 30_000);
    for i in (0..NODES).step_by(97).chain([NODES - 1]) {
        let get = Request::GetData(PathWatchRequest {
            path: format!("/n{i}"),
            watch: false,
        });
        assert_eq!(r.err(&get), 0, "/n{i} lost");
    }
}
