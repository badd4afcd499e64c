//! Four-letter words: plain-text status commands sent instead of a ConnectRequest.
//! Only words in `4lw.commands.whitelist` run; others get ZooKeeper's refusal text.
//!
//! One file per word, each with the word's text and, where the AdminServer has the same
//! command, its JSON ([`json::Json`]), so the two views of a figure cannot drift apart.
//! The layouts, field names and key names are ZooKeeper 3.8's, checked against the
//! reference server by `server/tests/four_letter_words.rs` and `admin_server.rs`.
//! Helpers shared by several words (latency in ms, Java-style dates, directory sizes)
//! live here.

pub mod json;

pub mod conf;
pub mod cons;
pub mod crst;
pub mod dirs;
pub mod dump;
pub mod envi;
pub mod gtmk;
pub mod hash;
pub mod isro;
pub mod mntr;
pub mod ruok;
pub mod srst;
pub mod srvr;
pub mod stat;
pub mod wchc;
pub mod wchp;
pub mod wchs;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::state::Shared;
use crate::stats::Latency;

/// Every word ZooKeeper knows.
const WORDS: &[&str] = &[
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "stmk", "ruok", "srst", "srvr", "stat",
    "wchs", "wchc", "wchp", "mntr", "isro", "hash",
];

/// The word, if the first four bytes of a connection are one.
pub fn detect(first: &[u8; 4]) -> Option<&'static str> {
    let s = std::str::from_utf8(first).ok()?;
    WORDS.iter().copied().find(|w| *w == s)
}

/// The version string clients and scripts parse, in ZooKeeper's form
/// (`3.8.0-<commit>, built on 2024-12-29 17:54 UTC`); the date is stamped by build.rs.
pub const VERSION: &str = concat!(
    "3.8.0-warren-",
    env!("CARGO_PKG_VERSION"),
    ", built on ",
    env!("WARREN_BUILD_DATE")
);

/// Runs a word and returns its text.
pub fn run(shared: &Shared, word: &str) -> String {
    if !shared.config.four_letter_word_allowed(word) {
        return format!("{word} is not executed because it is not in the whitelist.\n");
    }
    match word {
        "conf" => conf::text(shared),
        "cons" => cons::text(shared),
        "crst" => crst::text(shared),
        "dirs" => dirs::text(shared),
        "dump" => dump::text(shared),
        "envi" => envi::text(shared),
        "gtmk" => gtmk::text(),
        "hash" => hash::text(),
        "isro" => isro::text(),
        "mntr" => mntr::text(shared),
        "ruok" => ruok::text(),
        "srst" => srst::text(shared),
        "srvr" => srvr::text(shared),
        "stat" => stat::text(shared),
        "wchc" => wchc::text(shared),
        "wchp" => wchp::text(shared),
        "wchs" => wchs::text(shared),
        // stmk carries an 8-byte mask after the word, which this entry point does not
        // receive; Warren has no trace mask to set anyway (see gtmk).
        _ => format!("{word} is not supported by this server.\n"),
    }
}

/// Microseconds to whole milliseconds, as ZooKeeper reports latencies.
pub(crate) fn ms(us: u64) -> u64 {
    us / 1000
}

/// The average of a latency in milliseconds, rounded to 4 decimals as ZooKeeper rounds it.
pub(crate) fn avg_ms(l: &Latency) -> f64 {
    (l.avg_us() / 1000.0 * 10_000.0).round() / 10_000.0
}

/// Milliseconds since the Unix epoch (0 before it).
pub(crate) fn epoch_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A time as Java's `Date.toString` prints it, in UTC: `Sat Nov 21 23:20:56 UTC 2026`.
pub(crate) fn java_date(t: SystemTime) -> String {
    warren_proto::java::date_to_string(epoch_ms(t))
}

/// Total bytes of the regular files under `dir` (0 if it cannot be read): what `dirs`
/// and `conf` report for the engine and txn log directories.
pub(crate) fn dir_size(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The session id as ZooKeeper prints it in text: `0x` and lower-case hex.
pub(crate) fn hex(id: i64) -> String {
    format!("0x{id:x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_read_like_java() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_303_256);
        assert_eq!(java_date(t), "Sat Nov 21 23:20:56 UTC 2026");
        assert_eq!(java_date(UNIX_EPOCH), "Thu Jan 01 00:00:00 UTC 1970");
    }

    #[test]
    fn averages_round_to_four_decimals() {
        let l = Latency {
            min_us: 0,
            max_us: 44_000,
            sum_us: 73_000,
            count: 13,
        };
        assert_eq!(avg_ms(&l), 5.6154);
        assert_eq!(json::java_double(avg_ms(&Latency::default())), "0.0");
    }
}
