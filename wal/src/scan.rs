//! Reading and verifying segment files: shared by `Wal::open`, replay and offline tools.
//!
//! One parser, [`next_frame`], decides what every offset of a segment holds. The open
//! path, `read_from`, [`SegmentReader`] and [`verify_dir`] all go through it, so the tools
//! can never disagree with the server about which bytes are good.
//!
//! The torn-tail rule lives here too ([`classify`]): a bad frame in the *last* segment is
//! a torn tail when nothing but zero bytes follows the extent the frame claims; anything
//! else is corruption.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Result, WalError};
use crate::format::{
    decode_header, le_u32, le_u64, parse_segment_file_name, record_crc, SegmentHeader, FRAME_LEN,
    HEADER_LEN, MAX_PAYLOAD, MIN_BODY_LEN,
};

/// One record of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's sequence number (the zxid in Warren).
    pub seq: u64,
    /// The opaque bytes given to `append`.
    pub payload: Vec<u8>,
}

/// Read size for scans: large enough that verifying a 64 MiB segment is a few dozen
/// syscalls, small enough to keep replay memory flat.
const WINDOW: usize = 1 << 20;

/// A cached window over a file, so frame-by-frame parsing costs no syscall per record
/// yet can still jump back (to resynchronise after a bad record).
pub(crate) struct Window {
    file: File,
    path: PathBuf,
    buf: Vec<u8>,
    start: u64,
}

impl Window {
    pub(crate) fn new(file: File, path: PathBuf) -> Self {
        Window {
            file,
            path,
            buf: Vec::new(),
            start: 0,
        }
    }

    /// Up to `n` bytes at `off`; fewer only at end of file.
    pub(crate) fn get(&mut self, off: u64, n: usize) -> Result<&[u8]> {
        let have_end = self.start + self.buf.len() as u64;
        if off < self.start || off + n as u64 > have_end {
            self.buf.resize(n.max(WINDOW), 0);
            let mut filled = 0;
            while filled < self.buf.len() {
                match self
                    .file
                    .read_at(&mut self.buf[filled..], off + filled as u64)
                {
                    Ok(0) => break,
                    Ok(k) => filled += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(WalError::io("read", &self.path, e)),
                }
            }
            self.buf.truncate(filled);
            self.start = off;
        }
        let from = (off - self.start) as usize;
        let to = (from + n).min(self.buf.len());
        Ok(&self.buf[from.min(to)..to])
    }

    /// Offset of the first non-zero byte in `[from, limit)`, if any.
    pub(crate) fn first_nonzero(&mut self, from: u64, limit: u64) -> Result<Option<u64>> {
        self.nonzero(from, limit, false)
    }

    /// Offset of the last non-zero byte in `[from, limit)`, if any.
    pub(crate) fn last_nonzero(&mut self, from: u64, limit: u64) -> Result<Option<u64>> {
        self.nonzero(from, limit, true)
    }

    fn nonzero(&mut self, from: u64, limit: u64, want_last: bool) -> Result<Option<u64>> {
        let mut found = None;
        let mut off = from;
        while off < limit {
            let want = ((limit - off) as usize).min(WINDOW);
            let chunk = self.get(off, want)?;
            if chunk.is_empty() {
                break;
            }
            // Comparing whole blocks with a zero block is a memcmp: fast even unoptimised.
            for (i, block) in chunk.chunks(ZEROS.len()).enumerate() {
                if block == &ZEROS[..block.len()] {
                    continue;
                }
                let base = off + (i * ZEROS.len()) as u64;
                if want_last {
                    let pos = block.iter().rposition(|&b| b != 0).unwrap_or(0);
                    found = Some(base + pos as u64);
                } else {
                    let pos = block.iter().position(|&b| b != 0).unwrap_or(0);
                    return Ok(Some(base + pos as u64));
                }
            }
            off += chunk.len() as u64;
        }
        Ok(found)
    }
}

static ZEROS: [u8; 4096] = [0; 4096];

/// What one offset of a segment holds.
pub(crate) enum Frame {
    /// A record whose checksum verifies.
    Record {
        seq: u64,
        payload_off: u64,
        payload_len: usize,
        next: u64,
    },
    /// End of written data: end of file or an all-zero frame.
    End,
    /// A frame that fails verification. `extent_end` is where the frame claims to end
    /// (clamped to the file); `resync` says whether the next frame can be trusted to
    /// start there (only when the length field is plausible).
    Bad {
        reason: String,
        extent_end: u64,
        resync: bool,
    },
}

/// Parses the frame at `off`, reading no further than `limit`.
pub(crate) fn next_frame(win: &mut Window, off: u64, limit: u64) -> Result<Frame> {
    if off >= limit {
        return Ok(Frame::End);
    }
    let avail = ((limit - off) as usize).min(FRAME_LEN as usize);
    let head = win.get(off, avail)?;
    if head.len() < FRAME_LEN as usize {
        if head.iter().all(|&b| b == 0) {
            return Ok(Frame::End);
        }
        return Ok(Frame::Bad {
            reason: format!(
                "partial frame header: {} of {FRAME_LEN} bytes before end of data",
                head.len()
            ),
            extent_end: limit,
            resync: false,
        });
    }
    let body_len = le_u32(&head[0..4]);
    let stored_crc = le_u32(&head[4..8]);
    let seq = le_u64(&head[8..16]);
    if body_len == 0 {
        if head.iter().all(|&b| b == 0) {
            return Ok(Frame::End);
        }
        return Ok(Frame::Bad {
            reason: "zero length but non-zero frame bytes".into(),
            extent_end: off + FRAME_LEN,
            resync: false,
        });
    }
    if body_len < MIN_BODY_LEN || (body_len - MIN_BODY_LEN) as usize > MAX_PAYLOAD {
        return Ok(Frame::Bad {
            reason: format!("implausible record length {body_len}"),
            extent_end: off + FRAME_LEN,
            resync: false,
        });
    }
    let next = off + 8 + u64::from(body_len);
    if next > limit {
        return Ok(Frame::Bad {
            reason: format!(
                "record of {} bytes runs past end of data at {limit}",
                8 + u64::from(body_len)
            ),
            extent_end: limit,
            resync: false,
        });
    }
    let payload_len = (body_len - MIN_BODY_LEN) as usize;
    let payload_off = off + FRAME_LEN;
    let payload = win.get(payload_off, payload_len)?;
    if payload.len() != payload_len {
        return Ok(Frame::Bad {
            reason: "file shrank while reading".into(),
            extent_end: limit,
            resync: false,
        });
    }
    let actual = record_crc(body_len, seq, payload);
    if actual != stored_crc {
        return Ok(Frame::Bad {
            reason: format!(
                "record checksum mismatch (stored {stored_crc:08x}, computed {actual:08x})"
            ),
            extent_end: next,
            resync: true,
        });
    }
    Ok(Frame::Record {
        seq,
        payload_off,
        payload_len,
        next,
    })
}

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

/// Upper bound on payload bytes checksummed while looking for valid records inside a
/// bad frame's claimed extent. Past it the fault is reported as corruption: refusing to
/// start is recoverable, silently dropping acknowledged records is not.
const RESYNC_BUDGET: usize = 256 << 20;

/// Decides torn tail versus corruption for a bad frame at `offset` claiming to end at
/// `extent_end`. Torn only in the last segment, only if zeros (or EOF) follow the
/// extent, and only if no valid record starts inside it: a damaged length that
/// overshoots the rest of the data would otherwise hide acknowledged records.
fn classify(
    win: &mut Window,
    is_last: bool,
    offset: u64,
    extent_end: u64,
    file_len: u64,
    prev_seq: Option<u64>,
) -> Result<(FaultKind, Option<String>, u64)> {
    if !is_last {
        return Ok((FaultKind::Corrupt, None, extent_end));
    }
    if let Some(at) = win.first_nonzero(extent_end, file_len)? {
        return Ok((
            FaultKind::Corrupt,
            Some(format!("non-zero data follows at offset {at}")),
            extent_end,
        ));
    }
    // A valid frame has a non-zero length, so it starts before the last non-zero byte;
    // and a torn tail only needs zeroing up to that byte, not to the end of the
    // preallocated space.
    let data_end = match win.last_nonzero(offset, extent_end.min(file_len))? {
        Some(last) => last + 1,
        None => return Ok((FaultKind::TornTail, None, offset)),
    };
    let mut budget = RESYNC_BUDGET;
    for y in offset + 1..data_end {
        let head = win.get(y, FRAME_LEN as usize)?;
        if head.len() < FRAME_LEN as usize {
            break;
        }
        let body_len = le_u32(&head[0..4]);
        let seq = le_u64(&head[8..16]);
        // Cheap filters first: a plausible length that fits, and a seq that could follow.
        if body_len < MIN_BODY_LEN
            || (body_len - MIN_BODY_LEN) as usize > MAX_PAYLOAD
            || y + 8 + u64::from(body_len) > file_len
            || prev_seq.is_some_and(|p| seq <= p)
        {
            continue;
        }
        let cost = (body_len - MIN_BODY_LEN) as usize;
        if cost > budget {
            return Ok((
                FaultKind::Corrupt,
                Some("too much data after it to rule out valid records".into()),
                extent_end,
            ));
        }
        budget -= cost;
        if let Frame::Record { .. } = next_frame(win, y, file_len)? {
            return Ok((
                FaultKind::Corrupt,
                Some(format!("a valid record follows at offset {y}")),
                extent_end,
            ));
        }
    }
    Ok((FaultKind::TornTail, None, data_end))
}

pub(crate) fn open_read(path: &Path) -> Result<(File, u64)> {
    let file = File::open(path).map_err(|e| WalError::io("open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| WalError::io("stat", path, e))?
        .len();
    Ok((file, len))
}

/// Verifies one segment file completely. `is_last` enables the torn-tail rule.
/// `keep_going` continues past corruption when the frame length allows resynchronising
/// (tools want every fault; `Wal::open` stops at the first).
///
/// # Errors
/// Only I/O errors; damage is reported in the returned report.
pub(crate) fn scan_segment(path: &Path, is_last: bool, keep_going: bool) -> Result<SegmentReport> {
    let (file, file_len) = open_read(path)?;
    let mut win = Window::new(file, path.to_path_buf());
    let mut report = SegmentReport {
        path: path.to_path_buf(),
        header: None,
        records: 0,
        first_seq: None,
        last_seq: None,
        valid_end: HEADER_LEN,
        file_len,
        faults: Vec::new(),
    };
    let fault = |offset: u64, end: u64, kind: FaultKind, reason: String| Fault {
        file: path.to_path_buf(),
        offset,
        end,
        kind,
        reason,
    };
    let head = win.get(0, HEADER_LEN as usize)?.to_vec();
    let header = match decode_header(&head) {
        Ok(h) => h,
        Err(reason) => {
            report.valid_end = 0;
            report
                .faults
                .push(fault(0, HEADER_LEN, FaultKind::Corrupt, reason));
            return Ok(report);
        }
    };
    report.header = Some(header);
    let mut off = HEADER_LEN;
    let mut clean_so_far = true;
    loop {
        match next_frame(&mut win, off, file_len)? {
            Frame::Record { seq, next, .. } => {
                let expected_ok = match report.last_seq {
                    None => seq == header.first_seq,
                    Some(prev) => seq > prev,
                };
                if !expected_ok {
                    let reason = match report.last_seq {
                        None => format!(
                            "first record has seq {seq}, header says {}",
                            header.first_seq
                        ),
                        Some(prev) => format!("seq {seq} is not above the previous seq {prev}"),
                    };
                    report
                        .faults
                        .push(fault(off, next, FaultKind::Corrupt, reason));
                    clean_so_far = false;
                    if !keep_going {
                        break;
                    }
                } else {
                    report.records += 1;
                    report.first_seq.get_or_insert(seq);
                    report.last_seq = Some(seq);
                    if clean_so_far {
                        report.valid_end = next;
                    }
                }
                off = next;
            }
            Frame::End => {
                // Preallocated space must be all zeros: a zeroed length in the middle of
                // acknowledged data would otherwise silently hide the rest.
                if let Some(at) = win.first_nonzero(off, file_len)? {
                    report.faults.push(fault(
                        off,
                        at,
                        FaultKind::Corrupt,
                        format!("end-of-data marker followed by non-zero bytes at offset {at}"),
                    ));
                }
                break;
            }
            Frame::Bad {
                reason,
                extent_end,
                resync,
            } => {
                let (kind, why, end) = classify(
                    &mut win,
                    is_last,
                    off,
                    extent_end,
                    file_len,
                    report.last_seq,
                )?;
                let reason = match why {
                    Some(why) => format!("{reason}; {why}"),
                    None => reason,
                };
                report.faults.push(fault(off, end, kind, reason));
                clean_so_far = false;
                if kind == FaultKind::Corrupt && resync && keep_going {
                    off = extent_end;
                    continue;
                }
                break;
            }
        }
    }
    Ok(report)
}

/// Segment files of `dir`, sorted by first seq. Other files are ignored.
///
/// # Errors
/// The directory cannot be listed.
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let rd = fs::read_dir(dir).map_err(|e| WalError::io("list directory", dir, e))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| WalError::io("list directory", dir, e))?;
        let name = entry.file_name();
        if let Some(seq) = name.to_str().and_then(parse_segment_file_name) {
            out.push((seq, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Verifies one segment file without opening the log, reporting every bad record it can
/// reach. `is_last` applies the torn-tail rule (use `true` for the newest segment of a
/// directory).
///
/// # Errors
/// Only I/O errors (unreadable file); damage is reported in the returned report.
pub fn verify_segment(path: &Path, is_last: bool) -> Result<SegmentReport> {
    scan_segment(path, is_last, true)
}

/// Verifies every segment of a wal directory read-only, without taking the writer lock:
/// safe to run beside a live server (the active segment may then show its in-flight tail
/// as torn). Also checks that segments' seqs increase across files and that each header
/// matches its file name.
///
/// # Errors
/// Only I/O errors (missing or unreadable directory or file); damage is reported in the
/// returned report.
pub fn verify_dir(dir: &Path) -> Result<VerifyReport> {
    let segs = list_segments(dir)?;
    let mut report = VerifyReport::default();
    let mut prev_last: Option<u64> = None;
    for (i, (name_seq, path)) in segs.iter().enumerate() {
        let seg = verify_segment(path, i + 1 == segs.len())?;
        if let Some(h) = seg.header {
            if h.first_seq != *name_seq {
                report.faults.push(Fault {
                    file: path.clone(),
                    offset: 0,
                    end: HEADER_LEN,
                    kind: FaultKind::Corrupt,
                    reason: format!(
                        "header first seq {} does not match the file name",
                        h.first_seq
                    ),
                });
            }
            if let Some(prev) = prev_last {
                if h.first_seq <= prev {
                    report.faults.push(Fault {
                        file: path.clone(),
                        offset: 0,
                        end: HEADER_LEN,
                        kind: FaultKind::Corrupt,
                        reason: format!(
                            "segment starts at seq {} but the previous segment reaches {prev}",
                            h.first_seq
                        ),
                    });
                }
            }
        }
        if seg.last_seq.is_some() {
            prev_last = seg.last_seq;
        }
        report.faults.extend(seg.faults.iter().cloned());
        report.segments.push(seg);
    }
    Ok(report)
}

/// Iterates the records of one segment file with their offsets, for tools and replay.
///
/// Stops at the end-of-data marker. A bad record ends the iteration with one
/// `Err(WalError::Corrupt)` naming the file and offset; use [`verify_segment`] to find
/// every fault rather than the first.
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
        let (file, file_len) = open_read(path)?;
        let mut win = Window::new(file, path.to_path_buf());
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
                let ordered = match self.prev {
                    None => seq == self.header.first_seq,
                    Some(p) => seq > p,
                };
                if !ordered {
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

/// Recomputes and rewrites the checksum of the record frame at `offset`, for a
/// `txnlog recover` tool that has decided the payload is right and the checksum wrong.
/// Returns `(old, new)` checksums. The file is fsynced. Never use on a live log.
///
/// # Errors
/// `Io` on read/write failure; `Corrupt` if the frame's length field is implausible (the
/// record cannot be delimited, so no checksum can be computed for it).
pub fn rewrite_record_checksum(path: &Path, offset: u64) -> Result<(u32, u32)> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| WalError::io("open", path, e))?;
    let file_len = file
        .metadata()
        .map_err(|e| WalError::io("stat", path, e))?
        .len();
    let mut head = [0u8; FRAME_LEN as usize];
    if offset < HEADER_LEN || offset + FRAME_LEN > file_len {
        return Err(WalError::corrupt(
            path,
            offset,
            "no record frame at this offset",
        ));
    }
    file.read_exact_at(&mut head, offset)
        .map_err(|e| WalError::io("read", path, e))?;
    let body_len = le_u32(&head[0..4]);
    if body_len < MIN_BODY_LEN
        || (body_len - MIN_BODY_LEN) as usize > MAX_PAYLOAD
        || offset + 8 + u64::from(body_len) > file_len
    {
        return Err(WalError::corrupt(
            path,
            offset,
            format!("implausible record length {body_len}"),
        ));
    }
    let old = le_u32(&head[4..8]);
    let seq = le_u64(&head[8..16]);
    let mut payload = vec![0u8; (body_len - MIN_BODY_LEN) as usize];
    file.read_exact_at(&mut payload, offset + FRAME_LEN)
        .map_err(|e| WalError::io("read", path, e))?;
    let new = record_crc(body_len, seq, &payload);
    file.write_all_at(&new.to_le_bytes(), offset + 4)
        .map_err(|e| WalError::io("write", path, e))?;
    file.sync_data()
        .map_err(|e| WalError::io("fsync", path, e))?;
    Ok((old, new))
}
