//! The harness must be seen to catch a bug. A server started with the testing-only
//! switch `warren.unsafe.testFault=stale-reads` answers one getData in five from the tree
//! as it was a few txns ago; a short register run against it must be found not
//! linearizable, and the same run against a correct server must pass.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `warren` binary the workspace build put beside `warren-chaos`.
fn warren_bin() -> PathBuf {
    let chaos = Path::new(env!("CARGO_BIN_EXE_warren-chaos"));
    chaos.with_file_name("warren")
}

/// Runs an 6-second register workload without faults; returns `summary.json`.
fn run(extra_cfg: Option<&str>) -> serde_json::Value {
    let out = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warren-chaos"));
    cmd.arg("--warren-bin")
        .arg(warren_bin())
        .args(["--nodes", "1", "--workload", "register", "--nemesis", ""])
        .args(["--time", "6", "--clients", "4", "--seed", "5", "--out"])
        .arg(out.path());
    if let Some(line) = extra_cfg {
        cmd.args(["--server-cfg", line]);
    }
    let status = cmd.status().expect("run warren-chaos");
    let text = std::fs::read_to_string(out.path().join("summary.json")).expect("summary.json");
    let summary: serde_json::Value = serde_json::from_str(&text).expect("summary is JSON");
    assert_eq!(
        status.success(),
        summary["valid"] == true,
        "the exit status and the summary disagree: {summary}"
    );
    summary
}

#[test]
fn stale_reads_are_flagged_and_a_correct_server_passes() {
    assert!(
        warren_bin().exists(),
        "{} is not built",
        warren_bin().display()
    );
    let broken = run(Some("warren.unsafe.testFault=stale-reads"));
    assert!(
        broken["ok"].as_u64().unwrap_or(0) > 100,
        "too few ops: {broken}"
    );
    assert!(
        broken["anomalies"].as_u64().unwrap_or(0) > 0 && broken["valid"] == false,
        "stale reads went unnoticed: {broken}"
    );
    let correct = run(None);
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
