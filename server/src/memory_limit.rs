//! The memory limit of the process's memory cgroup (v1 or v2), which the default memory
//! budget is derived from when `warren.memoryBudgetMB` is not set (see
//! [`crate::config::MemoryBudgetSource`]).
//!
//! Finding it takes three files, read as the JVM's container support reads them:
//!
//! - `/proc/self/cgroup` names the process's cgroup in each hierarchy. A line whose
//!   controllers include `memory` (`4:memory:/a/b`) is cgroup v1's memory controller; the
//!   line `0::/a/b` is the cgroup v2 (unified) hierarchy. When both are there (systemd's
//!   hybrid layout), the memory controller is the v1 one.
//! - `/proc/self/mountinfo` says where that hierarchy is mounted: a `cgroup` mount whose
//!   super options include `memory` (v1), or the `cgroup2` mount (v2). A mount may show a
//!   subtree of the hierarchy (its root field, in a container); the process's path is then
//!   taken relative to it.
//! - the limit file in the cgroup's directory: `memory.limit_in_bytes` (v1), where a value
//!   of 2^62 or more (the kernel's "unlimited", such as 9223372036854771712) means none;
//!   `memory.max` (v2), where `max` means none.
//!
//! The limit in force is the smallest along the path: the cgroup's own and each
//! ancestor's up to the mount point (both versions charge a cgroup's memory to its
//! ancestors). A directory that does not exist under the mount (a path from another
//! cgroup namespace, or a cgroup removed meanwhile) or has no limit file (the v2 root) is
//! skipped, so an unknown path comes down to the nearest existing ancestor, or the root.
//!
//! The parsing is pure functions over the files' text; [`detect`] is the thin shell that
//! reads them, and it never panics.

use std::path::{Path, PathBuf};

/// Values at or above this in `memory.limit_in_bytes` mean "no limit": the kernel's
/// unlimited is `PAGE_COUNTER_MAX` pages, 9223372036854771712 with 4 KiB pages.
const UNLIMITED_FROM: u64 = 1 << 62;

/// Which cgroup version holds the memory controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    V1,
    V2,
}

impl CgroupVersion {
    /// The file in a cgroup's directory that holds its memory limit.
    pub fn limit_file(self) -> &'static str {
        match self {
            CgroupVersion::V1 => "memory.limit_in_bytes",
            CgroupVersion::V2 => "memory.max",
        }
    }
}

/// The process's memory cgroup, as `/proc/self/cgroup` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupPath {
    pub version: CgroupVersion,
    /// The path inside the hierarchy, starting with `/`.
    pub path: String,
}

/// Where a cgroup hierarchy is mounted, from `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    /// The subtree of the hierarchy the mount shows (`/` for all of it).
    pub root: String,
    pub mount_point: PathBuf,
}

/// A memory limit that is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupLimit {
    pub bytes: u64,
    /// The file it was read from.
    pub file: PathBuf,
}

/// A file that could not be read or did not hold what it should.
#[derive(Debug, thiserror::Error)]
pub enum MemoryLimitError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} does not hold a memory limit (it holds {text:?})")]
    BadLimit { path: PathBuf, text: String },
    #[error("no {what} mount in /proc/self/mountinfo for the memory cgroup")]
    NoMount { what: &'static str },
}

/// The process's memory cgroup in the text of `/proc/self/cgroup`: the v1 memory
/// controller's line if there is one, else the v2 line (`0::`); `None` when neither is
/// there (no cgroups) or the text is not that file's.
pub fn memory_cgroup(proc_self_cgroup: &str) -> Option<CgroupPath> {
    let mut v2 = None;
    for line in proc_self_cgroup.lines() {
        // hierarchy-id:controller-list:path; the path may itself contain ':'.
        let mut fields = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if !path.starts_with('/') {
            continue;
        }
        if id == "0" && controllers.is_empty() {
            v2 = Some(CgroupPath {
                version: CgroupVersion::V2,
                path: path.to_owned(),
            });
        } else if controllers.split(',').any(|c| c == "memory") {
            return Some(CgroupPath {
                version: CgroupVersion::V1,
                path: path.to_owned(),
            });
        }
    }
    v2
}

/// The mount of the hierarchy `version` names, in the text of `/proc/self/mountinfo`:
/// the first `cgroup` mount with the `memory` super option (v1), or the first `cgroup2`
/// mount (v2).
pub fn cgroup_mount(mountinfo: &str, version: CgroupVersion) -> Option<CgroupMount> {
    mountinfo.lines().find_map(|line| {
        // id parent major:minor root mount-point options [optional fields...] - fstype
        // source super-options
        let (before, after) = line.split_once(" - ")?;
        let before: Vec<&str> = before.split(' ').collect();
        let after: Vec<&str> = after.split(' ').collect();
        let (root, mount_point) = (before.get(3)?, before.get(4)?);
        let fstype = after.first()?;
        let fits = match version {
            CgroupVersion::V1 => {
                *fstype == "cgroup" && after.get(2)?.split(',').any(|o| o == "memory")
            }
            CgroupVersion::V2 => *fstype == "cgroup2",
        };
        fits.then(|| CgroupMount {
            root: unescape(root),
            mount_point: PathBuf::from(unescape(mount_point)),
        })
    })
}

/// mountinfo writes space, tab, newline and backslash as octal escapes (`\040`).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(d) => {
                let v = d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The directories whose limits apply to the cgroup at `path`, the cgroup's own first,
/// then each ancestor up to the mount point. A path outside the mount's root (another
/// cgroup namespace's) has only the mount point.
pub fn limit_dirs(mount: &CgroupMount, path: &str) -> Vec<PathBuf> {
    let components = |p: &str| -> Vec<String> {
        p.split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .map(str::to_owned)
            .collect()
    };
    let root = components(&mount.root);
    let path = components(path);
    let relative: &[String] = match path.strip_prefix(root.as_slice()) {
        Some(rest) if !rest.iter().any(|c| c == "..") => rest,
        _ => &[],
    };
    let mut dirs = Vec::with_capacity(relative.len() + 1);
    let mut dir = mount.mount_point.clone();
    dirs.push(dir.clone());
    for c in relative {
        dir.push(c);
        dirs.push(dir.clone());
    }
    dirs.reverse();
    dirs
}

/// The limit a limit file's text gives: `None` for none (`max`, or 2^62 and more).
///
/// # Errors
/// The text when it is not a limit.
pub fn parse_limit(text: &str) -> Result<Option<u64>, String> {
    let t = text.trim();
    if t == "max" {
        return Ok(None);
    }
    match t.parse::<u64>() {
        Ok(n) if n >= UNLIMITED_FROM => Ok(None),
        Ok(n) => Ok(Some(n)),
        Err(_) => Err(t.chars().take(64).collect()),
    }
}

/// The smallest limit along `dirs`, from the text of each one's limit file (`None` for a
/// file that is not there).
///
/// # Errors
/// [`MemoryLimitError::BadLimit`] for a file that does not hold a limit.
pub fn smallest_limit(
    files: impl IntoIterator<Item = (PathBuf, Option<String>)>,
) -> Result<Option<CgroupLimit>, MemoryLimitError> {
    let mut smallest: Option<CgroupLimit> = None;
    for (file, text) in files {
        let Some(text) = text else { continue };
        let bytes = parse_limit(&text).map_err(|text| MemoryLimitError::BadLimit {
            path: file.clone(),
            text,
        })?;
        if let Some(bytes) = bytes {
            if smallest.as_ref().is_none_or(|s| bytes < s.bytes) {
                smallest = Some(CgroupLimit { bytes, file });
            }
        }
    }
    Ok(smallest)
}

/// The memory limit of this process's cgroup, reading the files under `/proc/self` and
/// the cgroup mount: `Ok(None)` when there is no memory cgroup or it has no limit.
///
/// # Errors
/// [`MemoryLimitError`] when a file that should be readable is not, or holds something
/// else than it should.
pub fn detect() -> Result<Option<CgroupLimit>, MemoryLimitError> {
    detect_in(
        Path::new("/proc/self/cgroup"),
        Path::new("/proc/self/mountinfo"),
    )
}

fn detect_in(cgroup: &Path, mountinfo: &Path) -> Result<Option<CgroupLimit>, MemoryLimitError> {
    let Some(cgroup_text) = read_if_there(cgroup)? else {
        return Ok(None); // not Linux, or no /proc
    };
    let Some(cg) = memory_cgroup(&cgroup_text) else {
        return Ok(None);
    };
    let mountinfo_text = read_if_there(mountinfo)?.unwrap_or_default();
    let mount = cgroup_mount(&mountinfo_text, cg.version).ok_or(MemoryLimitError::NoMount {
        what: match cg.version {
            CgroupVersion::V1 => "cgroup (memory)",
            CgroupVersion::V2 => "cgroup2",
        },
    })?;
    let mut files = Vec::new();
    for dir in limit_dirs(&mount, &cg.path) {
        let file = dir.join(cg.version.limit_file());
        let text = read_if_there(&file)?;
        files.push((file, text));
    }
    smallest_limit(files)
}

/// A file's text, or `None` when it (or its directory) does not exist.
fn read_if_there(path: &Path) -> Result<Option<String>, MemoryLimitError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(source) => Err(MemoryLimitError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine's kind of layout: v1 controllers beside a v2 hierarchy (hybrid).
    const HYBRID_CGROUP: &str = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/37309fe\n\
                                 3:cpuset:/\n1:cpu,cpuacct:/\n0::/\n";
    const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:12 - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const V2_CGROUP: &str = "0::/system.slice/warren.service\n";
    const V2_MOUNTINFO: &str = "\
22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/root rw
26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
";

    #[test]
    fn v1_memory_controller_wins_over_the_v2_line_in_a_hybrid_layout() {
        let cg = memory_cgroup(HYBRID_CGROUP).unwrap();
        assert_eq!(cg.version, CgroupVersion::V1);
        assert_eq!(cg.path, "/process_api/37309fe");
        let m = cgroup_mount(HYBRID_MOUNTINFO, CgroupVersion::V1).unwrap();
        assert_eq!(m.mount_point, PathBuf::from("/sys/fs/cgroup/memory"));
        assert_eq!(m.root, "/");
        assert_eq!(
            limit_dirs(&m, &cg.path),
            vec![
                PathBuf::from("/sys/fs/cgroup/memory/process_api/37309fe"),
                PathBuf::from("/sys/fs/cgroup/memory/process_api"),
                PathBuf::from("/sys/fs/cgroup/memory"),
            ]
        );
        // A controller list that merely contains the word is not the memory controller.
        assert_eq!(
            memory_cgroup("5:name=memoryish:/x\n0::/y\n")
                .unwrap()
                .version,
            CgroupVersion::V2
        );
    }

    #[test]
    fn v2_uses_the_unified_line_and_the_cgroup2_mount() {
        let cg = memory_cgroup(V2_CGROUP).unwrap();
        assert_eq!(
            cg,
            CgroupPath {
                version: CgroupVersion::V2,
                path: "/system.slice/warren.service".into()
            }
        );
        let m = cgroup_mount(V2_MOUNTINFO, CgroupVersion::V2).unwrap();
        assert_eq!(m.mount_point, PathBuf::from("/sys/fs/cgroup"));
        assert_eq!(
            limit_dirs(&m, &cg.path)[0],
            PathBuf::from("/sys/fs/cgroup/system.slice/warren.service")
        );
        assert_eq!(cgroup_mount(V2_MOUNTINFO, CgroupVersion::V1), None);
        assert_eq!(CgroupVersion::V2.limit_file(), "memory.max");
    }

    #[test]
    fn a_mount_of_a_subtree_takes_the_path_relative_to_its_root() {
        // A container without a cgroup namespace: the mount shows /docker/abc, and
        // /proc/self/cgroup names the full path.
        let mi = "40 31 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n";
        let m = cgroup_mount(mi, CgroupVersion::V1).unwrap();
        assert_eq!(m.root, "/docker/abc");
        assert_eq!(
            limit_dirs(&m, "/docker/abc/inner"),
            vec![
                PathBuf::from("/sys/fs/cgroup/memory/inner"),
                PathBuf::from("/sys/fs/cgroup/memory"),
            ]
        );
        // A path outside the mount's root (another namespace's view): the mount point.
        assert_eq!(
            limit_dirs(&m, "/../other"),
            vec![PathBuf::from("/sys/fs/cgroup/memory")]
        );
        assert_eq!(
            limit_dirs(&m, "/elsewhere"),
            vec![PathBuf::from("/sys/fs/cgroup/memory")]
        );
        // The root itself.
        let root = CgroupMount {
            root: "/".into(),
            mount_point: "/m".into(),
        };
        assert_eq!(limit_dirs(&root, "/"), vec![PathBuf::from("/m")]);
    }

    #[test]
    fn mount_points_with_escaped_spaces_are_unescaped() {
        let mi = "35 31 0:32 / /mnt/cg\\040mem rw - cgroup cgroup rw,memory\n";
        let m = cgroup_mount(mi, CgroupVersion::V1).unwrap();
        assert_eq!(m.mount_point, PathBuf::from("/mnt/cg mem"));
        assert_eq!(unescape("a\\134b\\0"), "a\\b\\0");
    }

    #[test]
    fn limits_unlimited_values_and_garbage() {
        assert_eq!(parse_limit("268435456\n"), Ok(Some(268_435_456)));
        assert_eq!(parse_limit("max\n"), Ok(None));
        assert_eq!(parse_limit("9223372036854771712\n"), Ok(None));
        assert_eq!(parse_limit("4611686018427387904"), Ok(None));
        assert_eq!(parse_limit("0"), Ok(Some(0)));
        assert!(parse_limit("").is_err());
        assert!(parse_limit("-1").is_err());
        assert!(parse_limit("lots").is_err());
        assert!(parse_limit("99999999999999999999999").is_err());
    }

    #[test]
    fn the_smallest_limit_along_the_path_is_in_force() {
        let f = |p: &str, t: Option<&str>| (PathBuf::from(p), t.map(str::to_owned));
        let limit = smallest_limit([
            f("/m/a/b/memory.limit_in_bytes", None), // not there: skipped
            f("/m/a/memory.limit_in_bytes", Some("536870912\n")),
            f("/m/memory.limit_in_bytes", Some("9223372036854771712\n")),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(limit.bytes, 512 << 20);
        assert_eq!(limit.file, PathBuf::from("/m/a/memory.limit_in_bytes"));
        let nested = smallest_limit([
            f("/m/a/b/memory.max", Some("max\n")),
            f("/m/a/memory.max", Some("1073741824\n")),
            f("/m/memory.max", None),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(nested.bytes, 1 << 30);
        assert_eq!(
            smallest_limit([f("/m/memory.limit_in_bytes", Some("9223372036854771712"))]).unwrap(),
            None
        );
        let e = smallest_limit([f("/m/memory.max", Some("garbage"))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("/m/memory.max") && e.contains("garbage"), "{e}");
    }

    #[test]
    fn garbage_files_find_no_cgroup_and_do_not_panic() {
        for text in [
            "",
            "\n\n",
            "garbage",
            "1:memory",
            "x:y:z",
            ":::",
            "4:memory:relative",
        ] {
            assert_eq!(memory_cgroup(text), None, "{text:?}");
        }
        for text in [
            "",
            "garbage - \n",
            "1 2 3 - cgroup",
            "a b c d e - cgroup x",
            " - ",
        ] {
            assert_eq!(cgroup_mount(text, CgroupVersion::V1), None, "{text:?}");
            let _ = cgroup_mount(text, CgroupVersion::V2);
        }
    }

    #[test]
    fn detect_reads_files_and_reports_a_missing_mount() {
        let dir = tempfile::tempdir().unwrap();
        let mem = dir.path().join("memory");
        std::fs::create_dir_all(mem.join("a")).unwrap();
        std::fs::write(mem.join("memory.limit_in_bytes"), "9223372036854771712\n").unwrap();
        std::fs::write(mem.join("a/memory.limit_in_bytes"), "268435456\n").unwrap();
        let cgroup = dir.path().join("cgroup");
        let mountinfo = dir.path().join("mountinfo");
        // The process's cgroup /a/gone does not exist under the mount: its parent counts.
        std::fs::write(&cgroup, "4:memory:/a/gone\n0::/\n").unwrap();
        std::fs::write(
            &mountinfo,
            format!(
                "35 31 0:32 / {} rw - cgroup cgroup rw,memory\n",
                mem.display()
            ),
        )
        .unwrap();
        let limit = detect_in(&cgroup, &mountinfo).unwrap().unwrap();
        assert_eq!(limit.bytes, 256 << 20);
        assert_eq!(limit.file, mem.join("a/memory.limit_in_bytes"));
        // No mount of the memory hierarchy: an error, not a panic.
        std::fs::write(&mountinfo, "garbage\n").unwrap();
        assert!(matches!(
            detect_in(&cgroup, &mountinfo),
            Err(MemoryLimitError::NoMount { .. })
        ));
        // No /proc/self/cgroup at all: no limit.
        assert_eq!(
            detect_in(&dir.path().join("none"), &mountinfo).unwrap(),
            None
        );
        // The real files of this machine, whatever they say, are read without panicking.
        let _ = detect();
    }
}
