//! Building a snapshot while writes go on: the engine is pinned at the zxid the state
//! machine had applied when the build was asked for (MVCC keeps every version that zxid
//! needs until the pin is dropped), flushed so that the member no longer needs the log
//! below it, and read at that zxid into a file.

use std::path::Path;

use warren_engine::{Engine, ReadSeq};

use super::file::{Header, Writer};
use crate::ReplicationError;

fn engine_err(path: &Path, e: warren_engine::EngineError) -> ReplicationError {
    ReplicationError::Corrupt {
        path: path.to_owned(),
        reason: format!("building a snapshot: the engine failed: {e}"),
    }
}

/// Writes the engine's state at `header.zxid` to `tmp`, then renames it to `dest`.
/// Returns the number of records.
///
/// # Errors
/// Engine and I/O failures; `tmp` is left behind on failure and overwritten next time.
pub fn write_snapshot(
    engine: &Engine,
    header: &Header,
    tmp: &Path,
    dest: &Path,
) -> Result<u64, ReplicationError> {
    engine.flush().map_err(|e| engine_err(tmp, e))?;
    let mut w = Writer::create(tmp, header)?;
    let mut records = 0u64;
    let at = ReadSeq::At(header.zxid.max(0) as u64);
    for kv in engine.scan(.., at).map_err(|e| engine_err(tmp, e))? {
        let (k, v) = kv.map_err(|e| engine_err(tmp, e))?;
        w.record(&k, &v)?;
        records += 1;
    }
    w.finish()?;
    std::fs::rename(tmp, dest).map_err(|source| ReplicationError::Io {
        path: dest.to_owned(),
        source,
    })?;
    super::sync_parent(dest)?;
    Ok(records)
}
