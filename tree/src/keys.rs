//! The key spaces of the engine (decision 3): every kind of record the server keeps has
//! a one-byte prefix of its own, so each access path is a point lookup or one range scan.
//! These constants and functions are the only place that knows the layout; the server
//! and the tools build every key through them.
//!
//! A znode's key is `n` + parent path + `\0` + name. Because `\0` cannot occur in a path,
//! the children of a node are exactly the keys under [`children_prefix`], and listing
//! them is one range scan however large the tree is.

/// Znodes: `n` + parent + `\0` + name (the root is `n` alone).
pub const NODES: u8 = b'n';
/// Sessions: `s` + session id (i64 big-endian).
pub const SESSIONS: u8 = b's';
/// The ephemeral-owner index: `e` + session id + path.
pub const EPHEMERALS: u8 = b'e';
/// Container and TTL nodes, the reaper's candidates: `c` + path.
pub const REAP_CANDIDATES: u8 = b'c';
/// Paths with a quota: `q` + path.
pub const QUOTAS: u8 = b'q';
/// The ACL table: `a` + ACL id.
pub const ACLS: u8 = b'a';
/// Server metadata (counters, the session secret): `m` + name.
pub const META: u8 = b'm';

/// The engine key of a znode.
pub fn node_key(path: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(path.len() + 2);
    k.push(NODES);
    // ZooKeeper's tree knows the root by the empty path too.
    if path == "/" || path.is_empty() {
        return k;
    }
    match path.rfind('/') {
        Some(slash) if path.starts_with('/') => {
            k.extend_from_slice(&path.as_bytes()[..slash]);
            k.push(0);
            k.extend_from_slice(&path.as_bytes()[slash + 1..]);
        }
        // Not a path: a key no node can have (0xFF never occurs in UTF-8).
        _ => {
            k.push(0xFF);
            k.extend_from_slice(path.as_bytes());
        }
    }
    k
}

/// The key prefix under which all children of `path` lie.
pub fn children_prefix(path: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(path.len() + 2);
    k.push(NODES);
    if path != "/" {
        k.extend_from_slice(path.as_bytes());
    }
    k.push(0);
    k
}

/// The path of a node key (the inverse of [`node_key`]).
pub fn key_path(key: &[u8]) -> Option<String> {
    let rest = key.strip_prefix(&[NODES])?;
    if rest.is_empty() {
        return Some("/".to_owned());
    }
    let zero = rest.iter().position(|&b| b == 0)?;
    let parent = std::str::from_utf8(&rest[..zero]).ok()?;
    let name = std::str::from_utf8(&rest[zero + 1..]).ok()?;
    Some(format!("{parent}/{name}"))
}

/// A session's key: `s` + id.
pub fn session_key(id: i64) -> Vec<u8> {
    let mut k = vec![SESSIONS];
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// A session's value: its timeout in ms and the zxid that created it (layout in
/// docs/FORMATS.md).
pub fn session_value(timeout_ms: i32, created_zxid: i64) -> Vec<u8> {
    let mut v = Vec::with_capacity(12);
    v.extend_from_slice(&timeout_ms.to_le_bytes());
    v.extend_from_slice(&created_zxid.to_le_bytes());
    v
}

/// Decodes a session key space entry into (session id, timeout ms).
pub fn session_entry(key: &[u8], value: &[u8]) -> Option<(i64, i32)> {
    let id: [u8; 8] = key.strip_prefix(&[SESSIONS])?.try_into().ok()?;
    let timeout: [u8; 4] = value.get(..4)?.try_into().ok()?;
    Some((i64::from_be_bytes(id), i32::from_le_bytes(timeout)))
}

/// An ephemeral-owner index key: `e` + session id + path.
pub fn ephemeral_key(session: i64, path: &str) -> Vec<u8> {
    let mut k = ephemeral_prefix(session);
    k.extend_from_slice(path.as_bytes());
    k
}

/// The prefix of all ephemeral index keys of one session.
pub fn ephemeral_prefix(session: i64) -> Vec<u8> {
    let mut k = vec![EPHEMERALS];
    k.extend_from_slice(&session.to_be_bytes());
    k
}

/// A reaper candidate key: `c` + path, for container and TTL nodes, so the reaper finds
/// them without walking the tree.
pub fn reap_key(path: &str) -> Vec<u8> {
    let mut k = vec![REAP_CANDIDATES];
    k.extend_from_slice(path.as_bytes());
    k
}

/// An ACL table key: `a` + the ACL list's content hash.
pub fn acl_key(id: u64) -> Vec<u8> {
    let mut k = vec![ACLS];
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The metadata name of the znode counter.
pub const NODE_COUNT: &str = "node_count";

/// The metadata name of the ephemeral-node counter.
pub const EPHEMERAL_COUNT: &str = "ephemeral_count";

/// A server metadata key: `m` + name.
pub fn meta_key(name: &str) -> Vec<u8> {
    let mut k = vec![META];
    k.extend_from_slice(name.as_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_group_children_under_their_parent() {
        assert_eq!(node_key("/"), b"n");
        assert_eq!(node_key("/a"), b"n\0a");
        assert_eq!(node_key("/a/b"), b"n/a\0b");
        assert_eq!(node_key(""), b"n");
        assert_eq!(node_key("é"), b"n\xff\xc3\xa9");
        assert!(node_key("/a").starts_with(&children_prefix("/")));
        assert!(node_key("/a/b").starts_with(&children_prefix("/a")));
        assert!(!node_key("/a/b/c").starts_with(&children_prefix("/a")));
        assert!(!node_key("/ab").starts_with(&children_prefix("/a")));
        for p in ["/", "/a", "/a/b/c"] {
            assert_eq!(key_path(&node_key(p)).as_deref(), Some(p));
        }
    }
}
