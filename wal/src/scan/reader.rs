//! Reading a segment record by record: for replay (`read_from`) and for tools.
//!
//! Unlike verification, a reader has nothing to report but the records, so the first
//! bad frame ends it with a `Corrupt` error; a record it yields has passed the same
//! checks as at open. It can be limited to a prefix of the file, which is how replay of
//! the active segment never sees a record the writer is still writing.

use std::path::{Path, PathBuf};

use super::frame::{in_order, next_frame, Frame};
use super::window::Window;
use crate::error::{Result, WalError};
use crate::format::{decode_header, SegmentHeader, HEADER_LEN};

/// One record of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's sequence number (the zxid in Warren).
    pub seq: u64,
    /// The opaque bytes given to `append`.
    pub payload: Vec<u8>,
}

/// Iterates the records of one segment file with their offsets, for tools and replay.
///
/// Stops at the end-of-data marker. A bad record ends the iteration with one
/// `Err(WalError::Corrupt)` naming the file and offset; use [`verify_segment`] to find
/// every fault rather than the first.
///
/// [`verify_segment`]: crate::verify_segment
pub struct SegmentReader {
    win: Window,
    path: PathBuf,
    header: SegmentHeader,
    offset: u64,
    limit: u64,
    prev: Option<u64>,
    done: bool,
}

impl SegmentReader {
    /// Opens a segment file and checks its header.
    ///
    /// # Errors
    /// `Io` if the file cannot be read, `Corrupt` if its header is bad.
    pub fn open(path: &Path) -> Result<SegmentReader> {
        Self::open_limited(path, None)
    }

    /// Like `open`, reading no further than `limit` bytes: the writer's position in the
    /// active segment, so a concurrent append is never seen half-written.
    pub(crate) fn open_limited(path: &Path, limit: Option<u64>) -> Result<SegmentReader> {
        let (mut win, file_len) = Window::open(path)?;
        let head = win.get(0, HEADER_LEN as usize)?;
        let header = decode_header(head).map_err(|r| WalError::corrupt(path, 0, r))?;
        Ok(SegmentReader {
            win,
            path: path.to_path_buf(),
            header,
            offset: HEADER_LEN,
            limit: limit.map_or(file_len, |l| l.min(file_len)),
            prev: None,
            done: false,
        })
    }

    /// The verified header.
    pub fn header(&self) -> SegmentHeader {
        self.header
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Offset of the next frame to be read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn step(&mut self) -> Result<Option<(u64, Record)>> {
        let off = self.offset;
        match next_frame(&mut self.win, off, self.limit)? {
            Frame::End => Ok(None),
            Frame::Bad { reason, .. } => Err(WalError::corrupt(&self.path, off, reason)),
            Frame::Record {
                seq,
                payload_off,
                payload_len,
                next,
            } => {
                if !in_order(self.prev, self.header.first_seq, seq) {
                    return Err(WalError::corrupt(
                        &self.path,
                        off,
                        format!("seq {seq} out of order"),
                    ));
                }
                let payload = self.win.get(payload_off, payload_len)?.to_vec();
                self.prev = Some(seq);
                self.offset = next;
                Ok(Some((off, Record { seq, payload })))
            }
        }
    }
}

impl Iterator for SegmentReader {
    type Item = Result<(u64, Record)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Opens one segment file for reading; same as [`SegmentReader::open`].
///
/// # Errors
/// As [`SegmentReader::open`].
pub fn read_segment_file(path: &Path) -> Result<SegmentReader> {
    SegmentReader::open(path)
}
