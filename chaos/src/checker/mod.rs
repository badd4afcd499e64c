//! The checkers: each reads a workload's history and says what it proves wrong.
//!
//! A checker only ever reports what the history makes impossible: an `info` operation may
//! or may not have happened, for good, so it can never be the evidence of an anomaly on
//! its own. Each anomaly names the operation that exposes it (its client and times), so
//! that the timeline can mark it.

pub mod counter;
pub mod queue;
pub mod register;
pub mod set;
pub mod unique_ids;

use serde::Serialize;

use crate::history::{pair_up, Event, Kind, Op};
use crate::Workload;

/// Something the history proves wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// `nonlinearizable`, `lost`, `duplicate`, `unexpected`, `backwards`, `out-of-bounds`…
    pub kind: String,
    pub key: String,
    pub detail: String,
    /// The client and time span of the operation that exposes it, when there is one.
    pub client: Option<usize>,
    pub span: Option<[u64; 2]>,
}

impl Anomaly {
    fn new(kind: &str, key: &str, detail: String) -> Anomaly {
        Anomaly {
            kind: kind.to_owned(),
            key: key.to_owned(),
            detail,
            client: None,
            span: None,
        }
    }

    fn at(mut self, op: &Op) -> Anomaly {
        self.client = Some(op.client);
        self.span = Some([op.invoked, op.completed.unwrap_or(op.invoked)]);
        self
    }
}

/// A checker's conclusions.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Verdict {
    pub anomalies: Vec<Anomaly>,
    /// Acknowledged writes that the final state does not hold.
    pub lost_acknowledged_writes: usize,
    /// Parts of the history the checker gave up on (a linearizability search over its
    /// budget): neither proven right nor wrong.
    pub unchecked: Vec<String>,
}

impl Verdict {
    pub fn valid(&self) -> bool {
        self.anomalies.is_empty() && self.lost_acknowledged_writes == 0
    }
}

/// Checks `events` as a history of `workload`.
pub fn check(workload: Workload, events: &[Event]) -> Verdict {
    let ops = pair_up(events);
    match workload {
        Workload::Register => register::check(&ops),
        Workload::Set => set::check(&ops),
        Workload::UniqueIds => unique_ids::check(&ops),
        Workload::Counter => counter::check(&ops),
        Workload::Queue => queue::check(&ops),
    }
}

/// The operations named `name` that completed with `kind`.
fn with<'a>(ops: &'a [Op], name: &'a str, kind: Kind) -> impl Iterator<Item = &'a Op> + 'a {
    ops.iter().filter(move |o| o.op == name && o.kind == kind)
}

/// The last `ok` operation named `name` (the final read).
fn last_ok<'a>(ops: &'a [Op], name: &str) -> Option<&'a Op> {
    ops.iter()
        .rev()
        .find(|o| o.op == name && o.kind == Kind::Ok)
}

#[cfg(test)]
pub(crate) mod test_history {
    //! Hand-written histories for the checkers' tests.

    use crate::history::{Event, Kind, Value};

    /// Builds a history from `(client, kind, op, key, value)` rows, one nanosecond apart.
    pub fn history(rows: &[(usize, Kind, &str, &str, Value)]) -> Vec<Event> {
        rows.iter()
            .enumerate()
            .map(|(i, (client, kind, op, key, value))| Event {
                time: i as u64 + 1,
                client: *client,
                kind: *kind,
                op: (*op).to_owned(),
                key: (*key).to_owned(),
                value: value.clone(),
            })
            .collect()
    }

    pub fn names(v: &[&str]) -> Value {
        Value::Names(v.iter().map(|s| (*s).to_owned()).collect())
    }
}
