//! The harness must be seen to catch a bug. A server started with the testing-only
//! switch `warren.unsafe.testFault=stale-reads` answers one getData in five from the tree
//! as it was a few txns ago; a short register run against it must be found not
//! linearizable, and the same run against a correct server must pass.

mod common;

use common::{run, Run};

/// A 6-second register workload without faults; `summary.json` of it.
fn register(extra_cfg: &[&str]) -> serde_json::Value {
    run(&Run {
        nodes: 1,
        workload: "register",
        nemesis: "",
        seconds: 6,
        clients: 4,
        seed: 5,
        server_cfg: extra_cfg,
    })
}

#[test]
fn stale_reads_are_flagged_and_a_correct_server_passes() {
    let broken = register(&["warren.unsafe.testFault=stale-reads"]);
    assert!(
        broken["ok"].as_u64().unwrap_or(0) > 100,
        "too few ops: {broken}"
    );
    assert!(
        broken["anomalies"].as_u64().unwrap_or(0) > 0 && broken["valid"] == false,
        "stale reads went unnoticed: {broken}"
    );
    let correct = register(&[]);
    assert!(
        correct["ok"].as_u64().unwrap_or(0) > 100,
        "too few ops: {correct}"
    );
    assert_eq!(
        correct["anomalies"], 0,
        "a correct server was flagged: {correct}"
    );
    assert_eq!(correct["valid"], true, "{correct}");
}
