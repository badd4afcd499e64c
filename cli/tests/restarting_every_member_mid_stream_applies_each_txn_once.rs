//! Many clients create sequential nodes on the leader of a three-member ensemble as fast
//! as it takes them, so that its Raft entries carry many txns each, while small engine
//! budgets make the members flush their memtables often (a flush can land between two
//! txns of one entry). Then every member is killed with SIGKILL at once and restarted.
//!
//! Each member replays from what its engine held, which may be part of an entry: the
//! rest of that entry must be applied (taking the partly applied entry for applied loses
//! its remaining txns, which this test catches), and the txns it already holds are
//! skipped. So afterwards every member holds the same children, every acknowledged one
//! among them, and no more than were attempted.

mod common;

use std::time::Duration;

use common::ensemble::Ensemble;
use common::*;

const WRITERS: usize = 32;
const ACKED_BEFORE_KILL: usize = 6000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_every_member_mid_stream_applies_each_txn_once() {
    let mut e = tokio::task::block_in_place(|| {
        Ensemble::start_with(3, &|_| "warren.memoryBudgetMB=16\n".into())
    });
    let leader = e.wait_leader(Duration::from_secs(10));
    let c = zk(&e.members[leader].addr()).await;
    tm(c.create("/seq", b"", &persistent())).await.unwrap();
    let (acked, attempted) = e
        .sequential_load_then_kill_all(
            &e.members[leader].addr(),
            WRITERS,
            &[7u8; 1024],
            ACKED_BEFORE_KILL,
        )
        .await;
    tokio::task::block_in_place(|| {
        for m in &mut e.members {
            m.spawn_without_waiting();
        }
    });
    for (addr, children) in e.settled_children(&acked).await {
        assert!(
            children.len() <= attempted,
            "{addr}: {} children from {attempted} creates: some txn was applied twice",
            children.len()
        );
    }
}
