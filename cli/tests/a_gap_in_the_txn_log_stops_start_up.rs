//! A data dir whose log lost a segment must not start as if nothing happened: replay
//! would skip the missing txns and serve a partial tree. The server refuses to start,
//! names the missing zxids and the tools that help, and exits non-zero.

mod common;

use std::time::Duration;

use common::*;

/// Writes enough 1 KiB nodes to fill several 1 MiB log segments, then kills the server
/// (so nothing is flushed and start-up must replay the log).
fn server_with_several_segments() -> (Warren, Vec<std::path::PathBuf>) {
    let mut w = Warren::start_with("preAllocSize=1024\n");
    let mut r = Raw::connect(&w.addr(), 30_000);
    create_nodes(&mut r, 3000, 1024);
    w.kill9();
    let mut segments: Vec<_> = std::fs::read_dir(w.data_dir().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    segments.sort();
    assert!(segments.len() >= 3, "want 3+ segments, have {segments:?}");
    (w, segments)
}

fn refused(mut w: Warren) -> String {
    w.spawn_without_waiting();
    let status = w
        .wait_exit(Duration::from_secs(20))
        .expect("the server started on a log with a gap");
    assert!(!status.success());
    w.log()
}

#[test]
fn a_lost_middle_segment_is_named_and_start_up_refused() {
    let (w, segments) = server_with_several_segments();
    std::fs::remove_file(&segments[1]).unwrap();
    let log = refused(w);
    assert!(log.contains("the txn log is missing zxids"), "{log}");
    assert!(
        log.contains("txnlog verify") && log.contains("replay --to-zxid"),
        "{log}"
    );
}

#[test]
fn a_lost_first_segment_is_named_and_start_up_refused() {
    let (w, segments) = server_with_several_segments();
    std::fs::remove_file(&segments[0]).unwrap();
    let log = refused(w);
    assert!(log.contains("the txn log is missing zxids 0x1 to"), "{log}");
}
