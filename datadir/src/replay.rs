//! Replay: the log records the engine does not hold yet, applied in zxid order through
//! [`warren_tree::apply_committed`], the function the live server applies txns with.
//!
//! The engine records in its manifest the highest zxid it has persisted; records at or
//! below the engine's last zxid are skipped, so replaying twice changes nothing.
//!
//! Replay refuses gaps: the first record it applies must follow the engine's last zxid,
//! and each one the one before (a one-member log numbers its txns without holes). A lost
//! log segment, or an engine dir lost after the log was purged, would otherwise give a
//! partial tree without a word; instead the data dir does not open, and the error names
//! the missing zxids and the tools that can help.

use std::path::Path;
use std::time::Instant;

use warren_engine::Engine;
use warren_proto::txn::LoggedTxn;

use crate::records::LogRecord;
use crate::DataDirError;

/// What a replay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Txns applied.
    pub txns: u64,
    /// The engine's last zxid afterwards.
    pub last_zxid: u64,
    /// How long it took.
    pub millis: u64,
}

/// Applies every record newer than the engine's last zxid, stopping after `to` when it
/// is given (disaster recovery to a zxid).
///
/// # Errors
/// [`DataDirError::BadTxn`] naming the record whose payload is not a txn; the records'
/// own errors; [`DataDirError::Tree`] when applying fails.
pub fn replay(
    engine: &Engine,
    wal_dir: &Path,
    records: impl Iterator<Item = Result<LogRecord, DataDirError>>,
    to: Option<u64>,
) -> Result<Replayed, DataDirError> {
    let started = Instant::now();
    let mut txns = 0;
    let mut next = engine.last_seq() + 1;
    for rec in records {
        let rec = rec?;
        let zxid = rec.record.seq;
        if zxid < next {
            continue;
        }
        if to.is_some_and(|to| zxid > to) {
            break;
        }
        if zxid != next {
            return Err(DataDirError::Gap {
                from: next,
                to: zxid - 1,
                at: rec.place(wal_dir),
            });
        }
        let txn =
            LoggedTxn::decode(&rec.record.payload).map_err(|source| DataDirError::BadTxn {
                zxid,
                at: rec.place(wal_dir),
                source,
            })?;
        warren_tree::apply_committed(engine, &txn).map_err(|source| DataDirError::Tree {
            path: engine.dir().to_owned(),
            source,
        })?;
        txns += 1;
        next = zxid + 1;
    }
    Ok(Replayed {
        txns,
        last_zxid: engine.last_seq(),
        millis: started.elapsed().as_millis() as u64,
    })
}
