//! With no `warren.memoryBudgetMB`, a server in a memory cgroup takes half the cgroup's
//! limit as its memory budget, says so in its log, and `envi` reports it as
//! `os.memory.max` (the operator surface's memory budget; `conf` and `mntr` keep
//! ZooKeeper's key sets, which have no such entry). An explicit `warren.memoryBudgetMB`
//! wins over the cgroup.
//!
//! The tests make a real memory cgroup with a 256 MiB limit (cgroup v1: under the test's
//! own memory cgroup; cgroup v2: under the root, when the root delegates the memory
//! controller) and start `warren` in it. Without root or a writable memory hierarchy they
//! print why and pass without checking anything.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{four_letter, Warren};
use warren_server::memory_limit::{cgroup_mount, limit_dirs, memory_cgroup, CgroupVersion};

const LIMIT: u64 = 256 << 20;

/// A memory cgroup made for one test, removed when dropped (after the server in it has
/// been killed: declare it before the server).
struct TestCgroup {
    dir: PathBuf,
    version: CgroupVersion,
}

impl TestCgroup {
    /// A new cgroup limited to `limit` bytes, or why one cannot be made here.
    fn create(name: &str, limit: u64) -> Result<TestCgroup, String> {
        let cgroup = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("no /proc/self/cgroup: {e}"))?;
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("no /proc/self/mountinfo: {e}"))?;
        let cg = memory_cgroup(&cgroup).ok_or("this process is in no memory cgroup")?;
        let mount = cgroup_mount(&mountinfo, cg.version)
            .ok_or("the memory cgroup hierarchy is not mounted")?;
        let parent = match cg.version {
            // Nested under this process's own cgroup (or its nearest existing ancestor),
            // so that whatever accounts for the test's processes still does.
            CgroupVersion::V1 => limit_dirs(&mount, &cg.path)
                .into_iter()
                .find(|d| d.is_dir())
                .ok_or("the memory cgroup mount point is not a directory")?,
            // v2 gives a cgroup with processes no children with controllers; the root
            // is exempt, when it delegates the memory controller.
            CgroupVersion::V2 => {
                let root = mount.mount_point.clone();
                let control = std::fs::read_to_string(root.join("cgroup.subtree_control"))
                    .unwrap_or_default();
                if !control.split_whitespace().any(|c| c == "memory") {
                    return Err(format!(
                        "cgroup v2 root {} does not delegate the memory controller",
                        root.display()
                    ));
                }
                root
            }
        };
        let dir = parent.join(format!("warren-test-{}-{name}", std::process::id()));
        std::fs::create_dir(&dir)
            .map_err(|e| format!("cannot create the cgroup {}: {e}", dir.display()))?;
        let made = TestCgroup {
            dir,
            version: cg.version,
        };
        let file = made.limit_file();
        std::fs::write(&file, limit.to_string())
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        Ok(made)
    }

    fn limit_file(&self) -> PathBuf {
        self.dir.join(self.version.limit_file())
    }

    fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    fn name(&self) -> String {
        self.dir.file_name().unwrap().to_string_lossy().into_owned()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // The kernel lets a cgroup go once its last process is reaped; allow it a moment.
        for _ in 0..100 {
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("could not remove the test cgroup {}", self.dir.display());
    }
}

/// A cgroup for the test, or `None` (having said why) where none can be made.
fn cgroup_or_skip(name: &str) -> Option<TestCgroup> {
    match TestCgroup::create(name, LIMIT) {
        Ok(c) => Some(c),
        Err(why) => {
            eprintln!("SKIPPED: cannot make a memory cgroup here: {why}");
            None
        }
    }
}

/// Starts a server in `cgroup` with `extra_cfg`, logging at info, and checks that it
/// really runs in the cgroup.
fn start_in(cgroup: &TestCgroup, extra_cfg: &str) -> Warren {
    let mut w = Warren::unstarted(extra_cfg);
    w.log_filter("info");
    w.in_cgroup(cgroup.procs());
    w.spawn();
    let own = std::fs::read_to_string(format!("/proc/{}/cgroup", w.pid())).unwrap();
    assert!(
        own.contains(&cgroup.name()),
        "the server is not in the test cgroup:\n{own}"
    );
    w
}

fn os_memory_max(port: u16) -> String {
    let envi = four_letter(port, "envi");
    envi.lines()
        .find_map(|l| l.strip_prefix("os.memory.max="))
        .unwrap_or_else(|| panic!("no os.memory.max in envi:\n{envi}"))
        .to_owned()
}

fn budget_line(log: &str) -> &str {
    log.lines()
        .find(|l| l.contains("memory budget"))
        .unwrap_or_else(|| panic!("no memory budget line in the log:\n{log}"))
}

#[test]
fn a_server_in_a_memory_cgroup_takes_half_its_limit_as_its_budget() {
    let Some(cgroup) = cgroup_or_skip("half") else {
        return;
    };
    let w = start_in(&cgroup, "");
    let log = w.log();
    let line = budget_line(&log);
    let expected = format!(
        "memory budget 128 MiB: half of the memory cgroup limit 256 MiB ({})",
        cgroup.limit_file().display()
    );
    assert!(line.contains(" INFO "), "{line}");
    assert!(line.ends_with(&expected), "{line}\nexpected: {expected}");
    assert_eq!(os_memory_max(w.port), "128MB");
    drop(w);
    drop(cgroup);
}

#[test]
fn an_explicit_memory_budget_wins_over_the_cgroup_limit() {
    let Some(cgroup) = cgroup_or_skip("explicit") else {
        return;
    };
    let w = start_in(&cgroup, "warren.memoryBudgetMB=64\n");
    let log = w.log();
    assert!(
        budget_line(&log).ends_with("memory budget 64 MiB: warren.memoryBudgetMB"),
        "{log}"
    );
    assert_eq!(os_memory_max(w.port), "64MB");
    drop(w);
    drop(cgroup);
}

#[test]
fn the_test_cgroup_is_removed_afterwards() {
    let Some(cgroup) = cgroup_or_skip("removed") else {
        return;
    };
    let dir: PathBuf = cgroup.dir.clone();
    let w = start_in(&cgroup, "warren.memoryBudgetMB=16\n");
    drop(w);
    drop(cgroup);
    assert!(!Path::new(&dir).exists(), "{} is left", dir.display());
}
