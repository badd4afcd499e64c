//! The queue: `enqueue` is a sequential create under `/queue` whose data is a unique
//! element; `dequeue` lists the children and takes the smallest (getData, then delete at
//! that version), moving to the next when another worker got there first. `drain` is a
//! dequeue by the final worker, repeated until the queue is empty.
//!
//! A dequeue is several requests, so it keeps its own deadline (shorter than the
//! operation timeout): once it has sent a delete whose answer it does not get, its `info`
//! names the element it was deleting, which may or may not have come out.

use std::time::Instant;

use rand::Rng;
use zookeeper_client as zk;

use crate::client::{opts, parse_int, perform, Done, OP_TIMEOUT};
use crate::history::{Kind, Value};

use super::{pace, Worker};

pub async fn work(w: &mut Worker) {
    let sequential = opts(zk::CreateMode::PersistentSequential);
    let mut seq = 0;
    while w.running() {
        pace(w).await;
        seq += 1;
        let e = w.unique(seq);
        let Some(c) = w.session.client().await else {
            continue;
        };
        let done = if w.rng.gen_bool(0.5) {
            perform(&w.rec, w.id, "enqueue", "/queue", Value::Int(e), || async {
                let r = c
                    .create("/queue/q-", e.to_string().as_bytes(), &sequential)
                    .await;
                Done::of(r.map(|_| Value::Int(e)), &Value::Int(e))
            })
            .await
        } else {
            perform(&w.rec, w.id, "dequeue", "/queue", Value::Null, || {
                dequeue(c)
            })
            .await
        };
        w.session.after(done.error.as_ref());
    }
}

/// Dequeues until the queue is empty (a `drain` that fails: nothing left) or time is up.
pub async fn drain(w: &mut Worker) {
    while w.running() {
        let Some(c) = w.session.client().await else {
            continue;
        };
        let done = perform(&w.rec, w.id, "drain", "/queue", Value::Null, || dequeue(c)).await;
        if done.kind == Kind::Fail {
            return;
        }
        w.session.after(done.error.as_ref());
    }
}

/// Takes the smallest element: `ok` with it, `fail` when the queue is empty, `info` with
/// the element being deleted (or null, before any delete was sent) otherwise.
async fn dequeue(c: &zk::Client) -> Done {
    let deadline = Instant::now() + OP_TIMEOUT * 3 / 4;
    let left = || deadline.saturating_duration_since(Instant::now());
    loop {
        let names = match tokio::time::timeout(left(), c.list_children("/queue")).await {
            Ok(Ok(mut names)) => {
                names.sort();
                names
            }
            Ok(Err(e)) => return Done::erred(e, Value::Null),
            Err(_) => return Done::erred(zk::Error::Timeout, Value::Null),
        };
        if names.is_empty() {
            return Done {
                kind: Kind::Fail,
                value: Value::Null,
                error: None,
            };
        }
        for name in names {
            let path = format!("/queue/{name}");
            let (data, stat) = match tokio::time::timeout(left(), c.get_data(&path)).await {
                Ok(Ok(got)) => got,
                Ok(Err(zk::Error::NoNode)) => continue,
                Ok(Err(e)) => return Done::erred(e, Value::Null).unknown(),
                Err(_) => return Done::erred(zk::Error::Timeout, Value::Null),
            };
            let e = parse_int(&data);
            match tokio::time::timeout(left(), c.delete(&path, Some(stat.version))).await {
                Ok(Ok(())) => return Done::ok(Value::Int(e)),
                Ok(Err(zk::Error::NoNode | zk::Error::BadVersion)) => continue,
                Ok(Err(err)) => return Done::erred(err, Value::Int(e)).unknown(),
                Err(_) => return Done::erred(zk::Error::Timeout, Value::Int(e)),
            }
        }
    }
}

impl Done {
    /// The same, but never a `fail`: a dequeue refused half-way is still one whose
    /// other steps may have happened.
    fn unknown(mut self) -> Done {
        if self.kind == Kind::Fail {
            self.kind = Kind::Info;
        }
        self
    }
}
