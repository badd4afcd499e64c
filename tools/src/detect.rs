//! Which kind of file a path holds, decided by its first bytes (never by its name), so each
//! command can pick the right reader and refuse the rest with a clear message. Warren's own
//! formats are recognised here already; their readers slot in beside the ZooKeeper ones.

use std::io::Read;
use std::path::Path;

use crate::error::ToolError;

/// ZooKeeper txn log magic, `ZKLG`.
pub const ZK_TXNLOG_MAGIC: [u8; 4] = *b"ZKLG";
/// ZooKeeper snapshot magic, `ZKSN`.
pub const ZK_SNAPSHOT_MAGIC: [u8; 4] = *b"ZKSN";
/// The start of a gzip stream.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// snappy-java's `SnappyOutputStream` header (followed by two ints: version, compatible version).
pub const SNAPPY_JAVA_MAGIC: [u8; 8] = *b"\x82SNAPPY\0";
/// The snappy framing format's stream identifier chunk.
pub const SNAPPY_FRAMED_MAGIC: [u8; 10] = *b"\xff\x06\x00\x00sNaPpY";
/// A Warren WAL segment (see the wal crate).
pub const WARREN_WAL_MAGIC: [u8; 8] = *b"WARRNWAL";
/// A Warren SSTable (see the engine crate).
pub const WARREN_SST_MAGIC: [u8; 4] = *b"WSST";
/// A Warren manifest (see the engine crate).
pub const WARREN_MANIFEST_MAGIC: [u8; 4] = *b"WMAN";

/// The kinds of file the tools know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// ZooKeeper `log.*`.
    ZkTxnLog,
    /// ZooKeeper `snapshot.*`, uncompressed.
    ZkSnapshot,
    /// A gzip stream (ZooKeeper `snapshot.*.gz`).
    Gzip,
    /// A snappy-java stream (ZooKeeper `snapshot.*.snappy`).
    SnappyJava,
    /// A snappy framing-format stream.
    SnappyFramed,
    /// A Warren WAL segment.
    WarrenWal,
    /// A Warren SSTable.
    WarrenSst,
    /// A Warren engine manifest.
    WarrenManifest,
    /// None of the above.
    Unknown,
}

impl FileKind {
    /// Classifies a file by its leading bytes.
    pub fn from_magic(head: &[u8]) -> FileKind {
        if head.starts_with(&ZK_TXNLOG_MAGIC) {
            FileKind::ZkTxnLog
        } else if head.starts_with(&ZK_SNAPSHOT_MAGIC) {
            FileKind::ZkSnapshot
        } else if head.starts_with(&GZIP_MAGIC) {
            FileKind::Gzip
        } else if head.starts_with(&SNAPPY_JAVA_MAGIC) {
            FileKind::SnappyJava
        } else if head.starts_with(&SNAPPY_FRAMED_MAGIC) {
            FileKind::SnappyFramed
        } else if head.starts_with(&WARREN_WAL_MAGIC) {
            FileKind::WarrenWal
        } else if head.starts_with(&WARREN_SST_MAGIC) {
            FileKind::WarrenSst
        } else if head.starts_with(&WARREN_MANIFEST_MAGIC) {
            FileKind::WarrenManifest
        } else {
            FileKind::Unknown
        }
    }

    /// A human name for messages.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::ZkTxnLog => "ZooKeeper txn log",
            FileKind::ZkSnapshot => "ZooKeeper snapshot",
            FileKind::Gzip => "gzip",
            FileKind::SnappyJava => "snappy-java",
            FileKind::SnappyFramed => "snappy framed",
            FileKind::WarrenWal => "Warren WAL segment",
            FileKind::WarrenSst => "Warren SSTable",
            FileKind::WarrenManifest => "Warren manifest",
            FileKind::Unknown => "unknown",
        }
    }
}

/// Reads the first bytes of `path` and classifies it.
///
/// # Errors
/// [`ToolError::Io`] when the file cannot be opened or read.
pub fn detect(path: &Path) -> Result<FileKind, ToolError> {
    let mut head = Vec::with_capacity(16);
    std::fs::File::open(path)
        .and_then(|f| f.take(16).read_to_end(&mut head))
        .map_err(|e| ToolError::io(path, e))?;
    Ok(FileKind::from_magic(&head))
}

/// The magic as text for error messages: printable ASCII as is, the rest in hex.
pub fn describe_magic(head: &[u8]) -> String {
    let head = &head[..head.len().min(8)];
    if head.is_empty() {
        return "none: empty file".to_owned();
    }
    if head.iter().all(|b| b.is_ascii_graphic()) {
        format!("{:?}", String::from_utf8_lossy(head))
    } else {
        head.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics() {
        assert_eq!(FileKind::from_magic(b"ZKLG\0\0\0\x02"), FileKind::ZkTxnLog);
        assert_eq!(
            FileKind::from_magic(b"\x82SNAPPY\0\0"),
            FileKind::SnappyJava
        );
        assert_eq!(FileKind::from_magic(b"WARRNWAL"), FileKind::WarrenWal);
        assert_eq!(FileKind::from_magic(b""), FileKind::Unknown);
        assert_eq!(describe_magic(b"ABCD"), "\"ABCD\"");
        assert_eq!(describe_magic(&[0, 1]), "0001");
    }
}
