//! The queue: enqueue is a sequential create whose data is a unique element; dequeue
//! lists the children and deletes the smallest (getData, then delete at the version
//! read, so it takes exactly the element it read), trying the next one when someone else
//! got it first. At the end one client drains the queue until it is empty.
//!
//! No element may be dequeued twice, no element may come out that was never enqueued,
//! and every acknowledged enqueue must come out (from a dequeue, the drain, or a dequeue
//! of unknown outcome that had got as far as deleting it).

use std::collections::{HashMap, HashSet};

use super::{Anomaly, Verdict};
use crate::history::{Kind, Op};

fn dequeues(ops: &[Op]) -> impl Iterator<Item = &Op> {
    ops.iter().filter(|o| o.op == "dequeue" || o.op == "drain")
}

pub fn check(ops: &[Op]) -> Verdict {
    let mut verdict = Verdict::default();
    let attempted: HashSet<i64> = ops
        .iter()
        .filter(|o| o.op == "enqueue" && o.kind != Kind::Fail)
        .filter_map(|o| o.arg.int())
        .collect();
    let mut taken: HashMap<i64, &Op> = HashMap::new();
    let mut maybe_taken: HashSet<i64> = HashSet::new();
    for d in dequeues(ops) {
        match (d.kind, d.result.int()) {
            (Kind::Ok, Some(e)) => {
                if let Some(first) = taken.insert(e, d) {
                    let a = Anomaly::new(
                        "duplicate",
                        &d.key,
                        format!("{e} dequeued twice (first by client {})", first.client),
                    );
                    verdict.anomalies.push(a.at(d));
                }
                if !attempted.contains(&e) {
                    let a = Anomaly::new(
                        "unexpected",
                        &d.key,
                        format!("{e} dequeued, never enqueued"),
                    );
                    verdict.anomalies.push(a.at(d));
                }
            }
            (Kind::Info, Some(e)) => {
                maybe_taken.insert(e);
            }
            _ => {}
        }
    }
    let drained = ops.iter().any(|o| o.op == "drain" && o.kind == Kind::Fail);
    if !drained {
        verdict.anomalies.push(Anomaly::new(
            "no-final-read",
            "",
            "the final drain never emptied the queue".into(),
        ));
        return verdict;
    }
    for enq in ops
        .iter()
        .filter(|o| o.op == "enqueue" && o.kind == Kind::Ok)
    {
        let Some(e) = enq.arg.int() else { continue };
        if !taken.contains_key(&e) && !maybe_taken.contains(&e) {
            verdict.lost_acknowledged_writes += 1;
            let a = Anomaly::new(
                "lost",
                &enq.key,
                format!("acknowledged enqueue of {e} never came out"),
            );
            verdict.anomalies.push(a.at(enq));
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use crate::checker::check;
    use crate::checker::test_history::history;
    use crate::history::Kind::{Fail, Info, Invoke, Ok};
    use crate::history::Value::{Int, Null};
    use crate::Workload;

    #[test]
    fn every_element_out_once_passes() {
        let v = check(
            Workload::Queue,
            &history(&[
                (0, Invoke, "enqueue", "/queue", Int(1)),
                (0, Ok, "enqueue", "/queue", Int(1)),
                (0, Invoke, "enqueue", "/queue", Int(2)),
                (0, Ok, "enqueue", "/queue", Int(2)),
                (1, Invoke, "enqueue", "/queue", Int(3)),
                (1, Info, "enqueue", "/queue", Int(3)),
                (1, Invoke, "dequeue", "/queue", Null),
                (1, Ok, "dequeue", "/queue", Int(1)),
                (1, Invoke, "dequeue", "/queue", Null),
                (1, Info, "dequeue", "/queue", Int(2)),
                (9, Invoke, "drain", "/queue", Null),
                (9, Ok, "drain", "/queue", Int(3)),
                (9, Invoke, "drain", "/queue", Null),
                (9, Fail, "drain", "/queue", Null),
            ]),
        );
        assert!(v.valid(), "{v:?}");
    }

    #[test]
    fn a_duplicate_dequeue_is_flagged() {
        let v = check(
            Workload::Queue,
            &history(&[
                (0, Invoke, "enqueue", "/queue", Int(1)),
                (0, Ok, "enqueue", "/queue", Int(1)),
                (0, Invoke, "dequeue", "/queue", Null),
                (1, Invoke, "dequeue", "/queue", Null),
                (0, Ok, "dequeue", "/queue", Int(1)),
                (1, Ok, "dequeue", "/queue", Int(1)),
                (9, Invoke, "drain", "/queue", Null),
                (9, Fail, "drain", "/queue", Null),
            ]),
        );
        assert_eq!(v.anomalies.len(), 1, "{v:?}");
        assert_eq!(
            (v.anomalies[0].kind.as_str(), v.anomalies[0].client),
            ("duplicate", Some(1))
        );
    }

    #[test]
    fn a_lost_enqueue_and_an_element_never_enqueued_are_flagged() {
        let v = check(
            Workload::Queue,
            &history(&[
                (0, Invoke, "enqueue", "/queue", Int(1)),
                (0, Ok, "enqueue", "/queue", Int(1)),
                (9, Invoke, "drain", "/queue", Null),
                (9, Ok, "drain", "/queue", Int(7)),
                (9, Invoke, "drain", "/queue", Null),
                (9, Fail, "drain", "/queue", Null),
            ]),
        );
        assert_eq!(v.lost_acknowledged_writes, 1, "{v:?}");
        let kinds: Vec<&str> = v.anomalies.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, ["unexpected", "lost"], "{v:?}");
    }
}
