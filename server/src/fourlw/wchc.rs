//! `wchc`: the watched paths of each session (data watch table; see `wchs`).

use super::hex;
use super::json::Json;
use super::wchs::DATA_TABLE;
use crate::state::Shared;

/// (session, paths) per watching connection.
fn report(shared: &Shared) -> Vec<(i64, Vec<String>)> {
    shared
        .watches
        .paths_by_connection(&DATA_TABLE)
        .into_iter()
        .map(|(conn, paths)| (shared.stats.session_of(conn), paths))
        .collect()
}

/// The word's text: each session, its paths indented by a tab, then an empty line.
pub fn text(shared: &Shared) -> String {
    let mut s = String::new();
    for (sid, paths) in report(shared) {
        s.push_str(&hex(sid));
        s.push('\n');
        for p in paths {
            s.push('\t');
            s.push_str(&p);
            s.push('\n');
        }
    }
    s.push('\n');
    s
}

/// The AdminServer's `watches`.
pub fn json(shared: &Shared) -> Json {
    let m = report(shared)
        .into_iter()
        .map(|(sid, paths)| (sid.to_string(), Json::from(paths)))
        .collect();
    let mut j = Json::obj();
    j.set("session_id_to_watched_paths", Json::Obj(m));
    j
}
