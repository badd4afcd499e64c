//! `warren-tree`: ZooKeeper's data tree, kept in the engine rather than in memory. Shared
//! by the server, which decides txns and applies them as they commit, and the tools,
//! which replay and inspect data dirs offline.
//!
//! - [`keys`]: the engine's key spaces, and the only code that knows their layout;
//! - [`node`]: a znode record and its stat;
//! - [`view`]: the state a txn is decided against (engine + overlay + the txn's own changes);
//! - [`apply`]: what each txn does, the one definition ([`apply_txn`], [`apply_committed`]);
//! - [`bootstrap`]: a new data dir's initial nodes and session secret;
//! - [`quota`]: ZooKeeper 3.7 quotas, kept as txns apply.

#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod apply;
pub mod bootstrap;
pub mod keys;
pub mod node;
pub mod quota;
pub mod view;

use warren_engine::EngineError;

pub use apply::{
    apply_committed, apply_txn, compute, session_ephemerals, Applied, Change, Outcome,
};
pub use bootstrap::{bootstrap, initial_nodes, SESSION_SECRET};
pub use keys::*;
pub use node::{acl_id, owner_kind, Node, OwnerKind};
pub use view::{acl_after, write_changes, Overlay, View};

/// Errors of the tree: the engine failed, or bytes in it do not decode.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("storage engine: {0}")]
    Engine(#[from] EngineError),
    #[error("corrupt {what} record in the engine: {detail}")]
    Corrupt { what: &'static str, detail: String },
}

fn corrupt(what: &'static str, detail: impl ToString) -> TreeError {
    TreeError::Corrupt {
        what,
        detail: detail.to_string(),
    }
}

/// Key-value pairs read from a range.
pub type KeyValues = Vec<(Vec<u8>, Vec<u8>)>;

/// Engine writes: a key and its new value, or `None` to delete it.
pub type Writes = Vec<(Vec<u8>, Option<Vec<u8>>)>;
