//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warren_engine::{Compression, Engine, EngineOptions, ReadSeq, WriteBatch};

/// Options that make flushes and compactions happen after little data.
pub fn small_opts() -> EngineOptions {
    EngineOptions {
        memtable_bytes: 64 << 10,
        max_immutable_memtables: 2,
        block_cache_bytes: 1 << 20,
        block_bytes: 1024,
        compression: Compression::Zstd { level: 1 },
        bloom_bits_per_key: 10,
        l0_compaction_trigger: 4,
        l0_stall_files: 12,
        level1_bytes: 512 << 10,
        target_file_bytes: 128 << 10,
        retention_seqs: 0,
        background_threads: 2,
    }
}

pub const KEYS: u64 = 5_000;

/// The deterministic operation the crash tests apply at `seq`.
pub enum Op {
    Put(String, String),
    Delete(String),
}

pub fn op_at(seq: u64) -> Op {
    if seq % 11 == 0 {
        Op::Delete(format!("key{:06}", (seq * 7) % KEYS))
    } else {
        Op::Put(
            format!("key{:06}", seq % KEYS),
            format!("value-{seq}-{}", "x".repeat((seq % 50) as usize + 20)),
        )
    }
}

pub fn batch_at(seq: u64) -> WriteBatch {
    let mut b = WriteBatch::new();
    match op_at(seq) {
        Op::Put(k, v) => b.put(k, v),
        Op::Delete(k) => b.delete(k),
    }
    b
}

/// The expected live state after applying ops 1..=upto.
pub fn model_upto(upto: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut m = BTreeMap::new();
    for s in 1..=upto {
        match op_at(s) {
            Op::Put(k, v) => {
                m.insert(k.into_bytes(), v.into_bytes());
            }
            Op::Delete(k) => {
                m.remove(k.as_bytes());
            }
        }
    }
    m
}

pub const CHILD_ENV: &str = "WARREN_ENGINE_CRASH_CHILD_DIR";

/// Child side: writes deterministic ops from `persisted_seq + 1` on, printing progress,
/// until killed (or a generous cap).
pub fn crash_child(dir: &Path, opts: EngineOptions) {
    let e = Engine::open(dir, opts).expect("child open");
    let start = e.persisted_seq() + 1;
    for seq in start..start + 3_000_000 {
        e.write(seq, batch_at(seq)).expect("child write");
        if seq % 50 == 0 {
            let st = e.stats();
            println!(
                "progress seq={seq} persisted={} flushes_running={} compactions_running={} flushes={} compactions={}",
                st.persisted_seq, st.flushes_running, st.compactions_running, st.flushes, st.compactions
            );
        }
    }
}

/// A whole SIGKILL crash test named `test_name` (which must be the name of the calling
/// test): in the child process it writes until killed; in the parent it kills the child
/// four times on a progress line `kill_when` accepts, checks each reopen, and asserts that
/// at least one kill landed while a `what` ("flush", "compaction") was running.
pub fn crash_test(test_name: &str, opts: EngineOptions, what: &str, kill_when: fn(&str) -> bool) {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        crash_child(Path::new(&dir), opts);
        return;
    }
    let targeted = crash_parent(test_name, opts, 4, kill_when);
    eprintln!("{targeted}/4 kills landed while a {what} was running");
    assert!(targeted >= 1, "never caught a {what} in progress");
}

/// Parent side: runs the test binary's `test_name` as a child several times, SIGKILLs it
/// once `kill_when` accepts a progress line, and checks the reopened engine each time.
/// Returns how many kills landed on a line `kill_when` accepted (vs. a fallback kill).
pub fn crash_parent(
    test_name: &str,
    opts: EngineOptions,
    rounds: usize,
    kill_when: fn(&str) -> bool,
) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let mut targeted = 0;
    let mut last_persisted = 0;
    for round in 0..rounds {
        let hit = run_child_until_killed(test_name, dir.path(), kill_when);
        if hit {
            targeted += 1;
        }
        last_persisted = check_reopened(dir.path(), &opts, round, hit, last_persisted);
    }
    assert!(last_persisted > 0, "the child never persisted anything");
    targeted
}

/// Runs the child writer on `dir` and SIGKILLs it once `kill_when` accepts a progress line
/// (after some work has piled up) or after 40 s. Returns whether `kill_when` chose the
/// moment.
fn run_child_until_killed(test_name: &str, dir: &Path, kill_when: fn(&str) -> bool) -> bool {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let started = Instant::now();
    let mut lines = 0u64;
    let mut hit = false;
    for line in out.lines() {
        let line = line.unwrap();
        if !line.starts_with("progress") {
            continue;
        }
        lines += 1;
        // Let some work pile up before looking for the moment to kill.
        // and at least two flushes done, so each round makes progress.
        let flushes = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("flushes="))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        if lines > 300 && flushes >= 3 && kill_when(&line) {
            hit = true;
            break;
        }
        if started.elapsed() > Duration::from_secs(40) {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    hit
}

/// Reopens the engine in `dir` after round `round`'s kill and checks it against the model:
/// `persisted_seq` never goes back from `last_persisted`, and every write at or below it
/// is there. Returns the new `persisted_seq`.
fn check_reopened(
    dir: &Path,
    opts: &EngineOptions,
    round: usize,
    hit: bool,
    last_persisted: u64,
) -> u64 {
    let e = Engine::open(dir, opts.clone()).expect("engine must open cleanly after SIGKILL");
    let p = e.persisted_seq();
    assert!(
        p >= last_persisted,
        "persisted_seq went backwards: {p} < {last_persisted}"
    );
    assert_eq!(e.last_seq(), p);
    let model = model_upto(p);
    let got: Vec<(Vec<u8>, Vec<u8>)> = e
        .scan(.., ReadSeq::Latest)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let want: Vec<(Vec<u8>, Vec<u8>)> = model.clone().into_iter().collect();
    assert_eq!(
        got.len(),
        want.len(),
        "round {round}: live key count at persisted_seq {p}"
    );
    assert!(
        got == want,
        "round {round}: scan differs from the model at persisted_seq {p}"
    );
    for i in (0..KEYS).step_by(37) {
        let k = format!("key{i:06}");
        assert_eq!(
            e.get(k.as_bytes(), ReadSeq::Latest).unwrap(),
            model.get(k.as_bytes()).cloned(),
            "round {round}: key {k}"
        );
    }
    eprintln!(
        "round {round}: killed (targeted={hit}), reopened at persisted_seq {p}, {} live keys",
        got.len()
    );
    e.close().unwrap();
    p
}
