//! Whole-segment and whole-directory verification.
//!
//! `Wal::open` and the tools run the same scan; they differ only in whether it stops at
//! the first fault (open, which refuses to start on it) or resynchronises where a bad
//! record's length can be trusted and goes on (tools, which want every fault). How a
//! segment's header must fit its directory (name, order) is checked by one function for
//! both, so a directory `verify_dir` calls clean is one `Wal::open` accepts.

use std::path::Path;

use super::frame::{in_order, next_frame, Frame};
use super::list_segments;
use super::report::{Fault, FaultKind, SegmentReport, VerifyReport};
use super::torn::classify;
use super::window::Window;
use crate::error::Result;
use crate::format::{decode_header, SegmentHeader, HEADER_LEN};

/// Verifies one segment file completely. `is_last` enables the torn-tail rule.
/// `keep_going` continues past corruption when the frame length allows resynchronising
/// (tools want every fault; `Wal::open` stops at the first).
///
/// # Errors
/// Only I/O errors; damage is reported in the returned report.
pub(crate) fn scan_segment(path: &Path, is_last: bool, keep_going: bool) -> Result<SegmentReport> {
    let (mut win, file_len) = Window::open(path)?;
    let mut report = SegmentReport::new(path, file_len);
    let head = win.get(0, HEADER_LEN as usize)?.to_vec();
    let header = match decode_header(&head) {
        Ok(h) => h,
        Err(reason) => {
            report.valid_end = 0;
            report.push_fault(0, HEADER_LEN, FaultKind::Corrupt, reason);
            return Ok(report);
        }
    };
    report.header = Some(header);
    scan_records(&mut win, &mut report, header.first_seq, is_last, keep_going)?;
    Ok(report)
}

/// The record part of [`scan_segment`]: every frame after the header, into `report`.
fn scan_records(
    win: &mut Window,
    report: &mut SegmentReport,
    first_seq: u64,
    is_last: bool,
    keep_going: bool,
) -> Result<()> {
    let file_len = report.file_len;
    let mut off = HEADER_LEN;
    let mut clean_so_far = true;
    loop {
        match next_frame(win, off, file_len)? {
            Frame::Record { seq, next, .. } => {
                if in_order(report.last_seq, first_seq, seq) {
                    report.records += 1;
                    report.first_seq.get_or_insert(seq);
                    report.last_seq = Some(seq);
                    if clean_so_far {
                        report.valid_end = next;
                    }
                } else {
                    let reason = out_of_order_reason(report.last_seq, first_seq, seq);
                    report.push_fault(off, next, FaultKind::Corrupt, reason);
                    clean_so_far = false;
                    if !keep_going {
                        break;
                    }
                }
                off = next;
            }
            Frame::End => {
                // Preallocated space must be all zeros: a zeroed length in the middle of
                // acknowledged data would otherwise silently hide the rest.
                if let Some(at) = win.first_nonzero(off, file_len)? {
                    report.push_fault(
                        off,
                        at,
                        FaultKind::Corrupt,
                        format!("end-of-data marker followed by non-zero bytes at offset {at}"),
                    );
                }
                break;
            }
            Frame::Bad {
                reason,
                extent_end,
                resync,
            } => {
                let (kind, why, end) =
                    classify(win, is_last, off, extent_end, file_len, report.last_seq)?;
                let reason = match why {
                    Some(why) => format!("{reason}; {why}"),
                    None => reason,
                };
                report.push_fault(off, end, kind, reason);
                clean_so_far = false;
                if kind == FaultKind::Corrupt && resync && keep_going {
                    off = extent_end;
                    continue;
                }
                break;
            }
        }
    }
    Ok(())
}

/// Why a record with `seq` may not follow `prev` in a segment starting at `first_seq`.
fn out_of_order_reason(prev: Option<u64>, first_seq: u64, seq: u64) -> String {
    match prev {
        None => format!("first record has seq {seq}, header says {first_seq}"),
        Some(prev) => format!("seq {seq} is not above the previous seq {prev}"),
    }
}

/// Faults in how a segment's header fits its directory: its first seq must match the
/// file's name (`name_seq`) and lie above `prev_last`, the last seq of the segments
/// before it. Name first, then order.
pub(crate) fn placement_faults(
    path: &Path,
    name_seq: u64,
    header: &SegmentHeader,
    prev_last: Option<u64>,
) -> Vec<Fault> {
    let mut faults = Vec::new();
    if header.first_seq != name_seq {
        faults.push(Fault::bad_header(
            path,
            format!(
                "header first seq {} does not match the file name",
                header.first_seq
            ),
        ));
    }
    if let Some(prev) = prev_last {
        if header.first_seq <= prev {
            faults.push(Fault::bad_header(
                path,
                format!(
                    "segment starts at seq {} but the previous segment reaches {prev}",
                    header.first_seq
                ),
            ));
        }
    }
    faults
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
            report
                .faults
                .extend(placement_faults(path, *name_seq, &h, prev_last));
        }
        if seg.last_seq.is_some() {
            prev_last = seg.last_seq;
        }
        report.faults.extend(seg.faults.iter().cloned());
        report.segments.push(seg);
    }
    Ok(report)
}
