//! `gtmk`: ZooKeeper's trace mask. Warren logs through `tracing` filters instead of a
//! mask, so it reports ZooKeeper's default mask, 306, which is what a ZooKeeper that never
//! received `stmk` answers; tools that read it see the usual value.

use super::json::Json;

/// ZooKeeper's default trace mask (client ping, client request, watch and session events).
pub const DEFAULT_TRACE_MASK: i64 = 306;

/// The word's text: the mask in decimal, without a newline.
pub fn text() -> String {
    DEFAULT_TRACE_MASK.to_string()
}

/// The AdminServer's `get_trace_mask`.
pub fn json() -> Json {
    let mut j = Json::obj();
    j.set("tracemask", DEFAULT_TRACE_MASK);
    j
}
