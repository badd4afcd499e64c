//! A network partition, made with a real firewall: nftables drops every packet between
//! the leader's quorum sockets and the other two members' (each member runs as its own
//! group, so a rule can match the sockets of one process on loopback). The cut-off
//! leader commits nothing, whatever its clients send it; the two others elect a leader
//! among themselves and take writes. Once the partition heals, the old leader follows,
//! and every member holds the majority's writes and none of the minority's.
//!
//! Needs root and the `nft` command (scripts/install-test-deps installs nftables); it
//! says so and passes without them.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::ensemble::Ensemble;
use common::*;

/// Runs `nft` with `args`; whether it succeeded.
fn nft(args: &[&str]) -> bool {
    Command::new("nft")
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// Why the test cannot run here, if it cannot.
fn unsupported() -> Option<String> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| {
            l.strip_prefix("Uid:")
                .map(|v| v.split_whitespace().next() == Some("0"))
        });
    if uid != Some(true) {
        return Some("not root".into());
    }
    if !nft(&["list", "tables"]) {
        return Some("nft is missing or cannot change the ruleset".into());
    }
    None
}

/// An nftables table that drops the partition's packets; removed on drop (the heal).
struct Partition {
    table: String,
}

impl Partition {
    /// Cuts the member running as `gid` with quorum port `cut_port` off from the
    /// quorum ports `others`.
    fn cut(gid: u32, cut_port: u16, others: &[u16]) -> Partition {
        let table = format!("warren_partition_{}", std::process::id());
        let others = others
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let chain = "{ type filter hook output priority 0; }";
        let gid = gid.to_string();
        let cut_port = cut_port.to_string();
        let others = format!("{{ {others} }}");
        for rule in [
            vec!["add", "table", "inet", &table],
            vec!["add", "chain", "inet", &table, "out", chain],
            // What the cut member sends to the others' quorum ports.
            vec![
                "add", "rule", "inet", &table, "out", "meta", "skgid", &gid, "tcp", "dport",
                &others, "drop",
            ],
            // What anyone sends to the cut member's quorum port.
            vec![
                "add", "rule", "inet", &table, "out", "tcp", "dport", &cut_port, "drop",
            ],
        ] {
            assert!(nft(&rule), "nft {rule:?} failed");
        }
        Partition { table }
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        nft(&["delete", "table", "inet", &self.table]);
    }
}

/// Waits until one of `among` says it leads; its index.
fn wait_leader_among(e: &Ensemble, among: &[usize], within: Duration) -> usize {
    let end = Instant::now() + within;
    loop {
        if let Some(&i) = among.iter().find(|&&i| e.mode(i) == "leader") {
            return i;
        }
        assert!(
            Instant::now() < end,
            "the majority elected no leader within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The children of /p on member `addr`, after a sync; `None` while it serves no client.
async fn children(addr: &str) -> Option<Vec<String>> {
    let c = zookeeper_client::Client::connect(addr).await.ok()?;
    c.sync("/p").await.ok()?;
    let mut names = c.list_children("/p").await.ok()?;
    names.sort();
    Some(names)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_leader_commits_nothing_and_the_majority_elects_and_serves() {
    if let Some(why) = unsupported() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    const FIRST_GID: u32 = 48_100;
    let e = tokio::task::block_in_place(|| Ensemble::start_in_groups(3, FIRST_GID));
    let old = e.wait_leader(Duration::from_secs(10));
    let majority: Vec<usize> = (0..3).filter(|&i| i != old).collect();
    let on_old = zk(&e.members[old].addr()).await;
    tm(on_old.create("/p", b"", &persistent())).await.unwrap();
    tm(on_old.create("/p/before", b"", &persistent()))
        .await
        .unwrap();

    let others: Vec<u16> = majority.iter().map(|&i| e.quorum_ports[i]).collect();
    let partition = Partition::cut(FIRST_GID + old as u32, e.quorum_ports[old], &others);

    // The minority: a write sent to the old leader is never acknowledged.
    let minority = tokio::time::timeout(
        Duration::from_secs(5),
        on_old.create("/p/minority", b"", &persistent()),
    )
    .await;
    assert!(
        !matches!(minority, Ok(Ok(_))),
        "the cut-off leader acknowledged a write: {minority:?}"
    );

    // The majority: a leader of its own, taking writes.
    let new =
        tokio::task::block_in_place(|| wait_leader_among(&e, &majority, Duration::from_secs(10)));
    let on_new = zk(&e.members[new].addr()).await;
    tm(on_new.create("/p/majority", b"", &persistent()))
        .await
        .unwrap();

    // Healed: the old leader follows and holds what the majority holds.
    drop(partition);
    let end = Instant::now() + Duration::from_secs(20);
    let expected = vec!["before".to_owned(), "majority".to_owned()];
    for i in 0..3 {
        loop {
            let got = tokio::time::timeout(Duration::from_secs(5), children(&e.members[i].addr()))
                .await
                .ok()
                .flatten();
            if got.as_ref() == Some(&expected) {
                break;
            }
            assert!(
                Instant::now() < end,
                "member {} holds {got:?} after the heal, not {expected:?}; its log:\n{}",
                i + 1,
                e.members[i].log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // One leader again, and every other member follows it.
    tokio::task::block_in_place(|| e.wait_leader(Duration::from_secs(10)));
}
