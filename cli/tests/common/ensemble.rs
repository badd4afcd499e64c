//! An ensemble of real `warren` processes on loopback, each with its own data dir,
//! `myid` and a zoo.cfg whose `server.N` lines name every member's quorum port.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{four_letter, free_port, opts, persistent, tm, wait_ruok, zk, Warren, CALL_TIMEOUT};

/// Members numbered 1..=n; `members[i]` has myid `i + 1`.
pub struct Ensemble {
    pub members: Vec<Warren>,
    /// Members `0..voters` are participants, the rest observers.
    pub voters: usize,
    /// `quorum_ports[i]` is member `i`'s quorum port (`server.N=host:QUORUM:election`).
    pub quorum_ports: Vec<u16>,
}

impl Ensemble {
    /// Starts `n` participants and waits until they serve clients and agree on a leader.
    pub fn start(n: usize) -> Ensemble {
        Ensemble::start_wrapped(n, None)
    }

    /// Like [`Ensemble::start`], with member `i` run under `wrapper` (fault injection).
    pub fn start_wrapped(n: usize, wrapped: Option<(usize, &[&str])>) -> Ensemble {
        Ensemble::start_full(n, wrapped, &|_| String::new())
    }

    /// Like [`Ensemble::start`], with `extra(i)` added to member `i`'s zoo.cfg.
    pub fn start_with(n: usize, extra: &dyn Fn(usize) -> String) -> Ensemble {
        Ensemble::start_full(n, None, extra)
    }

    /// `voters` participants (myid 1..=voters) and then `observers` observers.
    pub fn start_observed(voters: usize, observers: usize) -> Ensemble {
        Ensemble::start_roles(voters, observers, None, &|_| String::new(), None)
    }

    /// Like [`Ensemble::start`], with member `i` run as group `first_gid + i`, so that
    /// a firewall can tell its sockets apart (see [`Warren::in_group`]).
    pub fn start_in_groups(n: usize, first_gid: u32) -> Ensemble {
        Ensemble::start_roles(n, 0, None, &|_| String::new(), Some(first_gid))
    }

    fn start_full(
        n: usize,
        wrapped: Option<(usize, &[&str])>,
        extra: &dyn Fn(usize) -> String,
    ) -> Ensemble {
        Ensemble::start_roles(n, 0, wrapped, extra, None)
    }

    fn start_roles(
        voters: usize,
        observers: usize,
        wrapped: Option<(usize, &[&str])>,
        extra: &dyn Fn(usize) -> String,
        first_gid: Option<u32>,
    ) -> Ensemble {
        let n = voters + observers;
        let quorum_ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let lines: String = (1..=n)
            .map(|id| {
                let role = if id > voters { ":observer" } else { "" };
                format!(
                    "server.{id}=127.0.0.1:{}:{}{role}\n",
                    quorum_ports[id - 1],
                    free_port()
                )
            })
            .collect();
        let mut members: Vec<Warren> = (0..n)
            .map(|i| Warren::unstarted(&format!("{lines}{}", extra(i))))
            .collect();
        for (i, m) in members.iter_mut().enumerate() {
            std::fs::create_dir_all(m.data_dir()).unwrap();
            std::fs::write(m.data_dir().join("myid"), format!("{}\n", i + 1)).unwrap();
            if let Some((_, wrapper)) = wrapped.filter(|(w, _)| *w == i) {
                m.wrap(wrapper);
            }
            if let Some(gid) = first_gid {
                m.in_group(gid + i as u32);
            }
            m.spawn_without_waiting();
        }
        for m in &members {
            assert!(
                wait_ruok(m.port, Duration::from_secs(20)),
                "member on {} did not start; log:\n{}",
                m.port,
                m.log()
            );
        }
        let e = Ensemble {
            members,
            voters,
            quorum_ports,
        };
        e.wait_leader(Duration::from_secs(20));
        e
    }

    /// The mode `srvr` reports on member `i` ("" when it does not answer).
    pub fn mode(&self, i: usize) -> String {
        four_letter(self.members[i].port, "srvr")
            .lines()
            .find_map(|l| l.strip_prefix("Mode: ").map(str::to_owned))
            .unwrap_or_default()
    }

    /// Waits until exactly one running member says it leads and every other running one
    /// follows or observes; returns the leader's index.
    pub fn wait_leader(&self, within: Duration) -> usize {
        let end = Instant::now() + within;
        loop {
            let modes: Vec<String> = (0..self.members.len()).map(|i| self.mode(i)).collect();
            let leaders: Vec<usize> = (0..modes.len()).filter(|&i| modes[i] == "leader").collect();
            let others_follow = modes.iter().enumerate().all(|(i, m)| {
                let role = if i < self.voters {
                    "follower"
                } else {
                    "observer"
                };
                m == "leader" || m == role || m.is_empty()
            });
            if leaders.len() == 1 && others_follow {
                return leaders[0];
            }
            assert!(
                Instant::now() < end,
                "no single leader within {within:?}: {modes:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The index of a member other than `not`.
    pub fn other_than(&self, not: usize) -> usize {
        (0..self.members.len()).find(|&i| i != not).unwrap()
    }

    /// `host:port` of every member but `not`, for a client's connect string.
    pub fn hosts_except(&self, not: usize) -> String {
        (0..self.members.len())
            .filter(|&i| i != not)
            .map(|i| self.members[i].addr())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Sequential creates of `value` under `/seq` (which must exist), by `writers`
    /// sessions on `addr` as fast as they are taken, until `acked_before_kill` are
    /// acknowledged; then every member is killed with SIGKILL at once. Returns the
    /// acknowledged names (`n-0000000042`) and how many creates were attempted.
    pub async fn sequential_load_then_kill_all(
        &mut self,
        addr: &str,
        writers: usize,
        value: &[u8],
        acked_before_kill: usize,
    ) -> (BTreeSet<String>, usize) {
        let acked: Arc<Mutex<Vec<String>>> = Arc::default();
        let attempted = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..writers {
            let c = zk(addr).await;
            let (acked, attempted, value) = (acked.clone(), attempted.clone(), value.to_vec());
            tasks.push(tokio::spawn(async move {
                loop {
                    attempted.fetch_add(1, Ordering::SeqCst);
                    let mode = zookeeper_client::CreateMode::PersistentSequential;
                    let create = c.create("/seq/n-", &value, &opts(mode));
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
        while acked.lock().unwrap().len() < acked_before_kill {
            assert!(Instant::now() < end, "the load did not get going");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for m in &mut self.members {
            m.kill9();
        }
        for t in tasks {
            let _ = t.await;
        }
        let acked = acked.lock().unwrap().iter().cloned().collect();
        (acked, attempted.load(Ordering::SeqCst))
    }

    /// After [`Ensemble::sequential_load_then_kill_all`] and a restart: writes `/after`
    /// through the leader (once it is everywhere, so is everything before it), then reads
    /// `/seq` on every member after a sync. Asserts that every member holds every name in
    /// `acked` and that all members hold the same; returns each member's address and
    /// children.
    pub async fn settled_children(
        &self,
        acked: &BTreeSet<String>,
    ) -> Vec<(String, BTreeSet<String>)> {
        let leader = tokio::task::block_in_place(|| self.wait_leader(Duration::from_secs(20)));
        let c = zk(&self.members[leader].addr()).await;
        tm(c.create("/after", b"", &persistent())).await.unwrap();
        let mut lists = Vec::new();
        for m in &self.members {
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
            lists.push((m.addr(), children));
        }
        assert!(
            lists.windows(2).all(|w| w[0].1 == w[1].1),
            "the members disagree: {:?} children",
            lists.iter().map(|(_, c)| c.len()).collect::<Vec<_>>()
        );
        lists
    }
}
