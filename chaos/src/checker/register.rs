//! Linearizability of compare-and-set registers, one per key, with todc-utils'
//! Wing-Gong-Lowe search.
//!
//! A key's state is its data and its version, as ZooKeeper keeps them: a read answers
//! both, a write sets the data and bumps the version, and a compare-and-set (setData with
//! the version read before) does the same only if the version still matches; its
//! BADVERSION (`fail`) says the version did not match at that moment. An `info` operation
//! is pending forever, as Jepsen models it: its response is placed after every other
//! operation, so the search may let it take effect at any point after its invocation, or
//! (by putting it last) never. An `info` read constrains nothing and is left out.
//!
//! The search can blow up on long concurrent histories, so the workload moves to a fresh
//! key every so many operations, each key is searched on its own thread, and a key whose
//! search runs past its budget is reported as unchecked rather than passed. For a key that
//! fails, a bisection over completion times finds the first operation that makes its
//! history impossible: the one the anomaly names.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use todc_utils::linearizability::history::{Action, History};
use todc_utils::{Specification, WGLChecker};

use super::{Anomaly, Verdict};
use crate::history::{Kind, Op};

/// How long the search of all keys may take in total.
const BUDGET: Duration = Duration::from_secs(60);

/// One register operation as the search applies it.
#[derive(Clone, Debug)]
pub enum RegisterOp {
    /// A read that answered `[data, version]`.
    Read(i64, i64),
    /// An unconditional write (known or not known to have happened).
    Write(i64),
    /// A compare-and-set that happened.
    Cas { expect: i64, value: i64 },
    /// A compare-and-set the server refused with BADVERSION.
    CasRefused { expect: i64 },
    /// A compare-and-set of unknown outcome: if it takes effect where the version matches,
    /// it sets the value; where it does not, it is refused and changes nothing.
    CasMaybe { expect: i64, value: i64 },
}

/// A znode's data and version; every key starts as `0` at version 0.
pub struct CasRegister;

impl Specification for CasRegister {
    type State = (i64, i64);
    type Operation = RegisterOp;

    fn init() -> (i64, i64) {
        (0, 0)
    }

    fn apply(op: &RegisterOp, &(value, version): &(i64, i64)) -> (bool, (i64, i64)) {
        let unchanged = (value, version);
        match *op {
            RegisterOp::Read(v, ver) => ((v, ver) == unchanged, unchanged),
            RegisterOp::Write(v) => (true, (v, version + 1)),
            RegisterOp::Cas { expect, value: v } => {
                if expect == version {
                    (true, (v, version + 1))
                } else {
                    (false, unchanged)
                }
            }
            RegisterOp::CasRefused { expect } => (expect != version, unchanged),
            RegisterOp::CasMaybe { expect, value: v } => {
                if expect == version {
                    (true, (v, version + 1))
                } else {
                    (true, unchanged)
                }
            }
        }
    }
}

/// Checks every key's history.
pub fn check(ops: &[Op]) -> Verdict {
    let mut keys: BTreeMap<&str, Vec<Op>> = BTreeMap::new();
    for o in ops {
        keys.entry(o.key.as_str()).or_default().push(o.clone());
    }
    let (tx, rx) = mpsc::channel();
    for (key, key_ops) in &keys {
        let (tx, key, key_ops) = (tx.clone(), key.to_string(), key_ops.clone());
        // A search past the budget is abandoned; its thread dies with the process.
        std::thread::spawn(move || {
            let _ = tx.send((key.clone(), check_key(&key, &key_ops)));
        });
    }
    drop(tx);
    let end = Instant::now() + BUDGET;
    let mut verdict = Verdict::default();
    let mut done = std::collections::BTreeSet::new();
    while done.len() < keys.len() {
        let left = end.saturating_duration_since(Instant::now());
        let Ok((key, anomaly)) = rx.recv_timeout(left) else {
            break;
        };
        done.insert(key);
        verdict.anomalies.extend(anomaly);
    }
    for key in keys.keys().filter(|k| !done.contains(**k)) {
        verdict
            .unchecked
            .push(format!("{key}: search over its {BUDGET:?} budget"));
    }
    verdict.anomalies.sort_by_key(|a| a.span);
    verdict
}

/// The anomaly of one key's history, if it is not linearizable.
fn check_key(key: &str, ops: &[Op]) -> Option<Anomaly> {
    if linearizable(ops, u64::MAX) {
        return None;
    }
    // The earliest completion time at which the history cut there is impossible.
    let mut ends: Vec<u64> = ops.iter().filter_map(|o| o.completed).collect();
    ends.sort_unstable();
    let (mut lo, mut hi) = (0, ends.len().saturating_sub(1));
    while lo < hi {
        let mid = (lo + hi) / 2;
        if linearizable(ops, ends[mid]) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let culprit = ops.iter().find(|o| o.completed == ends.get(lo).copied())?;
    let shown = format!(
        "{} {:?} -> {:?} {:?}",
        culprit.op, culprit.arg, culprit.kind, culprit.result
    );
    Some(
        Anomaly::new(
            "nonlinearizable",
            key,
            format!(
                "no linearization of {} ops once this completes: {shown}",
                ops.len()
            ),
        )
        .at(culprit),
    )
}

/// Whether the history of one key, cut at time `cut` (an operation completing later
/// counts as pending forever), has a linearization.
fn linearizable(ops: &[Op], cut: u64) -> bool {
    let mut timed: Vec<(u64, u8, usize, Action<RegisterOp>)> = Vec::new();
    let mut pending: Vec<(usize, RegisterOp)> = Vec::new();
    for (pid, o) in ops.iter().enumerate() {
        if o.invoked > cut {
            continue;
        }
        let known = o.completed.is_some_and(|c| c <= cut);
        let kind = if known { o.kind } else { Kind::Info };
        let Some(op) = register_op(o, kind) else {
            continue;
        };
        timed.push((o.invoked, 0, pid, Action::Call(op.clone())));
        match (kind, o.completed) {
            (Kind::Info, _) => pending.push((pid, op)),
            (_, Some(c)) => timed.push((c, 1, pid, Action::Response(op))),
            (_, None) => pending.push((pid, op)),
        }
    }
    if timed.is_empty() {
        return true;
    }
    timed.sort_by_key(|(t, order, pid, _)| (*t, *order, *pid));
    let mut actions: Vec<(usize, Action<RegisterOp>)> =
        timed.into_iter().map(|(_, _, pid, a)| (pid, a)).collect();
    actions.extend(
        pending
            .into_iter()
            .map(|(pid, op)| (pid, Action::Response(op))),
    );
    WGLChecker::<CasRegister>::is_linearizable(History::from_actions(actions))
}

/// The search's view of an operation completed as `kind`; `None` for one that constrains
/// nothing (a read of unknown answer, a refused plain write).
fn register_op(o: &Op, kind: Kind) -> Option<RegisterOp> {
    match (o.op.as_str(), kind) {
        ("read", Kind::Ok) => o.result.pair().map(|[v, ver]| RegisterOp::Read(v, ver)),
        ("write", Kind::Ok | Kind::Info) => o.arg.int().map(RegisterOp::Write),
        ("cas", k) => {
            let [expect, value] = o.arg.pair()?;
            match k {
                Kind::Ok => Some(RegisterOp::Cas { expect, value }),
                Kind::Fail => Some(RegisterOp::CasRefused { expect }),
                _ => Some(RegisterOp::CasMaybe { expect, value }),
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::test_history::history;
    use crate::checker::{check as check_history, Verdict};
    use crate::history::Value::{Int, Null, Pair};
    use crate::Workload;

    fn verdict(rows: &[(usize, Kind, &str, &str, crate::history::Value)]) -> Verdict {
        check_history(Workload::Register, &history(rows))
    }

    #[test]
    fn sequential_reads_of_the_last_write_are_linearizable() {
        let v = verdict(&[
            (0, Kind::Invoke, "write", "/r/0", Int(7)),
            (0, Kind::Ok, "write", "/r/0", Int(7)),
            (1, Kind::Invoke, "read", "/r/0", Null),
            (1, Kind::Ok, "read", "/r/0", Pair([7, 1])),
            (1, Kind::Invoke, "cas", "/r/0", Pair([1, 8])),
            (1, Kind::Ok, "cas", "/r/0", Pair([1, 8])),
            (0, Kind::Invoke, "cas", "/r/0", Pair([1, 9])),
            (0, Kind::Fail, "cas", "/r/0", Pair([1, 9])),
            (0, Kind::Invoke, "read", "/r/0", Null),
            (0, Kind::Ok, "read", "/r/0", Pair([8, 2])),
        ]);
        assert!(v.valid(), "{v:?}");
    }

    #[test]
    fn a_stale_read_after_an_acknowledged_write_is_flagged() {
        let v = verdict(&[
            (0, Kind::Invoke, "write", "/r/0", Int(7)),
            (0, Kind::Ok, "write", "/r/0", Int(7)),
            (1, Kind::Invoke, "read", "/r/0", Null),
            (1, Kind::Ok, "read", "/r/0", Pair([7, 1])),
            (0, Kind::Invoke, "write", "/r/0", Int(8)),
            (0, Kind::Ok, "write", "/r/0", Int(8)),
            (1, Kind::Invoke, "read", "/r/0", Null),
            (1, Kind::Ok, "read", "/r/0", Pair([7, 1])),
        ]);
        assert_eq!(v.anomalies.len(), 1, "{v:?}");
        let a = &v.anomalies[0];
        assert_eq!(
            (a.kind.as_str(), a.key.as_str()),
            ("nonlinearizable", "/r/0")
        );
        // The last read is the one that makes it impossible.
        assert_eq!((a.client, a.span), (Some(1), Some([7, 8])));
    }

    #[test]
    fn an_unknown_write_may_take_effect_late_or_never() {
        let late = verdict(&[
            (0, Kind::Invoke, "write", "/r/0", Int(5)),
            (0, Kind::Info, "write", "/r/0", Int(5)),
            (1, Kind::Invoke, "read", "/r/0", Null),
            (1, Kind::Ok, "read", "/r/0", Pair([0, 0])),
            (1, Kind::Invoke, "read", "/r/0", Null),
            (1, Kind::Ok, "read", "/r/0", Pair([5, 1])),
        ]);
        assert!(late.valid(), "{late:?}");
        let never = verdict(&[
            (0, Kind::Invoke, "cas", "/r/0", Pair([0, 5])),
            (0, Kind::Info, "cas", "/r/0", Pair([0, 5])),
            (1, Kind::Invoke, "write", "/r/0", Int(6)),
            (1, Kind::Ok, "write", "/r/0", Int(6)),
            (1, Kind::Invoke, "read", "/r/0", Null),
            (1, Kind::Ok, "read", "/r/0", Pair([6, 1])),
        ]);
        assert!(never.valid(), "{never:?}");
    }

    #[test]
    fn a_value_nobody_wrote_is_flagged_and_keys_are_checked_apart() {
        let v = verdict(&[
            (0, Kind::Invoke, "write", "/r/0", Int(5)),
            (0, Kind::Ok, "write", "/r/0", Int(5)),
            (0, Kind::Invoke, "read", "/r/1", Null),
            (0, Kind::Ok, "read", "/r/1", Pair([0, 0])),
            (1, Kind::Invoke, "read", "/r/1", Null),
            (1, Kind::Ok, "read", "/r/1", Pair([5, 1])),
        ]);
        assert_eq!(v.anomalies.len(), 1, "{v:?}");
        assert_eq!(v.anomalies[0].key, "/r/1");
    }

    #[test]
    fn a_compare_and_set_refused_while_its_version_held_is_flagged() {
        let v = verdict(&[
            (0, Kind::Invoke, "read", "/r/0", Null),
            (0, Kind::Ok, "read", "/r/0", Pair([0, 0])),
            (0, Kind::Invoke, "cas", "/r/0", Pair([0, 3])),
            (0, Kind::Fail, "cas", "/r/0", Pair([0, 3])),
            (0, Kind::Invoke, "read", "/r/0", Null),
            (0, Kind::Ok, "read", "/r/0", Pair([0, 0])),
        ]);
        assert_eq!(v.anomalies.len(), 1, "{v:?}");
    }
}
