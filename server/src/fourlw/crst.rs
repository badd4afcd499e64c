//! `crst`: resets every connection's counters and latency.

use super::json::Json;
use crate::state::Shared;

/// Resets, then returns the word's text.
pub fn text(shared: &Shared) -> String {
    shared.stats.reset_connections();
    "Connection stats reset.\n".to_owned()
}

/// The AdminServer's `connection_stat_reset`: the same reset, no fields.
pub fn json(shared: &Shared) -> Json {
    shared.stats.reset_connections();
    Json::obj()
}
