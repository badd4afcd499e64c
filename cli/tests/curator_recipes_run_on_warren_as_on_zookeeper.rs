//! Apache Curator 5.4 (Debian's libcurator-*-java, on Debian's ZooKeeper 3.8 client
//! jars) against Warren and against the reference ZooKeeper 3.8: InterProcessMutex,
//! LeaderLatch, CuratorCache and DistributedAtomicLong, through
//! `tests/curator/CuratorCheck.java` (compiled here with javac). It prints only what is
//! the same from run to run; Warren's output must be the reference's, and right.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const JARS: &str = "/usr/share/java";
const NEEDS: &str = "Curator is needed (scripts/install-test-deps installs \
                     libcurator-recipes-java and a JDK with apt)";

fn classpath() -> String {
    [
        "curator-client",
        "curator-framework",
        "curator-recipes",
        "zookeeper",
        "zookeeper-jute",
        "guava",
        "slf4j-api",
        "slf4j-nop",
        "netty-handler",
        "netty-common",
        "netty-buffer",
        "netty-transport",
        "netty-codec",
        "netty-resolver",
        "netty-transport-native-epoll",
        "netty-transport-native-unix-common",
    ]
    .iter()
    .map(|j| {
        let p = Path::new(JARS).join(format!("{j}.jar"));
        assert!(p.exists(), "{} is missing: {NEEDS}", p.display());
        p.display().to_string()
    })
    .collect::<Vec<_>>()
    .join(":")
}

fn compile(dir: &Path, cp: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/curator/CuratorCheck.java");
    let classes = dir.join("classes");
    let out = Command::new("javac")
        .arg("-d")
        .arg(&classes)
        .arg("-cp")
        .arg(cp)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("run javac ({e}): {NEEDS}"));
    assert!(
        out.status.success(),
        "javac failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    classes
}

fn finish(mut child: Child, within: Duration) -> (String, bool) {
    let end = Instant::now() + within;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("CuratorCheck did not finish within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut out).expect("read output");
    }
    (out, status.success())
}

fn check(classes: &Path, cp: &str, addr: &str) -> String {
    let child = Command::new("java")
        .arg("-cp")
        .arg(format!("{}:{cp}", classes.display()))
        .arg("CuratorCheck")
        .arg(addr)
        .arg("/curator-check")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run java");
    let (out, ok) = finish(child, Duration::from_secs(120));
    assert!(ok, "CuratorCheck failed against {addr}:\n{out}");
    out
}

#[test]
fn curator_recipes_run_on_warren_as_on_zookeeper() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cp = classpath();
    let classes = compile(dir.path(), &cp);
    let w = Warren::start();
    let ours = check(&classes, &cp, &w.addr());
    for line in [
        "mutex: entered=9 most inside at once=1",
        "leader latch: a leads=true b leads=false",
        "leader latch: after a closes, b leads=true",
        "cache: changed /cache/x 2",
        "cache: deleted /cache/x",
        "atomic long: value=40 failed increments=0",
        "atomic long: cas 40->100 true, stale cas false, value=100",
        "cleanup: base exists=false",
    ] {
        assert!(
            ours.lines().any(|l| l == line),
            "Curator against Warren: no {line:?} in\n{ours}"
        );
    }
    if refzk_available() {
        let (reference, _g) = shared_ref();
        let theirs = check(&classes, &cp, &reference.addr());
        assert_eq!(ours, theirs, "Curator: Warren and the reference differ");
    }
}

/// The same recipes against a three-member Warren ensemble, every member in the connect
/// string (each session on a member of the client's choosing): the output must be a
/// standalone Warren's, which the test above holds to the reference's.
#[test]
fn curator_recipes_run_on_a_warren_ensemble_as_on_a_single_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cp = classpath();
    let classes = compile(dir.path(), &cp);
    let single = Warren::start();
    let expected = check(&classes, &cp, &single.addr());
    let e = common::ensemble::Ensemble::start(3);
    let hosts = e
        .members
        .iter()
        .map(|m| m.addr())
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        check(&classes, &cp, &hosts),
        expected,
        "Curator on the ensemble"
    );
}
