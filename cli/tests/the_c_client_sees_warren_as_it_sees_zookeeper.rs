//! Apache ZooKeeper's own C client (Debian's libzookeeper-mt 3.8) against Warren, and
//! the same runs against the reference ZooKeeper 3.8: what it prints must be the same.
//!
//! Two programs: `tests/c-client/zkcheck.c`, compiled here with `cc … -lzookeeper_mt`,
//! which runs a session, an ephemeral node, sequential nodes, a data watch and two
//! multis and prints only what is the same from run to run; and `cli_mt`, the C
//! client's shell, driven over its stdin through create, set, get, ls, a watch that
//! another client fires, and delete. Lines that differ between any two runs (session
//! ids, zxids, times) are left out of the comparison; everything else must match.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use warren_proto::{Request, SetDataRequest};

const CLI_MT: &str = "/usr/lib/zookeeper/bin/cli_mt";
const HEADER: &str = "/usr/include/zookeeper/zookeeper.h";
const NEEDS: &str = "the C client is needed (scripts/install-test-deps installs zookeeper-bin \
                     and libzookeeper-mt-dev with apt)";

/// Compiles zkcheck.c into `dir`.
fn compile(dir: &Path) -> PathBuf {
    assert!(Path::new(HEADER).exists(), "{NEEDS}");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/c-client/zkcheck.c");
    let bin = dir.join("zkcheck");
    let out = Command::new("cc")
        .args(["-Wall", "-Wextra", "-Werror", "-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .arg("-lzookeeper_mt")
        .output()
        .expect("run cc");
    assert!(
        out.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

/// Waits for `child` with a deadline; its stdout, and whether it exited with 0.
fn finish(mut child: Child, within: Duration) -> (String, bool) {
    let end = Instant::now() + within;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("the C client did not finish within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut out).expect("read output");
    }
    (out, status.success())
}

fn zkcheck(bin: &Path, addr: &str) -> String {
    let child = Command::new(bin)
        .arg(addr)
        .arg("/c-client-check")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run zkcheck");
    let (out, ok) = finish(child, Duration::from_secs(60));
    assert!(ok, "zkcheck failed against {addr}:\n{out}");
    out
}

/// Drives `cli_mt` through its stdin one command at a time, each once the previous
/// one's output has appeared, with another client changing the watched node midway.
/// Returns what it printed (stdout and stderr, in the order it wrote them).
fn cli_mt(addr: &str, dir: &Path) -> String {
    assert!(Path::new(CLI_MT).exists(), "{NEEDS}");
    let log = dir.join(format!("cli_mt-{}.out", addr.replace(':', "_")));
    let out = std::fs::File::create(&log).expect("cli_mt log");
    let mut child = Command::new(CLI_MT)
        .arg(addr)
        .stdin(Stdio::piped())
        .stdout(out.try_clone().expect("log"))
        .stderr(out)
        .spawn()
        .expect("run cli_mt");
    let mut stdin = child.stdin.take().expect("cli_mt stdin");
    let printed = || std::fs::read_to_string(&log).unwrap_or_default();
    let wait_for = |what: &str| {
        let end = Instant::now() + CALL_TIMEOUT;
        while !printed().contains(what) {
            assert!(
                Instant::now() < end,
                "cli_mt never printed {what:?}:\n{}",
                printed()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let mut say = |line: &str, then: &str| {
        writeln!(stdin, "{line}").expect("write to cli_mt");
        stdin.flush().expect("flush");
        wait_for(then);
    };
    wait_for("state = CONNECTED_STATE");
    say("create /climt", "[/climt]: rc = 0");
    say("create +e /climt/eph", "[/climt/eph]: rc = 0");
    say("create +s /climt/seq-", "[/climt/seq-]: rc = 0");
    say("set /climt world", "/climt: rc = 0 Stat:");
    say("get /climt", "world");
    say("ls /climt", "seq-0000000001");
    // wexists prints nothing when it succeeds: `exists` on a missing node after it
    // prints its error, so once that is out the watch is set.
    say("wexists /climt", "");
    say("exists /climt/none", "/climt/none");
    let mut other = Raw::connect(addr, 10_000);
    let set = Request::SetData(SetDataRequest {
        path: "/climt".into(),
        data: Some(b"again".to_vec()),
        version: -1,
    });
    assert_eq!(other.err(&set), 0);
    wait_for("CHANGED_EVENT");
    say("delete /climt/eph", "/climt/eph: rc = 0");
    say(
        "delete /climt/seq-0000000001",
        "/climt/seq-0000000001: rc = 0",
    );
    say("delete /climt", "/climt: rc = 0\n");
    say("ls /climt", "/climt: rc = -101");
    // cli_mt answers `quit` as it reads it, even with a command still running, so the
    // last command's output is awaited above before it.
    writeln!(stdin, "quit").expect("write to cli_mt");
    drop(stdin);
    let _ = finish(child, Duration::from_secs(30));
    printed()
}

/// What of cli_mt's output is the same from run to run: no session ids, zxids, times or
/// dates; the children of `ls` (tab-indented runs of lines) sorted, since servers list
/// children in no promised order.
fn deterministic(out: &str) -> Vec<String> {
    let varying = [
        "session id",
        "ctime",
        "mtime",
        "czxid",
        "mzxid",
        "time = ",
        "pzxid",
        "Quitting",
    ];
    let mut lines: Vec<String> = Vec::new();
    let mut run: Vec<String> = Vec::new();
    for l in out.lines() {
        if varying.iter().any(|v| l.contains(v)) {
            continue;
        }
        if l.starts_with('\t') {
            run.push(l.to_owned());
            continue;
        }
        run.sort();
        lines.append(&mut run);
        lines.push(l.to_owned());
    }
    run.sort();
    lines.append(&mut run);
    lines
}

#[test]
fn the_c_client_sees_warren_as_it_sees_zookeeper() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = compile(dir.path());
    let w = Warren::start();
    let ours = zkcheck(&bin, &w.addr());
    for line in [
        "create base: ok",
        "create base again: node exists",
        "ephemeral watch: fired=1 DELETED eph",
        "ephemeral after its session closed: no node",
        "data watch: fired=1 CHANGED base",
        "get: ok v1 version=1",
        "multi that commits: ok",
        "multi that fails: node exists",
        "node of the failed multi: no node",
        "delete base: ok",
    ] {
        assert!(
            ours.contains(line),
            "zkcheck against Warren: no {line:?} in\n{ours}"
        );
    }
    let cli_ours = cli_mt(&w.addr(), dir.path());
    let cli_lines = deterministic(&cli_ours);
    for line in [
        "Watcher CHANGED_EVENT state = CONNECTED_STATE for path /climt",
        "world",
    ] {
        assert!(
            cli_lines.iter().any(|l| l == line),
            "cli_mt against Warren: no {line:?} in\n{cli_ours}"
        );
    }

    if refzk_available() {
        let (reference, _g) = shared_ref();
        let theirs = zkcheck(&bin, &reference.addr());
        assert_eq!(ours, theirs, "zkcheck: Warren and the reference differ");
        let cli_theirs = cli_mt(&reference.addr(), dir.path());
        assert_eq!(
            cli_lines,
            deterministic(&cli_theirs),
            "cli_mt: Warren and the reference differ; Warren:\n{cli_ours}\nreference:\n{cli_theirs}"
        );
    }
}

/// The same program against a three-member Warren ensemble, given every member in its
/// connect string: each of its sessions lands on a member of the C client's choosing, so
/// the watch and the ephemeral cross members. It must print what a standalone Warren
/// (checked above against the reference) prints.
#[test]
fn the_c_client_sees_a_warren_ensemble_as_it_sees_a_single_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = compile(dir.path());
    let single = Warren::start();
    let expected = zkcheck(&bin, &single.addr());
    let e = common::ensemble::Ensemble::start(3);
    let hosts = e
        .members
        .iter()
        .map(|m| m.addr())
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(zkcheck(&bin, &hosts), expected, "zkcheck on the ensemble");
}
