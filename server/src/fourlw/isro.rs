//! `isro`: whether the server is in read-only mode. Warren is standalone and always
//! accepts writes, so `rw` (ZooKeeper answers `ro` only in read-only mode).

use super::json::Json;

/// The word's text (no newline, as ZooKeeper sends it).
pub fn text() -> String {
    "rw".to_owned()
}

/// The AdminServer's `is_read_only`.
pub fn json() -> Json {
    let mut j = Json::obj();
    j.set("read_only", false);
    j
}
