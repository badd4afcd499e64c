//! `hash`: ZooKeeper's recent tree digests. Warren keeps no tree digest (its integrity
//! checks are per-record checksums in the log and per-block checksums in the engine), so
//! the list is empty, which is what ZooKeeper prints when it has no digest either.

use super::json::Json;

/// The word's text: one `zxid: digest` line per digest; none here.
pub fn text() -> String {
    String::new()
}

/// The AdminServer's `hash`.
pub fn json() -> Json {
    let mut j = Json::obj();
    j.set("digests", Json::Arr(Vec::new()));
    j
}
