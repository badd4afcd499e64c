//! The set: every acknowledged `add` must be in the final read, and nothing may be there
//! that was never attempted or that the server refused.
//!
//! Each `add` creates a znode named after a unique element (`e-<n>`), so the final read
//! (one getChildren once every fault is healed) is the set itself. An `add` of unknown
//! outcome may be either present or absent.

use std::collections::{BTreeSet, HashSet};

use super::{last_ok, with, Anomaly, Verdict};
use crate::history::{Kind, Op};

/// The znode name an element is stored under.
pub fn element_name(e: i64) -> String {
    format!("e-{e}")
}

pub fn check(ops: &[Op]) -> Verdict {
    let mut verdict = Verdict::default();
    let Some(read) = last_ok(ops, "final-read") else {
        verdict.anomalies.push(Anomaly::new(
            "no-final-read",
            "",
            "the final read never succeeded".into(),
        ));
        return verdict;
    };
    let present: HashSet<&str> = read
        .result
        .names()
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
        .collect();
    let attempted: HashSet<String> = ops
        .iter()
        .filter(|o| o.op == "add" && o.kind != Kind::Fail)
        .filter_map(|o| o.arg.int().map(element_name))
        .collect();
    for add in with(ops, "add", Kind::Ok) {
        let Some(e) = add.arg.int() else { continue };
        if !present.contains(element_name(e).as_str()) {
            verdict.lost_acknowledged_writes += 1;
            let a = Anomaly::new(
                "lost",
                &add.key,
                format!("acknowledged add of {e} is not in the final read"),
            );
            verdict.anomalies.push(a.at(add));
        }
    }
    let unexpected: BTreeSet<&str> = present
        .iter()
        .copied()
        .filter(|n| !attempted.contains(*n))
        .collect();
    if !unexpected.is_empty() {
        let a = Anomaly::new(
            "unexpected",
            &read.key,
            format!("never attempted or refused, yet present: {unexpected:?}"),
        );
        verdict.anomalies.push(a.at(read));
    }
    verdict
}

#[cfg(test)]
mod tests {
    use crate::checker::check;
    use crate::checker::test_history::{history, names};
    use crate::history::Kind::{Fail, Info, Invoke, Ok};
    use crate::history::Value::{Int, Null};
    use crate::Workload;

    #[test]
    fn acknowledged_adds_present_and_unknown_ones_either_way_pass() {
        let v = check(
            Workload::Set,
            &history(&[
                (0, Invoke, "add", "/set", Int(1)),
                (0, Ok, "add", "/set", Int(1)),
                (1, Invoke, "add", "/set", Int(2)),
                (1, Info, "add", "/set", Int(2)),
                (1, Invoke, "add", "/set", Int(3)),
                (1, Info, "add", "/set", Int(3)),
                (9, Invoke, "final-read", "/set", Null),
                (9, Ok, "final-read", "/set", names(&["e-1", "e-3"])),
            ]),
        );
        assert!(v.valid(), "{v:?}");
    }

    #[test]
    fn a_lost_write_and_an_element_never_added_are_flagged() {
        let v = check(
            Workload::Set,
            &history(&[
                (0, Invoke, "add", "/set", Int(1)),
                (0, Ok, "add", "/set", Int(1)),
                (0, Invoke, "add", "/set", Int(2)),
                (0, Fail, "add", "/set", Int(2)),
                (9, Invoke, "final-read", "/set", Null),
                (9, Ok, "final-read", "/set", names(&["e-2", "e-4"])),
            ]),
        );
        assert_eq!(v.lost_acknowledged_writes, 1, "{v:?}");
        let kinds: Vec<&str> = v.anomalies.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(kinds, ["lost", "unexpected"], "{v:?}");
        assert!(v.anomalies[1].detail.contains("e-2") && v.anomalies[1].detail.contains("e-4"));
    }
}
