//! `sync` means "catch up with the leader": on a follower whose log is slow (its
//! fdatasyncs delayed by strace, so the leader commits with the other follower and this
//! one applies later), a read right after a sync must see every write the leader
//! acknowledged before the sync was sent.

mod common;

use std::time::Duration;

use common::ensemble::Ensemble;
use common::*;

/// An ensemble whose member 3 has the slow disk and does not lead.
fn with_a_slow_follower() -> (Ensemble, usize) {
    let slow = fdatasync_fault("inject=fdatasync:delay_enter=150000");
    for _ in 0..5 {
        let e = Ensemble::start_wrapped(3, Some((2, &slow)));
        let leader = e.wait_leader(Duration::from_secs(10));
        if leader != 2 {
            return (e, leader);
        }
    }
    panic!("the member with the slow disk led in 5 ensembles out of 5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_after_sync_sees_every_write_acknowledged_before_it() {
    let (e, leader) = tokio::task::block_in_place(with_a_slow_follower);
    let writer = zk(&e.members[leader].addr()).await;
    let reader = zk(&e.members[2].addr()).await;
    let mut stale_without_sync = 0;
    for k in 0..20 {
        let path = format!("/s{k}");
        tm(writer.create(&path, b"", &persistent())).await.unwrap();
        if tm(reader.check_stat(&path)).await.unwrap().is_none() {
            stale_without_sync += 1;
        }
        let path = format!("/t{k}");
        tm(writer.create(&path, b"", &persistent())).await.unwrap();
        tm(reader.sync("/")).await.unwrap();
        assert!(
            tm(reader.check_stat(&path)).await.unwrap().is_some(),
            "{path} acknowledged by the leader is not visible on the follower after sync"
        );
    }
    // The follower must really lag for the sync to have had anything to do.
    assert!(stale_without_sync > 0, "the slow follower was never behind");
}
