//! A member whose data dir is wiped while the others write on comes back by snapshot:
//! every member builds a snapshot each `snapCount` log entries and purges its log
//! below it, so the leader no longer holds the entries the wiped member needs and
//! streams it its snapshot instead. Afterwards the member holds exactly what the others
//! hold (data and stats), follows the log from there, and keeps it all across a restart.

mod common;

use std::time::{Duration, Instant};

use common::ensemble::Ensemble;
use common::*;

const VALUE: usize = 3000;

fn value(i: usize) -> Vec<u8> {
    let mut v = format!("{i}:").into_bytes();
    v.resize(VALUE, b'a' + (i % 26) as u8);
    v
}

/// Removes everything in `dir` but `myid`.
fn wipe_but_myid(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().is_some_and(|n| n == "myid") {
            continue;
        }
        if p.is_dir() {
            std::fs::remove_dir_all(&p).unwrap();
        } else {
            std::fs::remove_file(&p).unwrap();
        }
    }
}

async fn create_range(c: &zookeeper_client::Client, range: std::ops::Range<usize>) {
    for i in range {
        tm(c.create(&format!("/n/{i:05}"), &value(i), &persistent()))
            .await
            .unwrap();
    }
}

/// The children of /n on `addr` after a sync, with each child's data and mzxid.
async fn contents(addr: &str) -> Vec<(String, Vec<u8>, i64)> {
    let c = zk(addr).await;
    tm(c.sync("/n")).await.unwrap();
    let mut names = tm(c.list_children("/n")).await.unwrap();
    names.sort();
    let mut out = Vec::new();
    for n in names {
        let (data, stat) = tm(c.get_data(&format!("/n/{n}"))).await.unwrap();
        out.push((n, data, stat.mzxid));
    }
    out
}

/// Waits until the member at `addr` serves clients again and holds `count` children.
async fn wait_for_children(addr: &str, count: usize, log: impl Fn() -> String) {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Ok(c)) = tokio::time::timeout(
            Duration::from_secs(2),
            zookeeper_client::Client::connect(addr),
        )
        .await
        {
            if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(5), async {
                c.sync("/n").await?;
                c.list_children("/n").await
            })
            .await
            {
                if n.len() == count {
                    return;
                }
            }
        }
        assert!(
            Instant::now() < end,
            "the wiped member did not catch up within 60 s; its log:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_follower_is_resynced_by_snapshot_and_matches_the_leader() {
    let metrics_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let cfg = |i: usize| {
        format!(
            "snapCount=20\npreAllocSize=1024\n\
             metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n\
             metricsProvider.httpPort={}\n",
            metrics_ports[i]
        )
    };
    let mut e = tokio::task::block_in_place(|| Ensemble::start_with(3, &cfg));
    let leader = e.wait_leader(Duration::from_secs(10));
    let wiped = e.other_than(leader);
    let writer = zk(&e.members[leader].addr()).await;
    tm(writer.create("/n", b"", &persistent())).await.unwrap();
    create_range(&writer, 0..200).await;

    e.members[wiped].kill9();
    wipe_but_myid(&e.members[wiped].data_dir());
    // Enough entries for many snapshots, and enough bytes for the leader's log to
    // purge whole 1 MiB segments below them.
    create_range(&writer, 200..2500).await;
    let raft = e.members[leader].data_dir().join("raft");
    assert!(
        raft.join("snapshot").exists(),
        "the leader built no snapshot"
    );
    let vote = std::fs::read_to_string(raft.join("vote.json")).unwrap();
    assert!(
        !vote.contains("\"purged\":null"),
        "the leader purged no log: {vote}"
    );

    tokio::task::block_in_place(|| e.members[wiped].restart());
    let addr = e.members[wiped].addr();
    wait_for_children(&addr, 2500, || e.members[wiped].log()).await;
    let log = e.members[wiped].log();
    assert!(
        log.contains("installing the leader's snapshot"),
        "the wiped member caught up without a snapshot; its log:\n{log}"
    );
    let expected = contents(&e.members[leader].addr()).await;
    assert_eq!(expected.len(), 2500);
    for (i, (name, data, _)) in expected.iter().enumerate() {
        assert_eq!(name, &format!("{i:05}"));
        assert_eq!(data, &value(i), "{name} on the leader");
    }
    assert!(
        contents(&addr).await == expected,
        "the resynced member differs from the leader"
    );
    // The metrics tell an operator what happened.
    let raft_metric = |i: usize, name: &str| {
        let text = scrape(metrics_ports[i]).expect("the metrics endpoint answers");
        metric(&text, name)
    };
    // At least one: with snapCount=20 the leader may purge past the snapshot it sent
    // while the member installs it, and send its next one.
    let installs = raft_metric(wiped, "warren_raft_snapshot_installs");
    assert!(installs >= 1.0, "installs: {installs}");
    assert_eq!(raft_metric(leader, "warren_raft_snapshot_installs"), 0.0);
    assert!(raft_metric(leader, "warren_raft_snapshot_index") > 0.0);
    assert!(raft_metric(leader, "warren_raft_purged_index") > 0.0);

    // From the snapshot on, it follows the log, and it keeps both across a restart.
    create_range(&writer, 2500..2600).await;
    e.members[wiped].kill9();
    tokio::task::block_in_place(|| e.members[wiped].restart());
    wait_for_children(&addr, 2600, || e.members[wiped].log()).await;
    let expected = contents(&e.members[leader].addr()).await;
    assert!(
        contents(&addr).await == expected,
        "after a restart the resynced member differs from the leader"
    );
}
