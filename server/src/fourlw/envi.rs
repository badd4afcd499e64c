//! `envi`: the server's environment, with ZooKeeper's keys. Warren is not a JVM: the
//! `java.*` properties that describe one are printed as `<NA>`, ZooKeeper's own value
//! for a property that is not set, so scripts that read the key find it. The
//! `os.memory.*` figures describe Warren's memory instead of a Java heap: `max` is the
//! engine's memory budget in force (`warren.memoryBudgetMB`, or derived from a memory
//! cgroup's limit), `total` the resident set size, and `free` what is left of the budget.

use super::json::Json;
use super::VERSION;
use crate::state::Shared;

const NA: &str = "<NA>";

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The user name of the effective uid, from /etc/passwd; `$USER` as a fallback.
fn user_name() -> String {
    let uid = read_trimmed("/proc/self/status").and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
    });
    let from_passwd = uid.and_then(|uid| {
        let pw = std::fs::read_to_string("/etc/passwd").ok()?;
        pw.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid).then(|| f[0].to_owned())
        })
    });
    from_passwd
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| NA.to_owned())
}

/// Resident set size in bytes, from /proc/self/statm (pages of 4 KiB).
pub(crate) fn rss_bytes() -> u64 {
    read_trimmed("/proc/self/statm")
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// The (key, value) pairs, in ZooKeeper's order.
pub fn pairs(shared: &Shared) -> Vec<(&'static str, String)> {
    let os_name = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Mac OS X",
        "windows" => "Windows",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        other => other,
    };
    let max_mb = shared.config.memory_budget_mb;
    let total_mb = rss_bytes() >> 20;
    vec![
        ("zookeeper.version", VERSION.to_owned()),
        (
            "host.name",
            read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(|| "localhost".into()),
        ),
        ("java.version", NA.into()),
        ("java.vendor", NA.into()),
        ("java.home", NA.into()),
        ("java.class.path", NA.into()),
        ("java.library.path", NA.into()),
        ("java.io.tmpdir", std::env::temp_dir().display().to_string()),
        ("java.compiler", NA.into()),
        ("os.name", os_name.to_owned()),
        ("os.arch", arch.to_owned()),
        (
            "os.version",
            read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_else(|| NA.into()),
        ),
        ("user.name", user_name()),
        (
            "user.home",
            std::env::var("HOME").unwrap_or_else(|_| NA.into()),
        ),
        (
            "user.dir",
            std::env::current_dir().map_or_else(|_| NA.into(), |d| d.display().to_string()),
        ),
        (
            "os.memory.free",
            format!("{}MB", max_mb.saturating_sub(total_mb)),
        ),
        ("os.memory.max", format!("{max_mb}MB")),
        ("os.memory.total", format!("{total_mb}MB")),
    ]
}

/// The word's text.
pub fn text(shared: &Shared) -> String {
    let mut s = String::from("Environment:\n");
    for (k, v) in pairs(shared) {
        s.push_str(&format!("{k}={v}\n"));
    }
    s
}

/// The AdminServer's `environment`.
pub fn json(shared: &Shared) -> Json {
    Json::Obj(
        pairs(shared)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Json::Str(v)))
            .collect(),
    )
}
