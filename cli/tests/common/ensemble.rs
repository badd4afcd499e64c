//! An ensemble of real `warren` processes on loopback, each with its own data dir,
//! `myid` and a zoo.cfg whose `server.N` lines name every member's quorum port.

use std::time::{Duration, Instant};

use super::{four_letter, free_port, wait_ruok, Warren};

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
}
