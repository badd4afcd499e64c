//! Reading Apache ZooKeeper's txn log files (`version-2/log.<hex zxid>`): the file header,
//! then entries of `checksum long, buffer, 'B'` until a zero length (preallocated padding)
//! or the end of the file. This module only frames entries and checks their bytes; the
//! txn inside an entry is decoded with `warren-proto` by the callers.

use std::path::{Path, PathBuf};

use warren_proto::{FileHeader, Jute, JuteError, Reader, TxnHeader};

use crate::detect::{describe_magic, ZK_TXNLOG_MAGIC};
use crate::error::ToolError;

/// `FileHeader` size: magic int, version int, dbid long.
pub const FILE_HEADER_LEN: usize = 16;
/// Bytes of framing around an entry's buffer: checksum (8), length (4) and the `'B'` (1).
pub const ENTRY_OVERHEAD: usize = 13;
/// The end-of-record byte after every entry.
pub const EOR: u8 = b'B';

/// A whole ZooKeeper txn log file, in memory.
#[derive(Debug, Clone)]
pub struct ZkLog {
    /// Where it was read from.
    pub path: PathBuf,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Its decoded header.
    pub header: FileHeader,
}

impl ZkLog {
    /// Reads `path` and checks that it starts with a txn log header.
    ///
    /// # Errors
    /// [`ToolError::Io`] if it cannot be read, [`ToolError::BadMagic`] if it is not a txn
    /// log, [`ToolError::Corrupt`] if it is shorter than a header.
    pub fn open(path: &Path) -> Result<ZkLog, ToolError> {
        let bytes = std::fs::read(path).map_err(|e| ToolError::io(path, e))?;
        ZkLog::from_bytes(path, bytes)
    }

    /// Wraps bytes already read from `path`.
    ///
    /// # Errors
    /// As [`ZkLog::open`], without the I/O.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<ZkLog, ToolError> {
        if !bytes.starts_with(&ZK_TXNLOG_MAGIC) {
            return Err(ToolError::BadMagic {
                path: path.to_owned(),
                expected: "ZooKeeper txn log",
                found: describe_magic(&bytes),
            });
        }
        let header = FileHeader::from_bytes(&bytes)
            .map_err(|_| ToolError::corrupt(path, 0, "file ends inside the 16-byte file header"))?;
        Ok(ZkLog {
            path: path.to_owned(),
            bytes,
            header,
        })
    }

    /// The entries after the header, in file order.
    pub fn entries(&self) -> Entries<'_> {
        Entries {
            bytes: &self.bytes,
            pos: FILE_HEADER_LEN,
            done: false,
        }
    }
}

/// One framed entry.
#[derive(Debug, Clone, Copy)]
pub struct RawEntry<'a> {
    /// Offset of its checksum field in the file.
    pub offset: u64,
    /// The checksum as stored (a long holding an Adler32).
    pub stored_crc: i64,
    /// The txn bytes the checksum covers.
    pub body: &'a [u8],
    /// The byte after the buffer; `'B'` when intact.
    pub eor: u8,
}

impl RawEntry<'_> {
    /// Adler32 of the body.
    pub fn computed_crc(&self) -> u32 {
        adler32(self.body)
    }

    /// Whether the stored checksum matches the body.
    pub fn crc_ok(&self) -> bool {
        self.stored_crc == i64::from(self.computed_crc())
    }

    /// Whether the entry ends with `'B'`.
    pub fn eor_ok(&self) -> bool {
        self.eor == EOR
    }

    /// Offset of the byte after this entry.
    pub fn end(&self) -> u64 {
        self.offset + (ENTRY_OVERHEAD + self.body.len()) as u64
    }

    /// Offset of the body in the file.
    pub fn body_offset(&self) -> u64 {
        self.offset + 12
    }

    /// The txn header and the bytes after it (the txn record and maybe a digest).
    ///
    /// # Errors
    /// [`JuteError::Truncated`] when the body is shorter than a header.
    pub fn txn_header(&self) -> Result<(TxnHeader, &[u8]), JuteError> {
        let mut r = Reader::new(self.body);
        let h = TxnHeader::read(&mut r)?;
        Ok((h, r.rest()))
    }
}

/// How the entries of a file ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEnd {
    /// A zero length: the rest is preallocated padding. ZooKeeper's normal end.
    Padding { offset: u64 },
    /// The file ended exactly after an entry.
    Eof { offset: u64 },
    /// The file ended, or held an impossible length, inside an entry. ZooKeeper's reader
    /// treats a short read as the end of the log; the tools report it.
    Truncated { offset: u64, reason: String },
}

impl LogEnd {
    /// Where the entries stop.
    pub fn offset(&self) -> u64 {
        match self {
            LogEnd::Padding { offset }
            | LogEnd::Eof { offset }
            | LogEnd::Truncated { offset, .. } => *offset,
        }
    }
}

/// One step of a scan: an entry, or the end.
#[derive(Debug, Clone)]
pub enum Scan<'a> {
    Entry(RawEntry<'a>),
    End(LogEnd),
}

/// Iterator over a log's entries; the last item is always a [`Scan::End`].
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    bytes: &'a [u8],
    pos: usize,
    done: bool,
}

fn be_i64(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    i64::from_be_bytes(a)
}

fn be_i32(b: &[u8]) -> i32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    i32::from_be_bytes(a)
}

impl<'a> Iterator for Entries<'a> {
    type Item = Scan<'a>;

    fn next(&mut self) -> Option<Scan<'a>> {
        if self.done {
            return None;
        }
        let at = self.pos;
        let offset = at as u64;
        let left = self.bytes.len().saturating_sub(at);
        let end = |e: LogEnd| Some(Scan::End(e));
        self.done = true;
        if left == 0 {
            return end(LogEnd::Eof { offset });
        }
        if left < 12 {
            return end(LogEnd::Truncated {
                offset,
                reason: format!("{left} trailing bytes, too short for an entry header"),
            });
        }
        let stored_crc = be_i64(&self.bytes[at..]);
        let len = be_i32(&self.bytes[at + 8..]);
        if len == 0 {
            return end(LogEnd::Padding { offset });
        }
        if len < 0 {
            return end(LogEnd::Truncated {
                offset,
                reason: format!("negative entry length {len}"),
            });
        }
        let len = len as usize;
        if left < 12 + len + 1 {
            return end(LogEnd::Truncated {
                offset,
                reason: format!(
                    "entry length {len} runs past the end of the file ({} bytes left)",
                    left - 12
                ),
            });
        }
        let body = &self.bytes[at + 12..at + 12 + len];
        let eor = self.bytes[at + 12 + len];
        self.pos = at + 12 + len + 1;
        self.done = false;
        Some(Scan::Entry(RawEntry {
            offset,
            stored_crc,
            body,
            eor,
        }))
    }
}

/// Adler32, the checksum of ZooKeeper's log entries and snapshots.
pub fn adler32(bytes: &[u8]) -> u32 {
    let mut a = adler::Adler32::new();
    a.write_slice(bytes);
    a.checksum()
}

/// Encodes one entry's framing around `body`, with the checksum given.
pub fn encode_entry(crc: i64, body: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(&(body.len() as i32).to_be_bytes());
    out.extend_from_slice(body);
    out.push(EOR);
}

/// The zxid in a ZooKeeper file name `<prefix>.<hex>` (nothing else after it), as
/// ZooKeeper names logs and uncompressed snapshots.
pub fn zxid_from_name(name: &str, prefix: &str) -> Option<i64> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('.')?;
    let hex = rest.split('.').next()?;
    u64::from_str_radix(hex, 16).ok().map(|v| v as i64)
}

/// The `log.<hex>` files of a directory, in zxid order. Names with anything after the hex
/// (`log.1.fixed`, `log.1.chopped5` …) are left out.
///
/// # Errors
/// [`ToolError::Io`] when the directory cannot be listed.
pub fn list_logs(dir: &Path) -> Result<Vec<PathBuf>, ToolError> {
    let mut found: Vec<(i64, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| ToolError::io(dir, e))? {
        let e = e.map_err(|e| ToolError::io(dir, e))?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(hex) = name.strip_prefix("log.") else {
            continue;
        };
        if hex.contains('.') {
            continue;
        }
        if let Some(z) = zxid_from_name(name, "log") {
            found.push((z, e.path()));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// A FILE argument: the file itself, or for a directory all its `log.*` in zxid order.
///
/// # Errors
/// [`ToolError::Io`] on a missing path, [`ToolError::Usage`] on a directory without logs.
pub fn expand_log_paths(path: &Path) -> Result<Vec<PathBuf>, ToolError> {
    let meta = std::fs::metadata(path).map_err(|e| ToolError::io(path, e))?;
    if meta.is_dir() {
        let logs = list_logs(path)?;
        if logs.is_empty() {
            return Err(ToolError::Usage(format!(
                "{}: no log.* files in this directory",
                path.display()
            )));
        }
        Ok(logs)
    } else {
        Ok(vec![path.to_owned()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(bodies: &[&[u8]], pad: usize) -> Vec<u8> {
        let mut v = Vec::new();
        FileHeader {
            magic: 0x5A4B_4C47,
            version: 2,
            dbid: 0,
        }
        .write(&mut v);
        for b in bodies {
            encode_entry(i64::from(adler32(b)), b, &mut v);
        }
        v.resize(v.len() + pad, 0);
        v
    }

    #[test]
    fn scans_entries_and_the_end() {
        let log = ZkLog::from_bytes(Path::new("x"), log_with(&[b"abc", b"de"], 20)).unwrap();
        let items: Vec<Scan<'_>> = log.entries().collect();
        assert_eq!(items.len(), 3);
        let Scan::Entry(e) = &items[0] else { panic!() };
        assert_eq!(
            (e.offset, e.body, e.crc_ok(), e.eor_ok()),
            (16, &b"abc"[..], true, true)
        );
        assert!(matches!(
            items[2],
            Scan::End(LogEnd::Padding { offset: 47 })
        ));
        let log = ZkLog::from_bytes(Path::new("x"), log_with(&[b"abc"], 0)).unwrap();
        assert!(matches!(
            log.entries().last(),
            Some(Scan::End(LogEnd::Eof { offset: 32 }))
        ));
        let mut b = log_with(&[b"abc"], 0);
        b.pop();
        let log = ZkLog::from_bytes(Path::new("x"), b).unwrap();
        assert!(matches!(
            log.entries().last(),
            Some(Scan::End(LogEnd::Truncated { offset: 16, .. }))
        ));
    }

    #[test]
    fn names() {
        assert_eq!(zxid_from_name("log.1c", "log"), Some(0x1c));
        assert_eq!(zxid_from_name("snapshot.4d.snappy", "snapshot"), Some(0x4d));
        assert_eq!(zxid_from_name("snapshot", "snapshot"), None);
        assert_eq!(zxid_from_name("log.xyz", "log"), None);
    }
}
