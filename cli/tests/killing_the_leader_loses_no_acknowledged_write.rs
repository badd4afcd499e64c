//! Clients on the followers of a three-member ensemble write without pause; the leader
//! is killed with SIGKILL mid-stream. Writes must flow again through a new leader, every
//! acknowledged write must be on both survivors, and the killed member, restarted on its
//! data dir, must catch up to hold every one of them too.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::ensemble::Ensemble;
use common::*;

const WRITERS: usize = 3;

async fn wait_for_all(addr: &str, acked: &[String]) {
    let c = zk(addr).await;
    let end = Instant::now() + Duration::from_secs(20);
    for path in acked {
        while tm(c.check_stat(path)).await.ok().flatten().is_none() {
            assert!(
                Instant::now() < end,
                "acknowledged {path} is missing on {addr}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_loses_no_acknowledged_write() {
    let mut e = tokio::task::block_in_place(|| Ensemble::start(3));
    let leader = e.wait_leader(Duration::from_secs(10));
    let hosts = e.hosts_except(leader);
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let killed_at: Arc<Mutex<Option<usize>>> = Arc::default();
    let mut tasks = Vec::new();
    for t in 0..WRITERS {
        let (hosts, acked, killed_at) = (hosts.clone(), acked.clone(), killed_at.clone());
        tasks.push(tokio::spawn(async move {
            let c = zk(&hosts).await;
            let mut after_kill = 0;
            let end = Instant::now() + Duration::from_secs(30);
            for n in 0.. {
                let path = format!("/w{t}-{n}");
                match tokio::time::timeout(CALL_TIMEOUT, c.create(&path, b"v", &persistent())).await
                {
                    Ok(Ok(_)) => {
                        acked.lock().unwrap().push(path);
                        if killed_at.lock().unwrap().is_some() {
                            after_kill += 1;
                        }
                    }
                    // In doubt (the connection dropped with the leader): not counted.
                    _ => tokio::time::sleep(Duration::from_millis(10)).await,
                }
                if after_kill >= 50 {
                    return;
                }
                assert!(
                    Instant::now() < end,
                    "writer {t}: writes did not resume after the kill"
                );
            }
        }));
    }
    while acked.lock().unwrap().len() < 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    e.members[leader].kill9();
    *killed_at.lock().unwrap() = Some(acked.lock().unwrap().len());
    for t in tasks {
        t.await.unwrap();
    }
    let new_leader = e.wait_leader(Duration::from_secs(10));
    assert_ne!(new_leader, leader);
    let acked = acked.lock().unwrap().clone();
    for i in (0..3).filter(|&i| i != leader) {
        wait_for_all(&e.members[i].addr(), &acked).await;
    }
    tokio::task::block_in_place(|| e.members[leader].restart());
    wait_for_all(&e.members[leader].addr(), &acked).await;
    assert_eq!(e.mode(leader), "follower");
}
