//! Registers: reads, writes and compare-and-sets (setData at the version read before) of
//! a few keys at a time.
//!
//! The workers share a key until it has had [`OPS_PER_KEY`] operations, then all move to
//! the next one (Jepsen's independent keys): the linearizability search is exponential in
//! the worst case, and short per-key histories keep it quick. The workers are paced for
//! the same reason. Every key is created up front as `0` at version 0, the checker's
//! initial state.

use std::sync::atomic::Ordering;

use crate::client::{parse_int, perform, Done};
use crate::history::Value;
use rand::Rng;

use super::{pace, Worker};

/// Operations on one key before the workers move to the next.
pub const OPS_PER_KEY: u64 = 100;

/// The most operations a second one register worker can do (its pace bounds it).
const MAX_RATE: f64 = 60.0;

pub fn key(k: u64) -> String {
    format!("/r/{k}")
}

/// Keys enough for `clients` workers at their top rate for `seconds` (and a margin).
pub fn keys_needed(clients: usize, seconds: f64) -> u64 {
    ((clients as f64 * MAX_RATE * (seconds + 10.0)) / OPS_PER_KEY as f64).ceil() as u64 + 1
}

pub async fn work(w: &mut Worker) {
    let mut seq = 0;
    // The version this worker last read of the key it is on, for a compare-and-set.
    let mut known: Option<(u64, i32)> = None;
    while w.running() {
        pace(w).await;
        seq += 1;
        let value = w.unique(seq);
        let Some(c) = w.session.client().await else {
            continue;
        };
        let n = w.started.fetch_add(1, Ordering::Relaxed);
        let k = (n / OPS_PER_KEY).min(w.keys.saturating_sub(1));
        let path = key(k);
        let dice = w.rng.gen_range(0..4);
        let version = known.filter(|(kk, _)| *kk == k).map(|(_, v)| v);
        let sync = w.sync_reads;
        let reading = dice < 2 || (dice == 3 && version.is_none());
        let done = match (dice, version) {
            _ if reading => {
                perform(&w.rec, w.id, "read", &path, Value::Null, || async {
                    if sync {
                        if let Err(e) = c.sync(&path).await {
                            return Done::erred(e, Value::Null);
                        }
                    }
                    let r = c.get_data(&path).await;
                    Done::of(
                        r.map(|(data, stat)| {
                            Value::Pair([parse_int(&data), i64::from(stat.version)])
                        }),
                        &Value::Null,
                    )
                })
                .await
            }
            (2, _) => {
                perform(&w.rec, w.id, "write", &path, Value::Int(value), || async {
                    let r = c.set_data(&path, value.to_string().as_bytes(), None).await;
                    Done::of(r.map(|_| Value::Int(value)), &Value::Int(value))
                })
                .await
            }
            (_, ver) => {
                let ver = ver.unwrap_or(0);
                let arg = Value::Pair([i64::from(ver), value]);
                perform(&w.rec, w.id, "cas", &path, arg.clone(), || async {
                    let r = c
                        .set_data(&path, value.to_string().as_bytes(), Some(ver))
                        .await;
                    Done::of(r.map(|_| arg.clone()), &arg)
                })
                .await
            }
        };
        // Only an answered read tells the version; anything else leaves it unknown.
        known = match &done.value {
            Value::Pair([_, ver]) if reading && done.kind == crate::history::Kind::Ok => {
                i32::try_from(*ver).ok().map(|v| (k, v))
            }
            _ => None,
        };
        w.session.after(done.error.as_ref());
    }
}
