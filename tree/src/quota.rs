//! Quotas under `/zookeeper/quota`, as ZooKeeper 3.7+ keeps them.
//!
//! A quota on `/app` is the node `/zookeeper/quota/app/zookeeper_limits`, whose data holds
//! the limits (`count=…,bytes=…` soft, `countHardLimit`/`byteHardLimit` hard), and
//! `/zookeeper/quota/app/zookeeper_stats`, whose data the server keeps equal to the number
//! of nodes and data bytes under `/app` (the node itself included). Like ZooKeeper, the
//! server rewrites the stats node's data in place as txns apply, without touching its
//! stat, and the deepest quota above a node is the one that counts it.
//!
//! Quota'd paths are indexed under `q` + path, and a counter in the metadata says whether
//! there are any, so a write to a tree without quotas costs one cached lookup.

use crate::keys::{meta_key, NODES, QUOTAS};
use crate::{Node, TreeError, View};

/// Where quota nodes live.
pub const QUOTA_ROOT: &str = "/zookeeper/quota";
/// The limits node's name.
pub const LIMITS: &str = "zookeeper_limits";
/// The stats node's name.
pub const STATS: &str = "zookeeper_stats";
const QUOTA_COUNT: &str = "quota_count";

/// Limits or usage: `count`, `bytes` and the hard limits, −1 when unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Track {
    pub count: i64,
    pub bytes: i64,
    pub count_hard: i64,
    pub bytes_hard: i64,
}

impl Track {
    /// Parses `key=value` pairs separated by `,` or `;`, tolerating the stray `=` that
    /// ZooKeeper's own client writes (`bytes=-1=;byteHardLimit=…`).
    pub fn parse(data: &[u8]) -> Track {
        let mut t = Track {
            count: -1,
            bytes: -1,
            count_hard: -1,
            bytes_hard: -1,
        };
        let text = String::from_utf8_lossy(data);
        for pair in text.split([',', ';']) {
            let mut kv = pair.split('=').filter(|s| !s.is_empty());
            let (Some(k), Some(v)) = (kv.next(), kv.next()) else {
                continue;
            };
            let Ok(v) = v.trim().parse::<i64>() else {
                continue;
            };
            match k.trim() {
                "count" => t.count = v,
                "bytes" => t.bytes = v,
                "countHardLimit" => t.count_hard = v,
                "byteHardLimit" => t.bytes_hard = v,
                _ => {}
            }
        }
        t
    }

    /// Usage as the stats node holds it.
    pub fn usage_text(count: i64, bytes: i64) -> Vec<u8> {
        format!("count={count},bytes={bytes}").into_bytes()
    }
}

/// The quota'd path index key.
pub fn quota_key(path: &str) -> Vec<u8> {
    let mut k = vec![QUOTAS];
    k.extend_from_slice(path.as_bytes());
    k
}

fn node_path(quota_path: &str, leaf: &str) -> String {
    format!("{QUOTA_ROOT}{quota_path}/{leaf}")
}

/// If `path` is a limits or stats node, the path its quota covers.
pub fn quota_node_target(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix(QUOTA_ROOT)?;
    let (target, leaf) = rest.rsplit_once('/')?;
    (!target.is_empty() && (leaf == LIMITS || leaf == STATS)).then_some((target, leaf))
}

fn count(view: &View<'_>) -> Result<i64, TreeError> {
    Ok(view
        .get(&meta_key(QUOTA_COUNT))?
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map_or(0, i64::from_le_bytes))
}

/// The deepest quota'd path at or above `path`, if any.
///
/// # Errors
/// Engine failures.
pub fn quota_root(view: &View<'_>, path: &str) -> Result<Option<String>, TreeError> {
    if path.starts_with("/zookeeper") || count(view)? == 0 {
        return Ok(None);
    }
    let mut p = path;
    while p != "/" {
        if view.get(&quota_key(p))?.is_some() {
            return Ok(Some(p.to_owned()));
        }
        p = warren_proto::path::parent(p);
    }
    Ok(None)
}

/// Applies a change of `count_diff` nodes and `bytes_diff` bytes under `path` to the
/// stats of its quota, logging a soft limit that is exceeded.
///
/// # Errors
/// Engine failures and corrupt records.
pub fn account(
    view: &mut View<'_>,
    path: &str,
    count_diff: i64,
    bytes_diff: i64,
) -> Result<(), TreeError> {
    let Some(q) = quota_root(view, path)? else {
        return Ok(());
    };
    let stats_path = node_path(&q, STATS);
    let Some(mut stats) = view.node(&stats_path)? else {
        return Ok(());
    };
    let now = Track::parse(stats.data.as_deref().unwrap_or_default());
    let (c, b) = (now.count + count_diff, now.bytes + bytes_diff);
    stats.data = Some(Track::usage_text(c, b));
    view.put_node(&stats_path, &stats);
    if let Some(limits) = view.node(&node_path(&q, LIMITS))? {
        let l = Track::parse(limits.data.as_deref().unwrap_or_default());
        if (l.count > -1 && c > l.count) || (l.bytes > -1 && b > l.bytes) {
            tracing::warn!(
                quota = q,
                count = c,
                bytes = b,
                count_limit = l.count,
                bytes_limit = l.bytes,
                "quota exceeded (soft limit)"
            );
        }
    }
    Ok(())
}

/// Called when a limits or stats node is created or deleted: keeps the index, and fills a
/// new stats node with the current usage of its subtree.
///
/// # Errors
/// Engine failures and corrupt records.
pub fn on_quota_node(
    view: &mut View<'_>,
    path: &str,
    created: bool,
    node: Option<&mut Node>,
) -> Result<(), TreeError> {
    let Some((target, leaf)) = quota_node_target(path) else {
        return Ok(());
    };
    let target = target.to_owned();
    if leaf == LIMITS {
        let n = count(view)? + if created { 1 } else { -1 };
        view.put(meta_key(QUOTA_COUNT), n.max(0).to_le_bytes().to_vec());
        if created {
            view.put(quota_key(&target), Vec::new());
        } else {
            view.delete(quota_key(&target));
        }
    } else if let (true, Some(node)) = (created, node) {
        let (c, b) = usage(view, &target)?;
        node.data = Some(Track::usage_text(c, b));
    }
    Ok(())
}

/// Nodes and bytes at and below `path`: the node, then its descendants by two streamed
/// range scans (nothing is collected, whatever the size of the subtree).
fn usage(view: &View<'_>, path: &str) -> Result<(i64, i64), TreeError> {
    let Some(root) = view.node(path)? else {
        return Ok((0, 0));
    };
    let mut count = 1i64;
    let mut bytes = root.data.as_ref().map_or(0, |d| d.len() as i64);
    for sep in [0u8, b'/'] {
        let mut prefix = vec![NODES];
        prefix.extend_from_slice(path.as_bytes());
        prefix.push(sep);
        view.for_each_prefix(&prefix, |_, v| {
            let n = Node::decode(v)?;
            count += 1;
            bytes += n.data.as_ref().map_or(0, |d| d.len() as i64);
            Ok(())
        })?;
    }
    Ok((count, bytes))
}

/// Whether a create (`count_diff` 1) or setData would break a hard limit: ZooKeeper's
/// `checkQuota`, applied only when `enforceQuota` is on.
///
/// # Errors
/// Engine failures and corrupt records.
pub fn exceeds_hard_limit(
    view: &View<'_>,
    path: &str,
    count_diff: i64,
    bytes_diff: i64,
) -> Result<bool, TreeError> {
    let Some(q) = quota_root(view, path)? else {
        return Ok(false);
    };
    let Some(limits) = view.node(&node_path(&q, LIMITS))? else {
        return Ok(false);
    };
    let l = Track::parse(limits.data.as_deref().unwrap_or_default());
    let Some(stats) = view.node(&node_path(&q, STATS))? else {
        return Ok(false);
    };
    let s = Track::parse(stats.data.as_deref().unwrap_or_default());
    let over_count = count_diff != 0 && l.count_hard > -1 && s.count + count_diff > l.count_hard;
    let over_bytes = bytes_diff != 0 && l.bytes_hard > -1 && s.bytes + bytes_diff > l.bytes_hard;
    if over_count || over_bytes {
        tracing::warn!(quota = q, "quota exceeded (hard limit); request refused");
    }
    Ok(over_count || over_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_zookeeper_clients_write() {
        let t = Track::parse(b"count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2");
        assert_eq!(
            (t.count, t.bytes, t.count_hard, t.bytes_hard),
            (-1, -1, 2, -1)
        );
        let t = Track::parse(b"count=3,bytes=10");
        assert_eq!((t.count, t.bytes), (3, 10));
        assert_eq!(
            quota_node_target("/zookeeper/quota/a/b/zookeeper_limits"),
            Some(("/a/b", LIMITS))
        );
        assert_eq!(quota_node_target("/zookeeper/quota/zookeeper_limits"), None);
    }
}
