//! Unique ids: sequential creates under one parent. Every acknowledged name must be
//! unique and in the final listing, and the listing may hold no more names than creates
//! that may have happened.

use std::collections::{HashMap, HashSet};

use super::{last_ok, with, Anomaly, Verdict};
use crate::history::{Kind, Op};

pub fn check(ops: &[Op]) -> Verdict {
    let mut verdict = Verdict::default();
    let mut seen: HashMap<&str, &Op> = HashMap::new();
    for op in with(ops, "generate", Kind::Ok) {
        let Some(name) = op.result.text() else {
            continue;
        };
        if let Some(first) = seen.insert(name, op) {
            let a = Anomaly::new(
                "duplicate",
                &op.key,
                format!("{name} handed out twice (first to client {})", first.client),
            );
            verdict.anomalies.push(a.at(op));
        }
    }
    let Some(read) = last_ok(ops, "final-read") else {
        verdict.anomalies.push(Anomaly::new(
            "no-final-read",
            "",
            "the final read never succeeded".into(),
        ));
        return verdict;
    };
    let listed: HashSet<&str> = read
        .result
        .names()
        .unwrap_or_default()
        .iter()
        .map(String::as_str)
        .collect();
    for (name, op) in &seen {
        if !listed.contains(name) {
            verdict.lost_acknowledged_writes += 1;
            let a = Anomaly::new(
                "lost",
                &op.key,
                format!("acknowledged {name} is not in the final listing"),
            );
            verdict.anomalies.push(a.at(op));
        }
    }
    let possible = ops
        .iter()
        .filter(|o| o.op == "generate" && matches!(o.kind, Kind::Ok | Kind::Info))
        .count();
    if listed.len() > possible {
        let a = Anomaly::new(
            "unexpected",
            &read.key,
            format!(
                "{} names listed, but only {possible} creates may have happened",
                listed.len()
            ),
        );
        verdict.anomalies.push(a.at(read));
    }
    verdict
}

#[cfg(test)]
mod tests {
    use crate::checker::check;
    use crate::checker::test_history::{history, names};
    use crate::history::Kind::{Info, Invoke, Ok};
    use crate::history::Value::{Null, Text};
    use crate::Workload;

    fn generate(
        client: usize,
        name: &str,
    ) -> [(
        usize,
        crate::history::Kind,
        &'static str,
        &'static str,
        crate::history::Value,
    ); 2] {
        [
            (client, Invoke, "generate", "/ids", Null),
            (client, Ok, "generate", "/ids", Text(name.to_owned())),
        ]
    }

    #[test]
    fn unique_acknowledged_names_all_listed_pass() {
        let mut rows = Vec::new();
        rows.extend(generate(0, "id-0000000000"));
        rows.extend(generate(1, "id-0000000001"));
        rows.push((1, Invoke, "generate", "/ids", Null));
        rows.push((1, Info, "generate", "/ids", Null));
        rows.push((9, Invoke, "final-read", "/ids", Null));
        rows.push((
            9,
            Ok,
            "final-read",
            "/ids",
            names(&["id-0000000000", "id-0000000001", "id-0000000002"]),
        ));
        let v = check(Workload::UniqueIds, &history(&rows));
        assert!(v.valid(), "{v:?}");
    }

    #[test]
    fn a_duplicated_id_is_flagged() {
        let mut rows = Vec::new();
        rows.extend(generate(0, "id-0000000000"));
        rows.extend(generate(1, "id-0000000000"));
        rows.push((9, Invoke, "final-read", "/ids", Null));
        rows.push((9, Ok, "final-read", "/ids", names(&["id-0000000000"])));
        let v = check(Workload::UniqueIds, &history(&rows));
        assert_eq!(v.anomalies.len(), 1, "{v:?}");
        assert_eq!(v.anomalies[0].kind, "duplicate");
        assert_eq!(v.anomalies[0].client, Some(1));
    }

    #[test]
    fn an_acknowledged_id_missing_from_the_listing_is_lost() {
        let mut rows = Vec::new();
        rows.extend(generate(0, "id-0000000000"));
        rows.push((9, Invoke, "final-read", "/ids", Null));
        rows.push((9, Ok, "final-read", "/ids", names(&[])));
        let v = check(Workload::UniqueIds, &history(&rows));
        assert_eq!(v.lost_acknowledged_writes, 1, "{v:?}");
    }
}
