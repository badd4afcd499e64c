//! A three- and a five-member ensemble formed from zoo.cfg `server.N` lines and `myid`
//! files: writes through any member reach every member, sequential names stay unique
//! whichever member a create goes through, ephemerals vanish everywhere with their
//! session, and the ensemble survives the loss of a minority but not of a majority (whose
//! survivors then close their clients' connections).

mod common;

use std::time::{Duration, Instant};

use common::ensemble::Ensemble;
use common::*;
use zookeeper_client::CreateMode;

/// Waits until `check` holds on the member at `addr`.
async fn eventually_on(addr: &str, what: &str, check: impl Fn(&[String]) -> bool) {
    let c = zk(addr).await;
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let children = tm(c.list_children("/")).await.unwrap();
        if check(&children) {
            return;
        }
        assert!(
            Instant::now() < end,
            "{what} on {addr}: children of / are {children:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_any_member_are_read_on_every_member() {
    let e = tokio::task::block_in_place(|| Ensemble::start(3));
    let leader = e.wait_leader(Duration::from_secs(10));
    assert_eq!(
        (0..3).filter(|&i| e.mode(i) == "follower").count(),
        2,
        "leader {leader}"
    );
    let mut clients = Vec::new();
    for m in &e.members {
        clients.push(zk(&m.addr()).await);
    }
    for (i, c) in clients.iter().enumerate() {
        tm(c.create(
            &format!("/from{i}"),
            format!("{i}").as_bytes(),
            &persistent(),
        ))
        .await
        .unwrap();
        // A client reads its own write on its own server at once.
        let (data, _) = tm(c.get_data(&format!("/from{i}"))).await.unwrap();
        assert_eq!(data, format!("{i}").into_bytes());
    }
    tm(clients[0].create("/q", b"", &persistent()))
        .await
        .unwrap();
    let mut names = Vec::new();
    for round in 0..5 {
        for c in &clients {
            let (_, seq) = tm(c.create("/q/s-", b"", &opts(CreateMode::PersistentSequential)))
                .await
                .unwrap();
            names.push((round, seq.into_i64()));
        }
    }
    let seqs: Vec<i64> = names.iter().map(|(_, s)| *s).collect();
    assert_eq!(
        seqs,
        (0..15).collect::<Vec<i64>>(),
        "sequence numbers, in order of creation"
    );
    let (eph, _) = tm(clients[1].create("/eph", b"", &ephemeral()))
        .await
        .unwrap();
    assert!(eph.ephemeral_owner != 0);
    for m in &e.members {
        eventually_on(&m.addr(), "every write", |c| {
            ["from0", "from1", "from2", "q", "eph"]
                .iter()
                .all(|n| c.iter().any(|x| x == n))
        })
        .await;
    }
    let owner = clients.remove(1);
    drop(owner);
    for m in &e.members {
        eventually_on(&m.addr(), "the ephemeral gone with its session", |c| {
            !c.iter().any(|x| x == "eph")
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_members_write_on_without_two_and_stop_writing_without_three() {
    let mut e = tokio::task::block_in_place(|| Ensemble::start(5));
    let leader = e.wait_leader(Duration::from_secs(10));
    let first_other = e.other_than(leader);
    e.members[leader].kill9();
    e.members[first_other].kill9();
    let survivor = (0..5).find(|&i| i != leader && i != first_other).unwrap();
    let c = zk(&e.members[survivor].addr()).await;
    let end = Instant::now() + Duration::from_secs(10);
    // The first write after the loss may meet the election; it is retried.
    while tm(c.create("/after-two", b"", &persistent()))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < end,
            "no write within 10 s with 3 of 5 members"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A session opened while a majority lives.
    let r = zk(&e.members[survivor].addr()).await;
    assert!(tm(r.check_stat("/after-two")).await.unwrap().is_some());
    let third = (0..5)
        .find(|&i| e.members[i].is_running() && i != survivor)
        .unwrap();
    e.members[third].kill9();
    // Two of five: no majority, so no write commits, and the client is told so
    // (the server drops the connection or answers with an error) rather than acked.
    let w = tokio::time::timeout(
        Duration::from_secs(8),
        c.create("/minority", b"", &persistent()),
    )
    .await;
    assert!(
        !matches!(w, Ok(Ok(_))),
        "a write was acknowledged by 2 of 5 members"
    );
    // And, as a ZooKeeper server without its quorum does, the member cut off closes its
    // clients' connections (they would otherwise read a state the majority may have left).
    let end = Instant::now() + Duration::from_secs(10);
    while tm(r.check_stat("/after-two")).await.is_ok() {
        assert!(
            Instant::now() < end,
            "a member without a quorum kept serving its clients"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `mntr`'s value of `key` on member `i`.
fn mntr(e: &Ensemble, i: usize, key: &str) -> Option<String> {
    four_letter(e.members[i].port, "mntr")
        .lines()
        .find_map(|l| l.strip_prefix(&format!("zk_{key}\t")).map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mntr_and_metrics_tell_each_members_role() {
    let metrics_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let extra = |i: usize| format!("metricsProvider.httpPort={}\n", metrics_ports[i]);
    let e = tokio::task::block_in_place(|| Ensemble::start_with(3, &extra));
    let leader = e.wait_leader(Duration::from_secs(10));
    let c = zk(&e.members[leader].addr()).await;
    tm(c.create("/sized", &[7u8; 300], &persistent()))
        .await
        .unwrap();
    // The role rows ZooKeeper 3.8 prints on a leader of three (read from the reference):
    // zk_peer_state, the proposal sizes, synced followers and observers, pending syncs,
    // uptime as leader, learners and the quorum size.
    assert_eq!(
        mntr(&e, leader, "peer_state").as_deref(),
        Some("leading - broadcast")
    );
    assert_eq!(mntr(&e, leader, "quorum_size").as_deref(), Some("3"));
    assert_eq!(mntr(&e, leader, "learners").as_deref(), Some("2"));
    let end = Instant::now() + Duration::from_secs(5);
    while mntr(&e, leader, "synced_followers").as_deref() != Some("2") {
        assert!(
            Instant::now() < end,
            "the followers never counted as synced"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for key in [
        "synced_non_voting_followers",
        "synced_observers",
        "pending_syncs",
    ] {
        assert_eq!(mntr(&e, leader, key).as_deref(), Some("0"), "{key}");
    }
    let last: i64 = mntr(&e, leader, "last_proposal_size")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        last > 300,
        "the last proposal held the 300-byte create: {last}"
    );
    let uptime: i64 = mntr(&e, leader, "leader_uptime").unwrap().parse().unwrap();
    assert!(uptime >= 0);
    let follower = e.other_than(leader);
    assert_eq!(
        mntr(&e, follower, "server_state").as_deref(),
        Some("follower")
    );
    assert_eq!(
        mntr(&e, follower, "peer_state").as_deref(),
        Some("following - broadcast")
    );
    assert_eq!(mntr(&e, follower, "quorum_size").as_deref(), Some("3"));
    assert_eq!(
        mntr(&e, follower, "learners"),
        None,
        "leader-only rows on a follower"
    );
}
