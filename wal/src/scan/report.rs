//! What verification finds, in a form both the server and the tools can use.
//!
//! A fault carries enough to act on without re-reading the file: where it starts, where
//! the bad region ends (what open zeroes for a torn tail), and whether it is a torn tail
//! at all. `Wal::open` turns the first one into its error; tools list them all.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::WalError;
use crate::format::{SegmentHeader, HEADER_LEN};

/// Whether a fault stops at a torn write or is real damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// A partial or bad final record in the last segment, followed only by zeros or end
    /// of file: what a crash during a write leaves. `Wal::open` zeroes it.
    TornTail,
    /// Anything else. `Wal::open` refuses to start.
    Corrupt,
}

/// One bad header or record found by verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The segment file.
    pub file: PathBuf,
    /// Byte offset of the bad header (0) or record frame.
    pub offset: u64,
    /// End of the bad region: for a torn tail, just past its last non-zero byte (open
    /// zeroes `offset..end`); otherwise where the bad frame claims to end, clamped to the
    /// file.
    pub end: u64,
    /// Torn tail or corruption.
    pub kind: FaultKind,
    /// What is wrong.
    pub reason: String,
}

impl Fault {
    /// The fault as the error `Wal::open` returns for it.
    pub fn to_error(&self) -> WalError {
        WalError::corrupt(&self.file, self.offset, &self.reason)
    }

    /// Corruption of the header of `file`.
    pub(crate) fn bad_header(file: &Path, reason: String) -> Fault {
        Fault {
            file: file.to_path_buf(),
            offset: 0,
            end: HEADER_LEN,
            kind: FaultKind::Corrupt,
            reason,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            FaultKind::TornTail => "torn tail",
            FaultKind::Corrupt => "corrupt",
        };
        write!(
            f,
            "{}: offset {}: {kind}: {}",
            self.file.display(),
            self.offset,
            self.reason
        )
    }
}

/// The result of verifying one segment file.
#[derive(Debug, Clone)]
pub struct SegmentReport {
    /// The segment file.
    pub path: PathBuf,
    /// Its header, if it verified.
    pub header: Option<SegmentHeader>,
    /// Records whose checksum verified.
    pub records: u64,
    /// Seq of the first good record.
    pub first_seq: Option<u64>,
    /// Seq of the last good record.
    pub last_seq: Option<u64>,
    /// Offset just past the last good record before the first fault (or the end marker):
    /// where a writer would continue.
    pub valid_end: u64,
    /// File size in bytes (including preallocated space).
    pub file_len: u64,
    /// Every fault found, in file order.
    pub faults: Vec<Fault>,
}

impl SegmentReport {
    /// The report of a segment not yet scanned past its header.
    pub(crate) fn new(path: &Path, file_len: u64) -> SegmentReport {
        SegmentReport {
            path: path.to_path_buf(),
            header: None,
            records: 0,
            first_seq: None,
            last_seq: None,
            valid_end: HEADER_LEN,
            file_len,
            faults: Vec::new(),
        }
    }

    /// Records a fault in this segment.
    pub(crate) fn push_fault(&mut self, offset: u64, end: u64, kind: FaultKind, reason: String) {
        self.faults.push(Fault {
            file: self.path.clone(),
            offset,
            end,
            kind,
            reason,
        });
    }
}

/// The result of verifying a whole wal directory.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// One report per segment, in seq order.
    pub segments: Vec<SegmentReport>,
    /// Every fault of every segment, plus ordering faults between segments.
    pub faults: Vec<Fault>,
}

impl VerifyReport {
    /// True when no fault of any kind was found.
    pub fn is_clean(&self) -> bool {
        self.faults.is_empty()
    }

    /// Total number of good records.
    pub fn records(&self) -> u64 {
        self.segments.iter().map(|s| s.records).sum()
    }

    /// Highest good seq.
    pub fn last_seq(&self) -> Option<u64> {
        self.segments.iter().filter_map(|s| s.last_seq).max()
    }
}
