//! The nemesis: faults injected into the servers on a schedule drawn from the run's seed.
//!
//! - `kill`: SIGKILL one member (an ensemble's leader, found with `srvr`), keep it down a
//!   moment, start it again on the same data dir;
//! - `pause`: SIGSTOP one member for 0.5-3 s, then SIGCONT;
//! - `restart-all`: SIGKILL every member, start them all again.
//!
//! Each fault is bounded in time, the faults come one at a time with a pause between
//! them, and none starts that could not end before the workload does. After each, the
//! nemesis waits for the cluster to be healthy again before the next, so the faults do
//! not pile up into an outage longer than the sessions.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::cluster::{leader, wait_healthy, Cluster};
use crate::history::Recorder;
use crate::ChaosError;

/// A kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    Kill,
    Pause,
    RestartAll,
}

impl FromStr for FaultKind {
    type Err = String;

    fn from_str(s: &str) -> Result<FaultKind, String> {
        match s {
            "kill" => Ok(FaultKind::Kill),
            "pause" => Ok(FaultKind::Pause),
            "restart-all" => Ok(FaultKind::RestartAll),
            other => Err(format!(
                "unknown nemesis {other:?} (kill, pause, restart-all)"
            )),
        }
    }
}

/// One line of `faults.jsonl`: what was done to which members, from when to when (ns
/// since the run started; `end` is when the fault was healed).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Fault {
    pub kind: FaultKind,
    /// The members' ids (myid, 1-based).
    pub targets: Vec<usize>,
    pub start: u64,
    pub end: u64,
}

/// The longest a fault can last (its down or stopped time).
const LONGEST: Duration = Duration::from_secs(3);

/// Injects faults of `kinds` until `until`; returns what it did.
pub async fn run(
    cluster: Arc<Mutex<Cluster>>,
    kinds: Vec<FaultKind>,
    mut rng: StdRng,
    rec: Recorder,
    until: Instant,
) -> Result<Vec<Fault>, ChaosError> {
    let mut faults = Vec::new();
    if kinds.is_empty() {
        return Ok(faults);
    }
    let ports = lock(&cluster).ports();
    loop {
        let gap = Duration::from_millis(rng.gen_range(800..2500));
        if Instant::now() + gap + LONGEST * 2 > until {
            break;
        }
        tokio::time::sleep(gap).await;
        let Some(&kind) = kinds.choose(&mut rng) else {
            break;
        };
        let fault = inject(&cluster, kind, &mut rng, &rec, &ports).await?;
        faults.push(fault);
        wait_healthy(&ports, Duration::from_secs(60)).await?;
    }
    Ok(faults)
}

/// Injects one fault of `kind` and heals it.
async fn inject(
    cluster: &Arc<Mutex<Cluster>>,
    kind: FaultKind,
    rng: &mut StdRng,
    rec: &Recorder,
    ports: &[u16],
) -> Result<Fault, ChaosError> {
    let n = ports.len();
    let target = match (kind, n) {
        (_, 1) => 0,
        (FaultKind::Kill, _) => match leader(ports).await {
            Some(l) => l,
            None => rng.gen_range(0..n),
        },
        _ => rng.gen_range(0..n),
    };
    let start = rec.now();
    let targets: Vec<usize> = match kind {
        FaultKind::Kill => {
            lock(cluster).kill(target);
            sleep_ms(rng, 300..1500).await;
            lock(cluster).spawn(target)?;
            vec![target]
        }
        FaultKind::Pause => {
            lock(cluster).pause(target);
            sleep_ms(rng, 500..3000).await;
            lock(cluster).resume(target);
            vec![target]
        }
        FaultKind::RestartAll => {
            {
                let mut c = lock(cluster);
                for i in 0..n {
                    c.kill(i);
                }
            }
            sleep_ms(rng, 300..1000).await;
            let mut c = lock(cluster);
            for i in 0..n {
                c.spawn(i)?;
            }
            (0..n).collect()
        }
    };
    let ids = {
        let c = lock(cluster);
        targets.iter().map(|&i| c.nodes[i].id).collect()
    };
    Ok(Fault {
        kind,
        targets: ids,
        start,
        end: rec.now(),
    })
}

async fn sleep_ms(rng: &mut StdRng, range: std::ops::Range<u64>) {
    tokio::time::sleep(Duration::from_millis(rng.gen_range(range))).await;
}

/// The cluster, whoever panicked while holding it (its state is the processes', which
/// stay valid).
pub fn lock(cluster: &Mutex<Cluster>) -> std::sync::MutexGuard<'_, Cluster> {
    cluster.lock().unwrap_or_else(|e| e.into_inner())
}
