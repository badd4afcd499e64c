//! Reading Warren's WAL segment files (`wal/wal-<016x first seq>.log`, layout in
//! docs/FORMATS.md) for the txnlog tools: the header, then frames of `u32 length, u32 CRC32,
//! u64 seq, payload` until an all-zero frame or the end of the file.
//!
//! The wal crate's own reader stops at the first bad record, as a server must. The tools
//! want to *show* a record whose checksum is wrong (flagged, as the ZooKeeper toolkit does)
//! and go on, so this module frames records itself and reports each one's checksum
//! verdict. What counts as damage is still decided by `warren_wal::verify_segment`, which
//! `txnlog verify` and `check` use.

use std::path::{Path, PathBuf};

use crate::detect::{describe_magic, WARREN_WAL_MAGIC};
use crate::error::ToolError;

/// Size of a segment header.
pub const HEADER_LEN: usize = warren_wal::HEADER_LEN as usize;
/// Size of a frame before its payload.
pub const FRAME_LEN: usize = warren_wal::FRAME_LEN as usize;

/// A segment's header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalHeader {
    /// Format version.
    pub version: u32,
    /// The seq of the segment's first record.
    pub first_seq: u64,
    /// Whether the header checksum matches.
    pub crc_ok: bool,
}

/// A whole segment file, in memory.
#[derive(Debug, Clone)]
pub struct WalFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Its header.
    pub header: WalHeader,
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// CRC32 of a frame: the length field, the seq and the payload.
pub fn frame_crc(body_len: u32, seq: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&body_len.to_le_bytes());
    h.update(&seq.to_le_bytes());
    h.update(payload);
    h.finalize()
}

impl WalFile {
    /// Reads a segment file and decodes its header.
    ///
    /// # Errors
    /// [`ToolError::Io`], [`ToolError::BadMagic`] for another kind of file,
    /// [`ToolError::Corrupt`] for a file shorter than a header.
    pub fn open(path: &Path) -> Result<WalFile, ToolError> {
        let bytes = std::fs::read(path).map_err(|e| ToolError::io(path, e))?;
        if !bytes.starts_with(&WARREN_WAL_MAGIC) {
            return Err(ToolError::BadMagic {
                path: path.to_owned(),
                expected: "Warren WAL segment",
                found: describe_magic(&bytes),
            });
        }
        if bytes.len() < HEADER_LEN {
            return Err(ToolError::corrupt(
                path,
                0,
                format!("file ends inside the {HEADER_LEN}-byte segment header"),
            ));
        }
        let header = WalHeader {
            version: le_u32(&bytes[8..12]),
            first_seq: le_u64(&bytes[16..24]),
            crc_ok: crc32fast::hash(&bytes[0..28]) == le_u32(&bytes[28..32]),
        };
        Ok(WalFile {
            path: path.to_owned(),
            bytes,
            header,
        })
    }

    /// The frames after the header, in file order; the last item is a [`WalScan::End`]
    /// or [`WalScan::Bad`].
    pub fn frames(&self) -> Frames<'_> {
        Frames {
            bytes: &self.bytes,
            pos: HEADER_LEN,
            done: false,
        }
    }
}

/// One record frame whose length could be trusted.
#[derive(Debug, Clone, Copy)]
pub struct WalEntry<'a> {
    /// Offset of the frame in the file.
    pub offset: u64,
    /// The record's seq (the zxid).
    pub seq: u64,
    /// The payload: a ZooKeeper txn (header, record, maybe a digest).
    pub payload: &'a [u8],
    /// The checksum as stored.
    pub stored_crc: u32,
    /// The checksum of the bytes.
    pub computed_crc: u32,
}

impl WalEntry<'_> {
    /// Whether the stored checksum matches.
    pub fn crc_ok(&self) -> bool {
        self.stored_crc == self.computed_crc
    }

    /// Offset of the byte after the frame.
    pub fn end(&self) -> u64 {
        self.offset + (FRAME_LEN + self.payload.len()) as u64
    }
}

/// One step of a scan.
#[derive(Debug, Clone)]
pub enum WalScan<'a> {
    /// A frame (its checksum may be wrong).
    Entry(WalEntry<'a>),
    /// The end of the data: an all-zero frame or the end of the file.
    End { offset: u64 },
    /// A frame whose length cannot be trusted: nothing after it can be framed.
    Bad { offset: u64, reason: String },
}

/// Iterator over a segment's frames.
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    bytes: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Iterator for Frames<'a> {
    type Item = WalScan<'a>;

    fn next(&mut self) -> Option<WalScan<'a>> {
        if self.done {
            return None;
        }
        self.done = true;
        let at = self.pos;
        let offset = at as u64;
        let left = self.bytes.len().saturating_sub(at);
        let head = &self.bytes[at.min(self.bytes.len())..at + left.min(FRAME_LEN)];
        if left < FRAME_LEN {
            if head.iter().all(|&b| b == 0) {
                return Some(WalScan::End { offset });
            }
            return Some(WalScan::Bad {
                offset,
                reason: format!("partial frame header: {left} of {FRAME_LEN} bytes"),
            });
        }
        let body_len = le_u32(head);
        if body_len == 0 {
            if head.iter().all(|&b| b == 0) {
                return Some(WalScan::End { offset });
            }
            return Some(WalScan::Bad {
                offset,
                reason: "zero length but non-zero frame bytes".into(),
            });
        }
        let max = warren_wal::MAX_PAYLOAD as u64 + 8;
        if body_len < 8 || u64::from(body_len) > max {
            return Some(WalScan::Bad {
                offset,
                reason: format!("implausible record length {body_len}"),
            });
        }
        let payload_len = body_len as usize - 8;
        if left < FRAME_LEN + payload_len {
            return Some(WalScan::Bad {
                offset,
                reason: format!(
                    "record of {} bytes runs past the end of the file ({left} bytes left)",
                    FRAME_LEN + payload_len
                ),
            });
        }
        let stored_crc = le_u32(&head[4..8]);
        let seq = le_u64(&head[8..16]);
        let payload = &self.bytes[at + FRAME_LEN..at + FRAME_LEN + payload_len];
        self.pos = at + FRAME_LEN + payload_len;
        self.done = false;
        Some(WalScan::Entry(WalEntry {
            offset,
            seq,
            payload,
            stored_crc,
            computed_crc: frame_crc(body_len, seq, payload),
        }))
    }
}

/// Whether `dir` holds Warren WAL segments, directly or in a `wal/` subdirectory (a data
/// dir); returns the directory that holds them.
pub fn warren_wal_dir(dir: &Path) -> Option<PathBuf> {
    [dir.to_owned(), dir.join("wal")]
        .into_iter()
        .find(|d| warren_wal::list_segments(d).is_ok_and(|s| !s.is_empty()))
}

/// The segments of a wal dir in seq order.
///
/// # Errors
/// [`ToolError::Wal`] when the directory cannot be listed; [`ToolError::Usage`] when it
/// holds no segment.
pub fn segments(dir: &Path) -> Result<Vec<PathBuf>, ToolError> {
    let segs = warren_wal::list_segments(dir)?;
    if segs.is_empty() {
        return Err(ToolError::Usage(format!(
            "{}: no wal-*.log segments in this directory",
            dir.display()
        )));
    }
    Ok(segs.into_iter().map(|(_, p)| p).collect())
}

/// The faults of a wal verification that are damage in their own right. After a bad
/// record, the wal crate's scan resumes at the next frame without a previous seq, so each
/// later record of that segment is also reported as "first record has seq N, header says
/// M" (N > M); those follow from the first fault and are left out here.
pub fn own_faults(report: &warren_wal::VerifyReport) -> Vec<warren_wal::Fault> {
    let mut out: Vec<warren_wal::Fault> = Vec::new();
    for f in &report.faults {
        let follows = f.reason.starts_with("first record has seq")
            && out.iter().any(|e| e.file == f.file && e.offset < f.offset);
        if !follows {
            out.push(f.clone());
        }
    }
    out
}
