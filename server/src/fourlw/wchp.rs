//! `wchp`: the sessions watching each path (data watch table; see `wchs`).

use super::hex;
use super::json::Json;
use super::wchs::DATA_TABLE;
use crate::state::Shared;

/// (path, sessions) per watched path.
fn report(shared: &Shared) -> Vec<(String, Vec<i64>)> {
    shared
        .watches
        .connections_by_path(&DATA_TABLE)
        .into_iter()
        .map(|(path, conns)| {
            let sids = conns
                .into_iter()
                .map(|c| shared.stats.session_of(c))
                .collect();
            (path, sids)
        })
        .collect()
}

/// The word's text: each path, its sessions indented by a tab, then an empty line.
pub fn text(shared: &Shared) -> String {
    let mut s = String::new();
    for (path, sids) in report(shared) {
        s.push_str(&path);
        s.push('\n');
        for sid in sids {
            s.push('\t');
            s.push_str(&hex(sid));
            s.push('\n');
        }
    }
    s.push('\n');
    s
}

/// The AdminServer's `watches_by_path`.
pub fn json(shared: &Shared) -> Json {
    let m = report(shared)
        .into_iter()
        .map(|(path, sids)| (path, Json::from(sids)))
        .collect();
    let mut j = Json::obj();
    j.set("path_to_session_ids", Json::Obj(m));
    j
}
