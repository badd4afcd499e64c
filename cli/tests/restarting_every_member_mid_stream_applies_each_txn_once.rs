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

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::ensemble::Ensemble;
use common::*;
use zookeeper_client::CreateMode;

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
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let attempted = Arc::new(AtomicUsize::new(0));
    let value = vec![7u8; 1024];
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let (c, acked, attempted, value) =
            (c.clone(), acked.clone(), attempted.clone(), value.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                attempted.fetch_add(1, Ordering::SeqCst);
                let create = c.create("/seq/n-", &value, &opts(CreateMode::PersistentSequential));
                match tokio::time::timeout(CALL_TIMEOUT, create).await {
                    Ok(Ok((_, seq))) => acked
                        .lock()
                        .unwrap()
                        .push(format!("n-{:010}", seq.into_i64())),
                    _ => return,
                }
            }
        }));
    }
    let end = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < ACKED_BEFORE_KILL {
        assert!(Instant::now() < end, "the load did not get going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for m in &mut e.members {
        m.kill9();
    }
    for t in tasks {
        let _ = t.await;
    }
    let acked: BTreeSet<String> = acked.lock().unwrap().iter().cloned().collect();
    let attempted = attempted.load(Ordering::SeqCst);
    tokio::task::block_in_place(|| {
        for m in &mut e.members {
            m.spawn_without_waiting();
        }
    });
    let leader = tokio::task::block_in_place(|| e.wait_leader(Duration::from_secs(20)));
    let c = zk(&e.members[leader].addr()).await;
    // A write through the new leader: once it is everywhere, so is everything before it.
    tm(c.create("/after", b"", &persistent())).await.unwrap();
    let mut lists = Vec::new();
    for m in &e.members {
        let c = zk(&m.addr()).await;
        tm(c.sync("/")).await.unwrap();
        let children: BTreeSet<String> = tm(c.list_children("/seq"))
            .await
            .unwrap()
            .into_iter()
            .collect();
        let missing: Vec<&String> = acked.difference(&children).take(5).collect();
        assert!(
            missing.is_empty(),
            "{}: acknowledged creates are missing: {missing:?}",
            m.addr()
        );
        assert!(
            children.len() <= attempted,
            "{}: {} children from {attempted} creates: some txn was applied twice",
            m.addr(),
            children.len()
        );
        lists.push(children);
    }
    assert!(
        lists.windows(2).all(|w| w[0] == w[1]),
        "the members disagree: {:?} children",
        lists.iter().map(BTreeSet::len).collect::<Vec<_>>()
    );
}
