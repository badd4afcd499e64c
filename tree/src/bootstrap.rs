//! A new data dir's first state: the nodes every ZooKeeper tree starts with, and the
//! secret session passwords derive from. Both are written at sequence 0, outside the txn
//! log, as ZooKeeper creates its special nodes outside its log.

use warren_engine::{Engine, ReadSeq};
use warren_proto::consts::perms;
use warren_proto::{Acl, JVec, Jute, StatPersisted};

use crate::keys::{acl_key, meta_key, node_key, EPHEMERAL_COUNT, NODE_COUNT};
use crate::node::{acl_id, Node};
use crate::view::write_changes;
use crate::{TreeError, Writes};

/// The metadata name of the secret session passwords derive from.
pub const SESSION_SECRET: &str = "session_secret";

/// Loads the session secret of a data dir, or, on a new one, lays down the initial tree
/// and a fresh secret at sequence 0 and flushes them: they are not in the txn log.
///
/// # Errors
/// Engine failures.
pub fn bootstrap(engine: &Engine) -> Result<[u8; 16], TreeError> {
    if let Some(b) = engine.get(&meta_key(SESSION_SECRET), ReadSeq::Latest)? {
        if let Ok(a) = <[u8; 16]>::try_from(b.as_slice()) {
            return Ok(a);
        }
    }
    let seed = xxhash_rust::xxh3::xxh3_128(
        format!(
            "{:?}{}{:?}",
            std::time::SystemTime::now(),
            std::process::id(),
            std::time::Instant::now()
        )
        .as_bytes(),
    );
    let secret = seed.to_be_bytes();
    let mut changes = initial_nodes();
    changes.push((meta_key(SESSION_SECRET), Some(secret.to_vec())));
    write_changes(engine, 0, &changes)?;
    engine.flush()?;
    Ok(secret)
}

/// The nodes every ZooKeeper tree starts with: `/`, `/zookeeper`, `/zookeeper/quota` and
/// `/zookeeper/config`, all with zero stats, as ZooKeeper creates them outside the log.
pub fn initial_nodes() -> Writes {
    let open = Acl::open_unsafe();
    let read_only = vec![Acl::new(perms::READ, "world", "anyone")];
    let node = |children: i32, acl: &[Acl]| Node {
        stat: StatPersisted::default(),
        num_children: children,
        acl_id: acl_id(acl),
        data: Some(Vec::new()),
    };
    vec![
        (node_key("/"), Some(node(1, &open).encode())),
        (node_key("/zookeeper"), Some(node(2, &open).encode())),
        (node_key("/zookeeper/quota"), Some(node(0, &open).encode())),
        (
            node_key("/zookeeper/config"),
            Some(node(0, &read_only).encode()),
        ),
        (meta_key(NODE_COUNT), Some(4i64.to_le_bytes().to_vec())),
        (meta_key(EPHEMERAL_COUNT), Some(0i64.to_le_bytes().to_vec())),
        (acl_key(acl_id(&open)), Some(JVec(open).to_bytes())),
        (
            acl_key(acl_id(&read_only)),
            Some(JVec(read_only).to_bytes()),
        ),
    ]
}
