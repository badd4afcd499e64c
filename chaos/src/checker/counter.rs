//! The counter: each `add` is one multi that creates N sequential children at once, and
//! a read counts the children. A multi is all or nothing, so the count only ever moves
//! by whole adds.
//!
//! Every read must lie within what the history allows at its time: no less than the sum
//! of the adds acknowledged before it was invoked, no more than the sum of the adds
//! (acknowledged or of unknown outcome) invoked before it completed. A client's reads
//! never go backwards. The final read, once every fault is healed, is the counter's
//! value: acknowledged ≤ final ≤ acknowledged + unknown, and what it misses of the
//! acknowledged sum is lost.
//!
//! The lower bound holds a read to linearizability: the harness issues a `sync` before
//! each read on an ensemble, where a follower may otherwise lag.

use super::{last_ok, Anomaly, Verdict};
use crate::history::{Kind, Op};

pub fn check(ops: &[Op]) -> Verdict {
    let mut verdict = Verdict::default();
    let adds: Vec<&Op> = ops.iter().filter(|o| o.op == "add").collect();
    let amount = |o: &Op| o.arg.int().unwrap_or(0);
    let reads = ops
        .iter()
        .filter(|o| (o.op == "read" || o.op == "final-read") && o.kind == Kind::Ok);
    let mut last_seen: std::collections::HashMap<usize, i64> = Default::default();
    for read in reads {
        let Some(value) = read.result.int() else {
            continue;
        };
        let end = read.end();
        let low: i64 = adds
            .iter()
            .filter(|a| a.kind == Kind::Ok && a.end() < read.invoked)
            .map(|a| amount(a))
            .sum();
        let high: i64 = adds
            .iter()
            .filter(|a| a.kind != Kind::Fail && a.invoked < end)
            .map(|a| amount(a))
            .sum();
        if value < low || value > high {
            let a = Anomaly::new(
                "out-of-bounds",
                &read.key,
                format!("read {value}, but the history allows only {low}..={high} then"),
            );
            verdict.anomalies.push(a.at(read));
        }
        if let Some(prev) = last_seen.insert(read.client, value) {
            if value < prev {
                let a = Anomaly::new(
                    "backwards",
                    &read.key,
                    format!("client {} read {value} after {prev}", read.client),
                );
                verdict.anomalies.push(a.at(read));
            }
        }
    }
    let Some(last) = last_ok(ops, "final-read") else {
        verdict.anomalies.push(Anomaly::new(
            "no-final-read",
            "",
            "the final read never succeeded".into(),
        ));
        return verdict;
    };
    let acked: i64 = adds
        .iter()
        .filter(|a| a.kind == Kind::Ok)
        .map(|a| amount(a))
        .sum();
    let final_value = last.result.int().unwrap_or(0);
    verdict.lost_acknowledged_writes = usize::try_from(acked - final_value).unwrap_or(0);
    verdict
}

#[cfg(test)]
mod tests {
    use crate::checker::check;
    use crate::checker::test_history::history;
    use crate::history::Kind::{Info, Invoke, Ok};
    use crate::history::Value::{Int, Null};
    use crate::Workload;

    #[test]
    fn reads_within_bounds_and_an_unknown_add_counted_either_way_pass() {
        let v = check(
            Workload::Counter,
            &history(&[
                (0, Invoke, "add", "/counter", Int(3)),
                (0, Ok, "add", "/counter", Int(3)),
                (1, Invoke, "add", "/counter", Int(2)),
                (1, Info, "add", "/counter", Int(2)),
                (0, Invoke, "read", "/counter", Null),
                (0, Ok, "read", "/counter", Int(3)),
                (0, Invoke, "read", "/counter", Null),
                (0, Ok, "read", "/counter", Int(5)),
                (9, Invoke, "final-read", "/counter", Null),
                (9, Ok, "final-read", "/counter", Int(5)),
            ]),
        );
        assert!(v.valid(), "{v:?}");
    }

    #[test]
    fn a_counter_going_backwards_is_flagged() {
        let v = check(
            Workload::Counter,
            &history(&[
                (1, Invoke, "add", "/counter", Int(2)),
                (0, Invoke, "read", "/counter", Null),
                (0, Ok, "read", "/counter", Int(2)),
                (0, Invoke, "read", "/counter", Null),
                (0, Ok, "read", "/counter", Int(0)),
                (1, Info, "add", "/counter", Int(2)),
                (9, Invoke, "final-read", "/counter", Null),
                (9, Ok, "final-read", "/counter", Int(2)),
            ]),
        );
        let kinds: Vec<&str> = v.anomalies.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, ["backwards"], "{v:?}");
    }

    #[test]
    fn a_count_below_the_acknowledged_sum_is_flagged_and_lost() {
        let v = check(
            Workload::Counter,
            &history(&[
                (0, Invoke, "add", "/counter", Int(4)),
                (0, Ok, "add", "/counter", Int(4)),
                (9, Invoke, "final-read", "/counter", Null),
                (9, Ok, "final-read", "/counter", Int(1)),
            ]),
        );
        assert_eq!(v.lost_acknowledged_writes, 3, "{v:?}");
        assert_eq!(v.anomalies[0].kind, "out-of-bounds");
    }

    #[test]
    fn a_count_above_every_possible_add_is_flagged() {
        let v = check(
            Workload::Counter,
            &history(&[
                (0, Invoke, "read", "/counter", Null),
                (0, Ok, "read", "/counter", Int(1)),
                (9, Invoke, "final-read", "/counter", Null),
                (9, Ok, "final-read", "/counter", Int(0)),
            ]),
        );
        assert_eq!(v.anomalies.len(), 1, "{v:?}");
        assert_eq!(v.anomalies[0].kind, "out-of-bounds");
    }
}
