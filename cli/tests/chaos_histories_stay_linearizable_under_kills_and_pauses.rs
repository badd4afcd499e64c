//! `warren chaos` runs each workload briefly against a standalone server while the kill
//! and pause nemeses strike, and a 3-member ensemble's register under leader kills; every
//! history must check valid, with no acknowledged write lost and faults really injected.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// The runs start servers of their own: one at a time on a small machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn chaos(nodes: &str, workload: &str, nemesis: &str, time: &str) -> serde_json::Value {
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = tempfile::Builder::new()
        .prefix("warren-chaos-")
        .tempdir()
        .unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_warren"))
        .args([
            "chaos",
            "--nodes",
            nodes,
            "--workload",
            workload,
            "--nemesis",
            nemesis,
        ])
        .args(["--time", time, "--clients", "4", "--seed", "7"])
        .args(["--fault-interval", "2", "--fault-duration", "1.5"])
        .arg("--out")
        .arg(out.path())
        .env("RUST_LOG", "warn")
        .status()
        .expect("run warren chaos");
    let results = std::fs::read_to_string(out.path().join("results.json")).unwrap_or_default();
    let r: serde_json::Value = serde_json::from_str(&results).unwrap_or_default();
    assert!(status.success(), "{workload}: warren chaos failed: {r:#}");
    for f in ["history.jsonl", "timeline.svg"] {
        assert!(Path::new(&out.path().join(f)).exists(), "{f} written");
    }
    assert_no_server_left(out.path());
    r
}

/// No `warren` process of the run is left, stopped or not.
fn assert_no_server_left(dir: &Path) {
    let ps = Command::new("pgrep")
        .arg("-f")
        .arg(dir.join("nodes").display().to_string())
        .output()
        .unwrap();
    assert!(
        ps.stdout.is_empty(),
        "servers left behind: {}",
        String::from_utf8_lossy(&ps.stdout)
    );
}

fn assert_valid(r: &serde_json::Value) {
    assert_eq!(r["valid"], true, "{r:#}");
    assert_eq!(r["lost_acknowledged_writes"], 0, "{r:#}");
    assert_eq!(r["anomalies"], 0, "{r:#}");
    assert!(
        r["faults"].as_u64().unwrap_or(0) >= 1,
        "no fault was injected: {r:#}"
    );
    assert!(
        r["oks"].as_u64().unwrap_or(0) > 100,
        "too few operations: {r:#}"
    );
}

#[test]
fn register_histories_are_linearizable_under_kills_and_pauses() {
    assert_valid(&chaos("1", "register", "kill,pause", "6"));
}

#[test]
fn set_keeps_every_acknowledged_create_under_kills_and_pauses() {
    assert_valid(&chaos("1", "set", "kill,pause", "5"));
}

#[test]
fn unique_ids_stay_unique_under_kills_and_pauses() {
    assert_valid(&chaos("1", "unique-ids", "kill,pause", "5"));
}

#[test]
fn the_queue_loses_and_duplicates_nothing_under_kills_and_pauses() {
    assert_valid(&chaos("1", "queue", "kill,pause", "5"));
}

#[test]
fn the_counter_stays_within_acknowledged_bounds_under_kills_and_pauses() {
    assert_valid(&chaos("1", "counter", "kill,pause,restart-all", "5"));
}

#[test]
fn an_ensembles_register_is_linearizable_while_its_leader_is_killed() {
    assert_valid(&chaos("3", "register", "kill", "10"));
}
