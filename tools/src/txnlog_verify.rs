//! `txnlog verify`: checks every entry of ZooKeeper txn logs (checksum, end marker, framing,
//! that the txn decodes, that zxids go up) and reports each bad record with its file and
//! offset. The caller turns a non-empty report into a non-zero exit.

use std::fmt::LowerHex;
use std::io::Write;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::ToolError;
use crate::txnfmt::decode_txn;
use crate::zklog::{expand_log_paths, LogEnd, RawEntry, Scan, ZkLog};

/// One bad record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// Offset of the entry (or of the damage, for framing problems).
    pub offset: u64,
    pub reason: String,
}

/// What `verify` found in all the files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Txns whose framing could be read.
    pub txns: usize,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Records a bad record of `file` at `offset`, adding its report line to `text`.
    fn add(&mut self, text: &mut String, file: &Path, offset: u64, reason: String) {
        text.push_str(&format!("{}: offset {offset}: {reason}\n", file.display()));
        self.problems.push(Problem {
            file: file.to_owned(),
            offset,
            reason,
        });
    }
}

/// Prints the report as the files are verified, above a progress bar over their bytes (on
/// stderr, drawn only when it is a terminal).
struct Printer<'a> {
    bar: ProgressBar,
    out: &'a mut dyn Write,
}

impl<'a> Printer<'a> {
    /// A printer for files of `total` bytes in all.
    fn new(total: u64, out: &'a mut dyn Write) -> Printer<'a> {
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes}") {
            bar.set_style(style);
        }
        Printer { bar, out }
    }

    /// Shows that `file` is being verified.
    fn start(&self, file: &Path) {
        self.bar.set_message(file.display().to_string());
    }

    /// Prints `text` above the bar.
    fn print(&mut self, text: &str) -> Result<(), ToolError> {
        let out = &mut *self.out;
        self.bar
            .suspend(|| out.write_all(text.as_bytes()))
            .map_err(ToolError::Output)
    }

    /// Ends the report of `file`, `bytes` long: its lines so far (`text`), then a summary
    /// of the `txns` read, the `range` of their zxids and the count of `bad` records.
    fn file_done<Z: LowerHex>(
        &mut self,
        mut text: String,
        file: &Path,
        txns: u64,
        range: Option<(Z, Z)>,
        bad: usize,
        bytes: u64,
    ) -> Result<(), ToolError> {
        let range = match range {
            Some((a, b)) => format!(", zxid {a:#x} to {b:#x}"),
            None => String::new(),
        };
        let verdict = if bad == 0 {
            "ok".to_owned()
        } else {
            format!("{bad} bad")
        };
        text.push_str(&format!(
            "{}: {txns} txns{range}: {verdict}\n",
            file.display()
        ));
        self.bar.inc(bytes);
        self.print(&text)
    }

    fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// Verifies `path` (a log or a directory of logs), printing one line per problem and one
/// summary line per file to `out`, with a progress bar on stderr when it is a terminal.
///
/// # Errors
/// [`ToolError::Io`]/[`ToolError::BadMagic`] for a file that cannot be read as a txn log,
/// [`ToolError::Output`] when writing fails. Damage inside a log is not an error here: it
/// is in the report.
pub fn verify(path: &Path, out: &mut dyn Write) -> Result<VerifyReport, ToolError> {
    let files = expand_log_paths(path)?;
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    let mut printer = Printer::new(total, out);
    let mut report = VerifyReport::default();
    let mut last_zxid: Option<(i64, PathBuf)> = None;
    for f in &files {
        printer.start(f);
        let before = report.problems.len();
        let log = ZkLog::open(f)?;
        let mut text = String::new();
        let mut bad = |offset: u64, reason: String| report.add(&mut text, f, offset, reason);
        let (n, range) = verify_log(&log, f, &mut last_zxid, &mut bad);
        report.txns += n;
        let found = report.problems.len() - before;
        printer.file_done(text, f, n as u64, range, found, log.bytes.len() as u64)?;
    }
    printer.finish();
    Ok(report)
}

/// A problem of the file being verified, at an offset, for [`VerifyReport::add`].
type Bad<'a> = dyn FnMut(u64, String) + 'a;

/// Checks the header and every entry of `log` (file `f`), passing each problem to `bad`.
/// An entry whose end marker is wrong ends the check, as its length cannot be trusted and
/// nothing after it can be framed. `last_zxid` (with its file) carries the zxid order
/// across files. Returns the entries read and the range of their zxids.
fn verify_log(
    log: &ZkLog,
    f: &Path,
    last_zxid: &mut Option<(i64, PathBuf)>,
    bad: &mut Bad<'_>,
) -> (usize, Option<(i64, i64)>) {
    let mut n = 0usize;
    let mut first: Option<i64> = None;
    let mut last: Option<i64> = None;
    if log.header.version != 2 {
        bad(
            4,
            format!("unknown txn log format version {}", log.header.version),
        );
    }
    for item in log.entries() {
        let e = match item {
            Scan::Entry(e) => e,
            Scan::End(LogEnd::Truncated { offset, reason }) => {
                bad(offset, format!("truncated entry: {reason}"));
                break;
            }
            Scan::End(_) => break,
        };
        n += 1;
        let zxid = e.txn_header().ok().map(|(h, _)| h.zxid);
        let which = zxid.map_or_else(String::new, |z| format!(" (zxid {z:#x})"));
        if !e.crc_ok() {
            bad(
                e.offset,
                format!(
                    "checksum mismatch{which}: stored {:#x}, computed {:#x}",
                    e.stored_crc,
                    e.computed_crc()
                ),
            );
        }
        if !e.eor_ok() {
            bad(
                e.end() - 1,
                format!(
                    "entry at offset {} ends with byte {:#04x}, not 'B'; cannot read further",
                    e.offset, e.eor
                ),
            );
            break;
        }
        if let Some(z) = verify_txn(&e, f, &which, last_zxid, bad) {
            first.get_or_insert(z);
            last = Some(z);
        }
    }
    (n, first.zip(last))
}

/// Checks the txn inside entry `e` of file `f` (`which` names its zxid in messages): that
/// its header and record decode and that its zxid follows `last_zxid`, which it then
/// becomes. Returns its zxid when the header decodes.
fn verify_txn(
    e: &RawEntry<'_>,
    f: &Path,
    which: &str,
    last_zxid: &mut Option<(i64, PathBuf)>,
    bad: &mut Bad<'_>,
) -> Option<i64> {
    let (h, rest) = match e.txn_header() {
        Err(err) => {
            bad(e.offset, format!("txn header does not decode: {err}"));
            return None;
        }
        Ok(x) => x,
    };
    if let Err(err) = decode_txn(h.txn_type, rest) {
        bad(e.offset, format!("txn{which} does not decode: {err}"));
    }
    if let Some((prev, prev_file)) = &*last_zxid {
        if h.zxid <= *prev {
            let where_ = if prev_file == f {
                String::new()
            } else {
                format!(" in {}", prev_file.display())
            };
            bad(
                e.offset,
                format!("zxid {:#x} does not follow zxid {prev:#x}{where_}", h.zxid),
            );
        }
    }
    *last_zxid = Some((h.zxid, f.to_owned()));
    Some(h.zxid)
}

/// Verifies Warren WAL segments: a whole wal dir (`dir`), or the `files` given. The
/// framing, checksums and seq order are checked by the wal crate's own verifier (the code
/// the server runs at start-up); on top, every good record must decode as a txn whose
/// zxid is the record's seq. Prints one line per fault and one summary line per segment. A
/// torn tail (a crash mid-write in the newest segment, which the server truncates at
/// start-up) is printed as a warning and does not count as damage.
///
/// # Errors
/// [`ToolError::Wal`] when a file cannot be read, [`ToolError::Output`] when writing fails.
pub fn verify_warren(
    dir: Option<&Path>,
    files: &[PathBuf],
    out: &mut dyn Write,
) -> Result<VerifyReport, ToolError> {
    let wal_report = match dir {
        Some(d) => warren_wal::verify_dir(d)?,
        None => {
            let mut r = warren_wal::VerifyReport::default();
            for (i, f) in files.iter().enumerate() {
                let seg = warren_wal::verify_segment(f, i + 1 == files.len())?;
                r.faults.extend(seg.faults.iter().cloned());
                r.segments.push(seg);
            }
            r
        }
    };
    let faults = crate::walfile::own_faults(&wal_report);
    let total: u64 = wal_report.segments.iter().map(|s| s.file_len).sum();
    let mut printer = Printer::new(total, out);
    let mut report = VerifyReport::default();
    for seg in &wal_report.segments {
        printer.start(&seg.path);
        let before = report.problems.len();
        let mut text = String::new();
        for fault in faults.iter().filter(|f| f.file == seg.path) {
            match fault.kind {
                warren_wal::FaultKind::TornTail => text.push_str(&format!(
                    "{}: offset {}: warning: torn tail (the server truncates it at start-up): {}\n",
                    fault.file.display(),
                    fault.offset,
                    fault.reason
                )),
                warren_wal::FaultKind::Corrupt => {
                    report.add(&mut text, &fault.file, fault.offset, fault.reason.clone());
                }
            }
        }
        // Decode every good record's payload.
        if let Ok(file) = crate::walfile::WalFile::open(&seg.path) {
            for item in file.frames() {
                let crate::walfile::WalScan::Entry(e) = item else {
                    break;
                };
                if !e.crc_ok() {
                    continue;
                }
                let problem = match warren_proto::txn::LoggedTxn::decode(e.payload) {
                    Err(err) => Some(format!("txn (seq {:#x}) does not decode: {err}", e.seq)),
                    Ok(t) if t.header.zxid as u64 != e.seq => Some(format!(
                        "txn zxid {:#x} differs from the record's seq {:#x}",
                        t.header.zxid, e.seq
                    )),
                    Ok(_) => None,
                };
                if let Some(reason) = problem {
                    report.add(&mut text, &seg.path, e.offset, reason);
                }
            }
        }
        report.txns += seg.records as usize;
        let bad = report.problems.len() - before;
        let range = seg.first_seq.zip(seg.last_seq);
        printer.file_done(text, &seg.path, seg.records, range, bad, seg.file_len)?;
    }
    // Faults not tied to one segment's scan (ordering between segments) are in the list too.
    for fault in &faults {
        if !wal_report.segments.iter().any(|s| s.path == fault.file) {
            let mut line = String::new();
            report.add(&mut line, &fault.file, fault.offset, fault.reason.clone());
            printer.print(&line)?;
        }
    }
    printer.finish();
    Ok(report)
}
