//! Observers (`server.N=host:port:port:observer`) are Raft learners: they serve clients,
//! forward writes to the leader and apply every committed txn, but they are not part of
//! the quorum. Three participants and two observers: the observers say `Mode: observer`,
//! the leader counts them as synced observers, a write through an observer is read on
//! every member, and with two participants gone the remaining participant and the two
//! observers (three processes of five) acknowledge no write.

mod common;

use std::time::{Duration, Instant};

use common::ensemble::Ensemble;
use common::*;

/// `mntr`'s value of `key` on member `i`.
fn mntr(e: &Ensemble, i: usize, key: &str) -> Option<String> {
    four_letter(e.members[i].port, "mntr")
        .lines()
        .find_map(|l| l.strip_prefix(&format!("zk_{key}\t")).map(str::to_owned))
}

/// Waits until `check` holds, or fails the test saying `what`.
fn eventually(what: &str, check: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < end, "{what} within 10 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the leader has both observers in sync and they know it leads.
fn observers_synced(e: &Ensemble, leader: usize) {
    eventually("both observers synced", || {
        mntr(e, leader, "synced_observers").as_deref() == Some("2")
            && (3..5).all(|i| mntr(e, i, "peer_state").as_deref() == Some("observing - broadcast"))
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observers_serve_clients_and_the_leader_counts_them_apart() {
    let e = tokio::task::block_in_place(|| Ensemble::start_observed(3, 2));
    let leader = e.wait_leader(Duration::from_secs(10));
    assert!(leader < 3, "an observer leads: member {}", leader + 1);
    for i in 3..5 {
        assert_eq!(e.mode(i), "observer");
        assert_eq!(
            mntr(&e, i, "peer_state").as_deref(),
            Some("observing - broadcast")
        );
    }
    tokio::task::block_in_place(|| {
        eventually("both observers synced", || {
            mntr(&e, leader, "synced_observers").as_deref() == Some("2")
        })
    });
    assert_eq!(mntr(&e, leader, "synced_followers").as_deref(), Some("2"));
    assert_eq!(mntr(&e, leader, "quorum_size").as_deref(), Some("3"));
    assert_eq!(mntr(&e, leader, "learners").as_deref(), Some("4"));

    let through_observer = zk(&e.members[3].addr()).await;
    tm(through_observer.create("/via-observer", b"o", &persistent()))
        .await
        .unwrap();
    for i in 0..5 {
        let c = zk(&e.members[i].addr()).await;
        tm(c.sync("/")).await.unwrap();
        let (data, _) = tm(c.get_data("/via-observer")).await.unwrap();
        assert_eq!(data, b"o", "member {}", i + 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_participants_gone_leave_no_quorum_whatever_the_observers() {
    let mut e = tokio::task::block_in_place(|| Ensemble::start_observed(3, 2));
    let leader = e.wait_leader(Duration::from_secs(10));
    tokio::task::block_in_place(|| observers_synced(&e, leader));
    let c = zk(&e.members[4].addr()).await;
    tm(c.create("/before", b"", &persistent())).await.unwrap();
    let gone: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    for &i in &gone {
        e.members[i].kill9();
    }
    // One participant and two observers: three of five processes, but one of three
    // voters. Nothing may be acknowledged.
    let w = tokio::time::timeout(
        Duration::from_secs(8),
        c.create("/without-quorum", b"", &persistent()),
    )
    .await;
    assert!(
        !matches!(w, Ok(Ok(_))),
        "a write was acknowledged by one participant and two observers"
    );
    // A participant back gives the quorum back; the observer's writes flow again.
    e.members[gone[0]].restart();
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        // Until then the observer, cut off from a quorum, turns clients away.
        let addr = e.members[3].addr();
        let connect = zookeeper_client::Client::connector()
            .with_session_timeout(Duration::from_secs(10))
            .with_fail_eagerly()
            .connect(&addr);
        if let Ok(Ok(c)) = tokio::time::timeout(Duration::from_secs(2), connect).await {
            if tm(c.create("/with-quorum", b"", &persistent()))
                .await
                .is_ok()
            {
                break;
            }
        }
        assert!(
            Instant::now() < end,
            "no write within 15 s of the quorum's return"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
