//! `dirs`: bytes used by the data directories. ZooKeeper reports its snapshot directory
//! and txn log directory; Warren's counterparts are the engine directory (SSTables and
//! manifest) and the txn log directory.

use super::dir_size;
use super::json::Json;
use crate::state::Shared;

/// (data dir size, log dir size) in bytes.
pub fn sizes(shared: &Shared) -> (u64, u64) {
    (
        dir_size(&shared.config.engine_dir()),
        dir_size(&shared.config.log_dir()),
    )
}

/// The word's text.
pub fn text(shared: &Shared) -> String {
    let (d, l) = sizes(shared);
    format!("datadir_size: {d}\nlogdir_size: {l}\n")
}

/// The AdminServer's `dirs`.
pub fn json(shared: &Shared) -> Json {
    let (d, l) = sizes(shared);
    let mut j = Json::obj();
    j.set("datadir_size", d).set("logdir_size", l);
    j
}
