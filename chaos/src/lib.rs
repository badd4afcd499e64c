//! Warren's history-checking reliability harness, after Jepsen: it starts real `warren`
//! processes (standalone or a 3-member ensemble), drives them with real clients, one
//! session each, injects faults (kills, pauses, whole-cluster restarts), records every
//! operation as a history, and checks the history against what a correct ZooKeeper
//! allows: linearizable registers, sets and queues that lose nothing acknowledged,
//! unique ids, and a counter within its bounds.
//!
//! A run writes `history.jsonl`, `faults.jsonl`, `summary.json` and `timeline.svg` to its
//! output directory, and the servers' logs under `nodes/`.

pub mod checker;
pub mod client;
pub mod cluster;
pub mod history;
pub mod nemesis;
pub mod timeline;
pub mod workload;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::checker::Verdict;
use crate::client::Session;
use crate::cluster::{wait_healthy, Cluster};
use crate::history::{write_jsonl, Kind, Recorder};
use crate::nemesis::{lock, Fault, FaultKind};
use crate::workload::Worker;

/// Why a run could not be carried out (as opposed to what its checker found).
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}: {1}")]
    Json(PathBuf, serde_json::Error),
    #[error("no warren binary at {0} (build it: cargo build --release -p warren)")]
    NoBinary(PathBuf),
    #[error("start {0}: {1}")]
    Spawn(PathBuf, std::io::Error),
    #[error("no free port found")]
    NoPort,
    #[error("the cluster did not become healthy (modes: {0})")]
    Unhealthy(String),
    #[error("setting up the workload: {0}")]
    Setup(String),
    #[error("interrupted; every server was stopped")]
    Interrupted,
}

/// What the workers do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    Register,
    Set,
    UniqueIds,
    Counter,
    Queue,
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Workload, String> {
        match s {
            "register" => Ok(Workload::Register),
            "set" => Ok(Workload::Set),
            "unique-ids" => Ok(Workload::UniqueIds),
            "counter" => Ok(Workload::Counter),
            "queue" => Ok(Workload::Queue),
            other => Err(format!(
                "unknown workload {other:?} (register, set, unique-ids, counter, queue)"
            )),
        }
    }
}

impl Workload {
    /// The pause between two operations of a worker: the register's is longer, to keep
    /// each key's history small enough for the linearizability search.
    fn pace(self) -> Duration {
        match self {
            Workload::Register => Duration::from_millis(15),
            _ => Duration::from_millis(5),
        }
    }
}

/// A run's settings.
#[derive(Clone, Debug)]
pub struct Options {
    pub warren_bin: PathBuf,
    pub nodes: usize,
    pub workload: Workload,
    pub nemesis: Vec<FaultKind>,
    pub seconds: f64,
    pub clients: usize,
    pub seed: u64,
    pub out: PathBuf,
    /// zoo.cfg lines added to every member's config.
    pub server_cfg: Vec<String>,
}

/// What a run did and found: `summary.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub workload: Workload,
    pub nodes: usize,
    pub seconds: f64,
    pub seed: u64,
    pub ops: usize,
    pub ok: usize,
    pub fail: usize,
    pub info: usize,
    pub faults: usize,
    pub anomalies: usize,
    pub lost_acknowledged_writes: usize,
    /// Members that exited by themselves (not killed by the nemesis).
    pub crashes: usize,
    pub unchecked: Vec<String>,
    pub valid: bool,
}

impl Summary {
    /// The one line printed at the end of a run.
    pub fn line(&self) -> String {
        format!(
            "{:?} on {} node(s), {:.0} s: {} ops ({} ok, {} fail, {} info), {} faults, \
             {} anomalies, {} lost acknowledged writes, {} crashes{}: {}",
            self.workload,
            self.nodes,
            self.seconds,
            self.ops,
            self.ok,
            self.fail,
            self.info,
            self.faults,
            self.anomalies,
            self.lost_acknowledged_writes,
            self.crashes,
            if self.unchecked.is_empty() {
                String::new()
            } else {
                format!(", {} unchecked", self.unchecked.len())
            },
            if self.valid { "valid" } else { "INVALID" }
        )
    }
}

/// Carries out a run, writes its files and returns its summary. Every server it started
/// is stopped before it returns, whatever happens (see [`cluster::Cluster`]).
pub async fn run(opts: &Options) -> Result<Summary, ChaosError> {
    std::fs::create_dir_all(&opts.out).map_err(|e| ChaosError::Io(opts.out.clone(), e))?;
    let extra = opts.server_cfg.join("\n");
    let cluster = Cluster::start(&opts.warren_bin, &opts.out, opts.nodes, &extra)?;
    let cluster = Arc::new(Mutex::new(cluster));
    let interrupted = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| ChaosError::Io("SIGTERM".into(), e))?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        Err::<Summary, _>(ChaosError::Interrupted)
    };
    let result = tokio::select! {
        r = drive(opts, &cluster) => r,
        r = interrupted => r,
    };
    // The guard: continue and kill every server now, on success, failure or interruption.
    lock(&cluster).stop_all();
    result
}

/// The run proper: workers and nemesis, healing, final reads, checking, files.
async fn drive(opts: &Options, cluster: &Arc<Mutex<Cluster>>) -> Result<Summary, ChaosError> {
    let ports = lock(cluster).ports();
    if let Err(e) = wait_healthy(&ports, Duration::from_secs(60)).await {
        return Err(unhealthy(e, cluster));
    }
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let members: Vec<usize> = (0..ports.len()).collect();
    let connect = |rng: &mut StdRng| {
        let mut order = members.clone();
        order.shuffle(rng);
        lock(cluster).connect_string(&order)
    };
    let mut setup = Session::new(connect(&mut rng));
    let keys = workload::setup(opts.workload, &mut setup, opts.clients, opts.seconds).await?;
    drop(setup);

    let rec = Recorder::new(Instant::now());
    let until = Instant::now() + Duration::from_secs_f64(opts.seconds);
    let started = Arc::new(AtomicU64::new(0));
    let worker = |id: usize, until: Instant, rng: &mut StdRng| Worker {
        id,
        rec: rec.clone(),
        session: Session::new(connect(rng)),
        rng: StdRng::seed_from_u64(opts.seed ^ (id as u64 + 1).wrapping_mul(0x9e37_79b9)),
        until,
        sync_reads: opts.nodes > 1,
        started: started.clone(),
        keys,
        pace: opts.workload.pace(),
    };
    let tasks: Vec<_> = (0..opts.clients)
        .map(|id| tokio::spawn(workload::work(opts.workload, worker(id, until, &mut rng))))
        .collect();
    let nemesis_rng = StdRng::seed_from_u64(opts.seed.wrapping_add(1));
    let faults = nemesis::run(
        cluster.clone(),
        opts.nemesis.clone(),
        nemesis_rng,
        rec.clone(),
        until,
    );
    let faults = match faults.await {
        Ok(f) => f,
        Err(e) => return Err(unhealthy(e, cluster)),
    };
    for t in tasks {
        let _ = t.await;
    }

    let crashes = lock(cluster).crashed().len();
    lock(cluster).heal()?;
    if let Err(e) = wait_healthy(&ports, Duration::from_secs(60)).await {
        return Err(unhealthy(e, cluster));
    }
    // Draining a long queue lists it once per element: give the final reads time on a
    // loaded machine.
    let last = worker(
        opts.clients,
        Instant::now() + Duration::from_secs(180),
        &mut rng,
    );
    workload::finish(opts.workload, last).await;

    let events = rec.events();
    let verdict = checker::check(opts.workload, &events);
    write_files(opts, &events, &faults, &verdict)?;
    Ok(summarize(opts, &events, &faults, &verdict, crashes))
}

/// An unhealthy cluster's error, with the members' last log lines on stderr.
fn unhealthy(e: ChaosError, cluster: &Arc<Mutex<Cluster>>) -> ChaosError {
    let c = lock(cluster);
    for i in 0..c.nodes.len() {
        eprintln!("--- member {} log tail:\n{}", c.nodes[i].id, c.log_tail(i));
    }
    e
}

fn write_files(
    opts: &Options,
    events: &[history::Event],
    faults: &[Fault],
    verdict: &Verdict,
) -> Result<(), ChaosError> {
    write_jsonl(&opts.out.join("history.jsonl"), events)?;
    write_jsonl(&opts.out.join("faults.jsonl"), faults)?;
    write_jsonl(&opts.out.join("anomalies.jsonl"), &verdict.anomalies)?;
    let svg = timeline::render(events, faults, &verdict.anomalies);
    let path = opts.out.join("timeline.svg");
    std::fs::write(&path, svg).map_err(|e| ChaosError::Io(path, e))
}

fn summarize(
    opts: &Options,
    events: &[history::Event],
    faults: &[Fault],
    verdict: &Verdict,
    crashes: usize,
) -> Summary {
    let count = |k: Kind| events.iter().filter(|e| e.kind == k).count();
    Summary {
        workload: opts.workload,
        nodes: opts.nodes,
        seconds: opts.seconds,
        seed: opts.seed,
        ops: count(Kind::Invoke),
        ok: count(Kind::Ok),
        fail: count(Kind::Fail),
        info: count(Kind::Info),
        faults: faults.len(),
        anomalies: verdict.anomalies.len(),
        lost_acknowledged_writes: verdict.lost_acknowledged_writes,
        crashes,
        unchecked: verdict.unchecked.clone(),
        valid: verdict.valid() && crashes == 0,
    }
}

/// Writes the summary as `summary.json` in the run's directory.
pub fn write_summary(opts: &Options, summary: &Summary) -> Result<(), ChaosError> {
    let path = opts.out.join("summary.json");
    let text =
        serde_json::to_string_pretty(summary).map_err(|e| ChaosError::Json(path.clone(), e))?;
    std::fs::write(&path, text).map_err(|e| ChaosError::Io(path, e))
}
