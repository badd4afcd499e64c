//! Runs the `warren-chaos` binary of this build against the `warren` beside it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `warren` binary the workspace build put beside `warren-chaos`.
pub fn warren_bin() -> PathBuf {
    let chaos = Path::new(env!("CARGO_BIN_EXE_warren-chaos"));
    chaos.with_file_name("warren")
}

/// One run of the harness.
pub struct Run<'a> {
    pub nodes: u32,
    pub workload: &'a str,
    pub nemesis: &'a str,
    pub seconds: u32,
    pub clients: u32,
    pub seed: u64,
    pub server_cfg: &'a [&'a str],
}

/// Runs `run` and returns its `summary.json`, after checking that the exit status
/// agrees with the summary's verdict. On failure the run's directory (history, faults,
/// server logs) is kept and named in the panic message.
pub fn run(run: &Run<'_>) -> serde_json::Value {
    assert!(
        warren_bin().exists(),
        "{} is not built",
        warren_bin().display()
    );
    let out = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warren-chaos"));
    cmd.arg("--warren-bin")
        .arg(warren_bin())
        .args(["--nodes", &run.nodes.to_string()])
        .args(["--workload", run.workload, "--nemesis", run.nemesis])
        .args(["--time", &run.seconds.to_string()])
        .args(["--clients", &run.clients.to_string()])
        .args(["--seed", &run.seed.to_string(), "--out"])
        .arg(out.path());
    for line in run.server_cfg {
        cmd.args(["--server-cfg", line]);
    }
    let status = cmd.status().expect("run warren-chaos");
    let text = std::fs::read_to_string(out.path().join("summary.json")).expect("summary.json");
    let summary: serde_json::Value = serde_json::from_str(&text).expect("summary is JSON");
    if status.success() != (summary["valid"] == true) {
        let kept = out.keep();
        panic!(
            "the exit status and the summary disagree: {summary} (kept {})",
            kept.display()
        );
    }
    if summary["valid"] != true {
        // Keep what a person needs to see why.
        let kept = out.keep();
        eprintln!("run kept in {}", kept.display());
    }
    summary
}
