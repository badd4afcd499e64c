//! Installing a snapshot: the engine is made to hold exactly the snapshot's pairs, by
//! merging its current keys with the snapshot's (both in key order) and writing only the
//! difference: a put for each pair that is new or changed, a delete for each key the
//! snapshot lacks. A member that lags a little rewrites little; a wiped one loads all.
//!
//! The difference is written in batches of [`BATCH_BYTES`], at the sequence numbers
//! between the engine's last and the snapshot's zxid, the last batch at the zxid itself,
//! then flushed; so the engine ends at the snapshot's zxid, as if it had applied the
//! same txns. Memory stays at one batch whatever the size of the tree.
//!
//! A crash midway leaves `raft/install.pending` behind, and start-up runs the install
//! again ([`super::resume`]): the merge is against whatever the engine holds by then,
//! so running it twice gives the same state.

use std::iter::Peekable;
use std::path::Path;

use warren_engine::{Engine, EngineIter, WriteBatch};

use super::file::Reader;
use crate::ReplicationError;

/// The size of one batch of the difference.
const BATCH_BYTES: usize = 4 << 20;

fn engine_err(path: &Path, e: warren_engine::EngineError) -> ReplicationError {
    ReplicationError::Corrupt {
        path: path.to_owned(),
        reason: format!("installing a snapshot: the engine failed: {e}"),
    }
}

/// What the install did, for the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Installed {
    pub puts: u64,
    pub deletes: u64,
    pub unchanged: u64,
}

/// Writes the difference between the engine and the snapshot at `path` into the
/// engine, ending at the snapshot's zxid `zxid`, and flushes. The caller makes sure
/// nothing else writes to the engine meanwhile. An engine already at or past `zxid`
/// holds that state already and is left alone.
///
/// # Errors
/// Engine and I/O failures; a snapshot that does not verify (the engine may then hold
/// part of it: the pending marker makes start-up finish the job).
pub fn install_into(
    engine: &Engine,
    path: &Path,
    zxid: i64,
) -> Result<Installed, ReplicationError> {
    let target = zxid.max(0) as u64;
    if engine.last_seq() >= target && target > 0 {
        return Ok(Installed::default());
    }
    let (mut snap, _) = Reader::open(path)?;
    let pin = engine.snapshot();
    let mut current = engine
        .scan(.., pin.read_seq())
        .map_err(|e| engine_err(path, e))?
        .peekable();
    let mut out = Output {
        engine,
        path,
        batch: WriteBatch::new(),
        next_seq: engine.last_seq() + 1,
        target,
        done: Installed::default(),
    };
    while let Some((k, v)) = snap.next_record()? {
        out.delete_below(&mut current, &k)?;
        match next_key_is(&mut current, &k, path)? {
            Some(old) if old == v => out.done.unchanged += 1,
            _ => out.put(&k, &v)?,
        }
    }
    out.delete_rest(&mut current)?;
    drop(current);
    drop(pin);
    out.finish()
}

/// Takes the engine's current pair for `key` if it is next; its value.
fn next_key_is(
    current: &mut Peekable<EngineIter>,
    key: &[u8],
    path: &Path,
) -> Result<Option<Vec<u8>>, ReplicationError> {
    match current.peek() {
        Some(Ok((k, _))) if k.as_slice() == key => match current.next() {
            Some(Ok((_, v))) => Ok(Some(v)),
            _ => Ok(None),
        },
        Some(Err(_)) => match current.next() {
            Some(Err(e)) => Err(engine_err(path, e)),
            _ => Ok(None),
        },
        _ => Ok(None),
    }
}

struct Output<'a> {
    engine: &'a Engine,
    path: &'a Path,
    batch: WriteBatch,
    next_seq: u64,
    target: u64,
    done: Installed,
}

impl Output<'_> {
    fn put(&mut self, k: &[u8], v: &[u8]) -> Result<(), ReplicationError> {
        self.batch.put(k, v);
        self.done.puts += 1;
        self.maybe_write()
    }

    fn delete(&mut self, k: &[u8]) -> Result<(), ReplicationError> {
        self.batch.delete(k);
        self.done.deletes += 1;
        self.maybe_write()
    }

    /// Deletes the engine's keys that sort before `key` (the snapshot has none of them).
    fn delete_below(
        &mut self,
        current: &mut Peekable<EngineIter>,
        key: &[u8],
    ) -> Result<(), ReplicationError> {
        while let Some(Ok((k, _))) = current.peek() {
            if k.as_slice() >= key {
                break;
            }
            let k = k.clone();
            current.next();
            self.delete(&k)?;
        }
        if let Some(Err(_)) = current.peek() {
            if let Some(Err(e)) = current.next() {
                return Err(engine_err(self.path, e));
            }
        }
        Ok(())
    }

    fn delete_rest(&mut self, current: &mut Peekable<EngineIter>) -> Result<(), ReplicationError> {
        for kv in current {
            let (k, _) = kv.map_err(|e| engine_err(self.path, e))?;
            self.delete(&k)?;
        }
        Ok(())
    }

    /// Writes a full batch at the next sequence number, while one below the target is
    /// left for it (the rest then goes into the final batch).
    fn maybe_write(&mut self) -> Result<(), ReplicationError> {
        if self.batch.payload_bytes() < BATCH_BYTES || self.next_seq >= self.target {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.engine
            .write(self.next_seq, batch)
            .map_err(|e| engine_err(self.path, e))?;
        self.next_seq += 1;
        Ok(())
    }

    fn finish(self) -> Result<Installed, ReplicationError> {
        let target = self.target.max(self.next_seq);
        self.engine
            .write(target, self.batch)
            .map_err(|e| engine_err(self.path, e))?;
        self.engine.flush().map_err(|e| engine_err(self.path, e))?;
        Ok(self.done)
    }
}

#[cfg(test)]
mod tests {
    use warren_engine::{EngineOptions, ReadSeq};

    use super::super::file::{Header, Meta, Writer};
    use super::*;

    fn header(zxid: i64) -> Header {
        Header {
            meta: Meta {
                last_log_id: None,
                last_membership: Default::default(),
                snapshot_id: "t".into(),
            },
            zxid,
            terms: Vec::new(),
            memberships: Vec::new(),
        }
    }

    fn contents(e: &Engine) -> Vec<(Vec<u8>, Vec<u8>)> {
        e.scan(.., ReadSeq::Latest)
            .unwrap()
            .map(|kv| kv.unwrap())
            .collect()
    }

    #[test]
    fn the_engine_ends_holding_exactly_the_snapshot_at_its_zxid() {
        let d = tempfile::tempdir().unwrap();
        let src = Engine::open(&d.path().join("src"), EngineOptions::default()).unwrap();
        let dst = Engine::open(&d.path().join("dst"), EngineOptions::default()).unwrap();
        let mut b = WriteBatch::new();
        for i in 0..5000u32 {
            b.put(format!("k{i:05}"), vec![(i % 251) as u8; 2000]);
        }
        src.write(100, b).unwrap();
        let mut b = WriteBatch::new();
        b.put("k00001", vec![1u8; 2000]);
        b.put("a-only-here", "x");
        b.put("zz-only-here", "y");
        dst.write(7, b).unwrap();

        let tmp = d.path().join("snap.tmp");
        let path = d.path().join("snap");
        let n = super::super::build::write_snapshot(&src, &header(100), &tmp, &path).unwrap();
        assert_eq!(n, 5000);
        let done = install_into(&dst, &path, 100).unwrap();
        assert_eq!(done.deletes, 2);
        assert_eq!(done.unchanged, 1);
        assert_eq!(done.puts, 4999);
        assert_eq!(dst.last_seq(), 100);
        assert_eq!(dst.persisted_seq(), 100);
        assert_eq!(contents(&dst), contents(&src));
        // Done again (a resumed install), it changes nothing.
        assert_eq!(
            install_into(&dst, &path, 100).unwrap(),
            Installed::default()
        );
    }

    #[test]
    fn a_snapshot_that_does_not_verify_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let dst = Engine::open(&d.path().join("dst"), EngineOptions::default()).unwrap();
        let path = d.path().join("snap");
        let mut w = Writer::create(&path, &header(9)).unwrap();
        w.record(b"k", b"v").unwrap();
        w.finish().unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(install_into(&dst, &path, 9).is_err());
    }
}
