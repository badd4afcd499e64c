//! The workloads: what each worker does against the servers, and the final reads once
//! every fault is healed. Each workload's history is what its checker in
//! [`crate::checker`] reads.

pub mod counter;
pub mod queue;
pub mod register;
pub mod set;
pub mod unique_ids;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use zookeeper_client as zk;

use crate::client::{opts, Done, Session, OP_TIMEOUT};
use crate::history::Recorder;
use crate::{ChaosError, Workload};

/// What one worker needs: its id, its session, its share of the randomness, and when to
/// stop.
pub struct Worker {
    pub id: usize,
    pub rec: Recorder,
    pub session: Session,
    pub rng: StdRng,
    pub until: Instant,
    /// Sync before each read: an ensemble's follower may lag the leader, and the checkers
    /// hold reads to the latest acknowledged write.
    pub sync_reads: bool,
    /// Operations started so far by every worker (the register moves keys by it).
    pub started: Arc<AtomicU64>,
    /// How many keys the register workload created.
    pub keys: u64,
    /// Pause between two operations of this worker.
    pub pace: Duration,
}

impl Worker {
    fn running(&self) -> bool {
        Instant::now() < self.until
    }

    /// The next element or value only this worker writes.
    fn unique(&self, seq: u64) -> i64 {
        i64::try_from((self.id as u64 + 1) * 1_000_000_000 + seq).unwrap_or(i64::MAX)
    }
}

/// Creates what the workload needs before the workers start (parent znodes, the
/// register's keys); returns the number of register keys.
pub async fn setup(
    workload: Workload,
    session: &mut Session,
    clients: usize,
    seconds: f64,
) -> Result<u64, ChaosError> {
    let parent = match workload {
        Workload::Register => "/r",
        Workload::Set => "/set",
        Workload::UniqueIds => "/ids",
        Workload::Counter => "/counter",
        Workload::Queue => "/queue",
    };
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(c) = session.client().await {
            match create_all(c, workload, parent, clients, seconds).await {
                Ok(keys) => return Ok(keys),
                Err(e) if Instant::now() > end => return Err(ChaosError::Setup(e.to_string())),
                Err(_) => {}
            }
        } else if Instant::now() > end {
            return Err(ChaosError::Setup("no session within 60 s".into()));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn create_all(
    c: &zk::Client,
    workload: Workload,
    parent: &str,
    clients: usize,
    seconds: f64,
) -> Result<u64, zk::Error> {
    let persistent = opts(zk::CreateMode::Persistent);
    match c.create(parent, b"", &persistent).await {
        Ok(_) | Err(zk::Error::NodeExists) => {}
        Err(e) => return Err(e),
    }
    if workload != Workload::Register {
        return Ok(0);
    }
    let keys = register::keys_needed(clients, seconds);
    for batch in (0..keys).collect::<Vec<_>>().chunks(100) {
        let mut multi = c.new_multi_writer();
        for k in batch {
            multi.add_create(&register::key(*k), b"0", &persistent)?;
        }
        match multi.commit().await {
            Ok(_) => {}
            Err(zk::MultiWriteError::OperationFailed {
                source: zk::Error::NodeExists,
                ..
            }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(keys)
}

/// Runs one worker of `workload` until its time is up.
pub async fn work(workload: Workload, mut w: Worker) {
    match workload {
        Workload::Register => register::work(&mut w).await,
        Workload::Set => set::work(&mut w).await,
        Workload::UniqueIds => unique_ids::work(&mut w).await,
        Workload::Counter => counter::work(&mut w).await,
        Workload::Queue => queue::work(&mut w).await,
    }
}

/// The final reads (the queue's drain), by a worker of its own once the cluster is
/// healthy again; retried until one succeeds or `w.until` passes.
pub async fn finish(workload: Workload, mut w: Worker) {
    match workload {
        Workload::Register => {}
        Workload::Set => final_read(&mut w, "/set", false).await,
        Workload::UniqueIds => final_read(&mut w, "/ids", false).await,
        Workload::Counter => final_read(&mut w, "/counter", true).await,
        Workload::Queue => queue::drain(&mut w).await,
    }
}

/// One `final-read` that succeeds: the children of `parent` (their count, if `count`).
async fn final_read(w: &mut Worker, parent: &str, count: bool) {
    while w.running() {
        let Some(c) = w.session.client().await else {
            continue;
        };
        let done = crate::client::perform(
            &w.rec,
            w.id,
            "final-read",
            parent,
            crate::history::Value::Null,
            || async {
                if let Err(e) = c.sync(parent).await {
                    return Done::erred(e, crate::history::Value::Null);
                }
                let r = c.list_children(parent).await.map(|names| {
                    if count {
                        crate::history::Value::Int(names.len() as i64)
                    } else {
                        crate::history::Value::Names(names)
                    }
                });
                Done::of(r, &crate::history::Value::Null)
            },
        )
        .await;
        if done.kind == crate::history::Kind::Ok {
            return;
        }
        let err = done.error;
        w.session.after(err.as_ref());
        tokio::time::sleep(OP_TIMEOUT / 4).await;
    }
}

/// Sleeps the worker's pace.
async fn pace(w: &Worker) {
    tokio::time::sleep(w.pace).await;
}
