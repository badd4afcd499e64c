//! `srst`: resets the server's packet counters and latency (not the per-connection ones,
//! which `crst` resets, nor the metrics-endpoint histograms, which are cumulative).

use super::json::Json;
use crate::state::Shared;

/// Resets, then returns the word's text.
pub fn text(shared: &Shared) -> String {
    shared.stats.reset();
    "Server stats reset.\n".to_owned()
}

/// The AdminServer's `stat_reset`: the same reset, no fields.
pub fn json(shared: &Shared) -> Json {
    shared.stats.reset();
    Json::obj()
}
