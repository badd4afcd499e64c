//! `stat`: `srvr` with the client connections listed after the version (short form).

use super::json::Json;
use super::VERSION;
use crate::state::Shared;

/// The word's text.
pub fn text(shared: &Shared) -> String {
    let mut s = format!("Zookeeper version: {VERSION}\nClients:\n");
    for (_, c) in shared.stats.connections() {
        s.push_str(&super::cons::brief(&c));
        s.push_str(")\n");
    }
    s.push('\n');
    s.push_str(&super::srvr::body(shared));
    s
}

/// The AdminServer's `stats`: `server_stats` plus the connections in short form.
pub fn json(shared: &Shared) -> Json {
    let mut j = super::srvr::json(shared);
    let conns: Vec<Json> = shared
        .stats
        .connections()
        .iter()
        .map(|(_, c)| super::cons::brief_json(c))
        .collect();
    j.set("connections", Json::Arr(conns))
        .set("secure_connections", Json::Arr(Vec::new()));
    j
}
