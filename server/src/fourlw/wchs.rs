//! `wchs`: a summary of the watches. Like ZooKeeper 3.8, the watch words list the data
//! watch table (getData/exists watches, and addWatch's persistent and recursive watches,
//! which ZooKeeper also keeps there) and leave out getChildren watches; `mntr`'s
//! `zk_watch_count` counts both tables.

use super::json::Json;
use crate::state::Shared;
use crate::watch::WatchKind;

/// The tables ZooKeeper's data watch manager covers.
pub(crate) const DATA_TABLE: [WatchKind; 3] = [
    WatchKind::Data,
    WatchKind::Persistent,
    WatchKind::PersistentRecursive,
];

/// (connections watching, paths, watches) over the data table.
pub fn summary(shared: &Shared) -> (usize, usize, usize) {
    let by_path = shared.watches.connections_by_path(&DATA_TABLE);
    let conns: std::collections::HashSet<_> = by_path
        .iter()
        .flat_map(|(_, c)| c.iter().copied())
        .collect();
    let total = shared
        .watches
        .paths_by_connection(&DATA_TABLE)
        .iter()
        .map(|(_, p)| p.len())
        .sum();
    (conns.len(), by_path.len(), total)
}

/// Watches in both of ZooKeeper's tables: a persistent watch sits in both, a recursive
/// one only in the data table, a getChildren watch only in the child table.
pub fn watch_count(shared: &Shared) -> usize {
    let count = |k: WatchKind| -> usize {
        shared
            .watches
            .connections_by_path(&[k])
            .iter()
            .map(|(_, c)| c.len())
            .sum()
    };
    count(WatchKind::Data)
        + count(WatchKind::Child)
        + 2 * count(WatchKind::Persistent)
        + count(WatchKind::PersistentRecursive)
}

/// The word's text.
pub fn text(shared: &Shared) -> String {
    let (c, p, w) = summary(shared);
    format!("{c} connections watching {p} paths\nTotal watches:{w}\n")
}

/// The AdminServer's `watch_summary`.
pub fn json(shared: &Shared) -> Json {
    let (c, p, w) = summary(shared);
    let mut j = Json::obj();
    j.set("num_connections", c)
        .set("num_paths", p)
        .set("num_total_watches", w);
    j
}
