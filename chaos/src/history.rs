//! The history: every operation a client performs, as an `invoke` event and then exactly
//! one completion. The checkers read nothing else, so a history written to disk can be
//! checked again later (and a known-bad one can be written by hand in a test).
//!
//! A completion says what is known about the operation's effect:
//! - `ok`: it happened, and its value is what the server answered;
//! - `fail`: it definitely did not happen (BADVERSION, NONODE, NODEEXISTS…);
//! - `info`: nobody knows (a timeout, a lost connection, an expired session mid-call).
//!   The checkers must allow both outcomes for it, for good.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::ChaosError;

/// What an event says about its operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// An operation's argument or result. Each workload uses the shapes it needs: a register
/// read answers `[value, version]`, a compare-and-set carries `[expected version, value]`,
/// a listing is a list of names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Int(i64),
    Pair([i64; 2]),
    Names(Vec<String>),
    Text(String),
}

impl Value {
    pub fn int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn pair(&self) -> Option<[i64; 2]> {
        match self {
            Value::Pair(p) => Some(*p),
            _ => None,
        }
    }

    pub fn names(&self) -> Option<&[String]> {
        match self {
            Value::Names(n) => Some(n),
            _ => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// One line of `history.jsonl`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Nanoseconds since the run started (monotonic clock).
    pub time: u64,
    /// The worker that performed the operation; the final reads use their own id.
    pub client: usize,
    pub kind: Kind,
    /// The operation's name: `read`, `write`, `cas`, `add`, `enqueue`…
    pub op: String,
    /// The znode the operation is about (or its parent).
    pub key: String,
    pub value: Value,
}

/// One operation: its invocation and its completion, paired up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    pub client: usize,
    pub op: String,
    pub key: String,
    pub invoked: u64,
    /// `None` when the history ends before the operation completes (treated as `info`).
    pub completed: Option<u64>,
    pub kind: Kind,
    /// The argument, as invoked.
    pub arg: Value,
    /// The completion's value (the result for `ok`; the argument again otherwise).
    pub result: Value,
}

impl Op {
    /// When the operation completed, or `u64::MAX` if it never did.
    pub fn end(&self) -> u64 {
        self.completed.unwrap_or(u64::MAX)
    }
}

/// Pairs each invocation with the next completion of the same client (a client has at
/// most one operation in flight), in invocation order.
pub fn pair_up(events: &[Event]) -> Vec<Op> {
    let mut open: std::collections::HashMap<usize, usize> = Default::default();
    let mut ops: Vec<Op> = Vec::new();
    for e in events {
        if e.kind == Kind::Invoke {
            open.insert(e.client, ops.len());
            ops.push(Op {
                client: e.client,
                op: e.op.clone(),
                key: e.key.clone(),
                invoked: e.time,
                completed: None,
                kind: Kind::Info,
                arg: e.value.clone(),
                result: Value::Null,
            });
        } else if let Some(i) = open.remove(&e.client) {
            ops[i].completed = Some(e.time);
            ops[i].kind = e.kind;
            ops[i].result = e.value.clone();
        }
    }
    ops
}

/// Collects events from every client of a run; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    start: Instant,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Recorder {
    pub fn new(start: Instant) -> Recorder {
        Recorder {
            start,
            events: Arc::default(),
        }
    }

    /// Nanoseconds since the run started.
    pub fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records an event stamped now. The clock is read under the lock, so the events are
    /// in time order in the history.
    pub fn record(&self, client: usize, kind: Kind, op: &str, key: &str, value: Value) {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let time = self.now();
        events.push(Event {
            time,
            client,
            kind,
            op: op.to_owned(),
            key: key.to_owned(),
            value,
        });
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Writes values as JSON lines.
pub fn write_jsonl<T: Serialize>(path: &Path, items: &[T]) -> Result<(), ChaosError> {
    let io = |e| ChaosError::Io(path.to_owned(), e);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    for item in items {
        serde_json::to_writer(&mut out, item).map_err(|e| ChaosError::Json(path.to_owned(), e))?;
        out.write_all(b"\n").map_err(io)?;
    }
    out.flush().map_err(io)
}

/// Reads a history written by [`write_jsonl`].
pub fn read_history(path: &Path) -> Result<Vec<Event>, ChaosError> {
    let text = std::fs::read_to_string(path).map_err(|e| ChaosError::Io(path.to_owned(), e))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| ChaosError::Json(path.to_owned(), e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_json() {
        for v in [
            Value::Null,
            Value::Int(-3),
            Value::Pair([4, 5]),
            Value::Names(vec!["a".into()]),
            Value::Text("x".into()),
        ] {
            let s = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<Value>(&s).unwrap(), v, "{s}");
        }
    }

    #[test]
    fn completions_pair_with_their_clients_invocation() {
        let ev = |time, client, kind, op: &str| Event {
            time,
            client,
            kind,
            op: op.into(),
            key: "/k".into(),
            value: Value::Null,
        };
        let ops = pair_up(&[
            ev(1, 0, Kind::Invoke, "read"),
            ev(2, 1, Kind::Invoke, "write"),
            ev(3, 1, Kind::Ok, "write"),
            ev(4, 2, Kind::Invoke, "write"),
        ]);
        assert_eq!(ops.len(), 3);
        assert_eq!((ops[0].kind, ops[0].completed), (Kind::Info, None));
        assert_eq!((ops[1].kind, ops[1].completed), (Kind::Ok, Some(3)));
        assert_eq!(ops[2].end(), u64::MAX);
    }
}
