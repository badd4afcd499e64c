//! The snapshot file: what a member streams to another to replace its state, and keeps
//! as `raft/snapshot` to answer the next member that needs one.
//!
//! ```text
//! magic   8 bytes  "WRNSNAP\x01"
//! hlen    u32 LE   length of the header
//! header  hlen     JSON: Raft's snapshot meta, the zxid, term starts, memberships
//! record* 1 + 4 + 4 + klen + vlen bytes: tag 1, klen u32 LE, vlen u32 LE, key, value
//! end     1 + 8 + 4 bytes: tag 0, the record count u64 LE, CRC-32 of every byte before it
//! ```
//!
//! Records are the engine's live key/value pairs in key order, so installing one is a
//! merge of two sorted streams. The trailer's checksum covers everything, so a file is
//! verified in one streaming pass before anything of it is used.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::zxid::TermStart;
use crate::ReplicationError;

const MAGIC: &[u8; 8] = b"WRNSNAP\x01";
const TAG_RECORD: u8 = 1;
const TAG_END: u8 = 0;
/// Headers are small (a few memberships and term starts); anything larger is corrupt.
const MAX_HEADER: u32 = 16 << 20;
/// The largest key or value the engine holds is far below this.
const MAX_FIELD: u32 = 256 << 20;

/// Raft's snapshot meta of this group.
pub type Meta = openraft::SnapshotMeta<u64, openraft::BasicNode>;
/// A membership as the state machine stores it.
pub type Membership = openraft::StoredMembership<u64, openraft::BasicNode>;

/// What a snapshot is of: the log through `meta.last_log_id`, whose last txn is `zxid`,
/// and the facts about that log a member needs to go on from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub meta: Meta,
    pub zxid: i64,
    pub terms: Vec<TermStart>,
    pub memberships: Vec<Membership>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ReplicationError + '_ {
    move |source| ReplicationError::Io {
        path: path.to_owned(),
        source,
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> ReplicationError {
    ReplicationError::Corrupt {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Writes a snapshot file record by record.
pub struct Writer {
    path: PathBuf,
    out: BufWriter<File>,
    crc: crc32fast::Hasher,
    records: u64,
}

impl Writer {
    /// Creates (truncates) `path` and writes the magic and `header`.
    ///
    /// # Errors
    /// I/O failures.
    pub fn create(path: &Path, header: &Header) -> Result<Writer, ReplicationError> {
        let file = File::create(path).map_err(io(path))?;
        let mut w = Writer {
            path: path.to_owned(),
            out: BufWriter::with_capacity(1 << 20, file),
            crc: crc32fast::Hasher::new(),
            records: 0,
        };
        let json = serde_json::to_vec(header).map_err(|e| corrupt(path, e.to_string()))?;
        w.put(MAGIC)?;
        w.put(&(json.len() as u32).to_le_bytes())?;
        w.put(&json)?;
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), ReplicationError> {
        self.crc.update(bytes);
        self.out.write_all(bytes).map_err(io(&self.path))
    }

    /// Appends one key/value pair (keys must come in increasing order).
    ///
    /// # Errors
    /// I/O failures.
    pub fn record(&mut self, key: &[u8], value: &[u8]) -> Result<(), ReplicationError> {
        self.put(&[TAG_RECORD])?;
        self.put(&(key.len() as u32).to_le_bytes())?;
        self.put(&(value.len() as u32).to_le_bytes())?;
        self.put(key)?;
        self.put(value)?;
        self.records += 1;
        Ok(())
    }

    /// Writes the trailer and fsyncs the file.
    ///
    /// # Errors
    /// I/O failures.
    pub fn finish(mut self) -> Result<(), ReplicationError> {
        self.put(&[TAG_END])?;
        let count = self.records.to_le_bytes();
        self.put(&count)?;
        let crc = self.crc.clone().finalize();
        self.out
            .write_all(&crc.to_le_bytes())
            .map_err(io(&self.path))?;
        let file = self.out.into_inner().map_err(|e| ReplicationError::Io {
            path: self.path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(io(&self.path))
    }
}

/// One key and its value, as the snapshot stores them.
pub type Record = (Vec<u8>, Vec<u8>);

/// Reads a snapshot file: its header at open, then its records in order.
pub struct Reader {
    path: PathBuf,
    input: BufReader<File>,
    crc: crc32fast::Hasher,
    records: u64,
    done: bool,
}

impl Reader {
    /// Opens `path` and reads its header.
    ///
    /// # Errors
    /// I/O failures; a file that is not a snapshot.
    pub fn open(path: &Path) -> Result<(Reader, Header), ReplicationError> {
        let file = File::open(path).map_err(io(path))?;
        let mut r = Reader {
            path: path.to_owned(),
            input: BufReader::with_capacity(1 << 20, file),
            crc: crc32fast::Hasher::new(),
            records: 0,
            done: false,
        };
        let mut magic = [0u8; 8];
        r.take(&mut magic)?;
        if &magic != MAGIC {
            return Err(corrupt(path, "not a Warren snapshot (bad magic)"));
        }
        let hlen = r.u32()?;
        if hlen > MAX_HEADER {
            return Err(corrupt(path, format!("a header of {hlen} bytes")));
        }
        let mut json = vec![0u8; hlen as usize];
        r.take(&mut json)?;
        let header = serde_json::from_slice(&json)
            .map_err(|e| corrupt(path, format!("the header does not parse: {e}")))?;
        Ok((r, header))
    }

    fn take(&mut self, buf: &mut [u8]) -> Result<(), ReplicationError> {
        self.input.read_exact(buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                corrupt(&self.path, "the file ends early (truncated)")
            } else {
                io(&self.path)(e)
            }
        })?;
        self.crc.update(buf);
        Ok(())
    }

    fn u32(&mut self) -> Result<u32, ReplicationError> {
        let mut b = [0u8; 4];
        self.take(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn field(&mut self, len: u32) -> Result<Vec<u8>, ReplicationError> {
        if len > MAX_FIELD {
            return Err(corrupt(&self.path, format!("a field of {len} bytes")));
        }
        let mut v = vec![0u8; len as usize];
        self.take(&mut v)?;
        Ok(v)
    }

    /// The next key/value pair; `None` after the trailer, once its count and checksum
    /// have been verified.
    ///
    /// # Errors
    /// I/O failures; a bad tag, count or checksum.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReplicationError> {
        if self.done {
            return Ok(None);
        }
        let mut tag = [0u8; 1];
        self.take(&mut tag)?;
        match tag[0] {
            TAG_RECORD => {
                let klen = self.u32()?;
                let vlen = self.u32()?;
                let key = self.field(klen)?;
                let value = self.field(vlen)?;
                self.records += 1;
                Ok(Some((key, value)))
            }
            TAG_END => {
                self.finish()?;
                Ok(None)
            }
            t => Err(corrupt(&self.path, format!("an unknown record tag {t}"))),
        }
    }

    fn finish(&mut self) -> Result<(), ReplicationError> {
        let mut count = [0u8; 8];
        self.take(&mut count)?;
        let expected = self.crc.clone().finalize();
        let mut crc = [0u8; 4];
        self.input
            .read_exact(&mut crc)
            .map_err(|_| corrupt(&self.path, "the file ends early (truncated)"))?;
        if u32::from_le_bytes(crc) != expected {
            return Err(corrupt(&self.path, "the checksum does not match"));
        }
        if u64::from_le_bytes(count) != self.records {
            return Err(corrupt(&self.path, "the record count does not match"));
        }
        self.done = true;
        Ok(())
    }
}

/// Reads `path` through, verifying every record and the checksum; its header.
///
/// # Errors
/// As [`Reader::next_record`].
pub fn verify(path: &Path) -> Result<Header, ReplicationError> {
    let (mut r, header) = Reader::open(path)?;
    while r.next_record()?.is_some() {}
    Ok(header)
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, LogId};

    use super::*;

    fn header() -> Header {
        Header {
            meta: Meta {
                last_log_id: Some(LogId::new(CommittedLeaderId::new(2, 1), 9)),
                last_membership: Membership::default(),
                snapshot_id: "2-9".into(),
            },
            zxid: (2 << 32) | 5,
            terms: vec![TermStart {
                term: 2,
                node: 1,
                index: 3,
            }],
            memberships: Vec::new(),
        }
    }

    #[test]
    fn a_written_snapshot_reads_back_and_any_flipped_byte_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s");
        let mut w = Writer::create(&p, &header()).unwrap();
        w.record(b"a", b"1").unwrap();
        w.record(b"b", &[7u8; 1000]).unwrap();
        w.finish().unwrap();
        let (mut r, h) = Reader::open(&p).unwrap();
        assert_eq!(h, header());
        assert_eq!(
            r.next_record().unwrap(),
            Some((b"a".to_vec(), b"1".to_vec()))
        );
        assert_eq!(r.next_record().unwrap().unwrap().1.len(), 1000);
        assert_eq!(r.next_record().unwrap(), None);

        let good = std::fs::read(&p).unwrap();
        for at in [0, 20, good.len() - 600, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x40;
            std::fs::write(&p, &bad).unwrap();
            assert!(verify(&p).is_err(), "a flip at {at} went unnoticed");
        }
        std::fs::write(&p, &good[..good.len() - 3]).unwrap();
        let e = verify(&p).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
    }
}
