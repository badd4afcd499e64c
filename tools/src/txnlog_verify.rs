//! `txnlog verify`: checks every entry of ZooKeeper txn logs (checksum, end marker, framing,
//! that the txn decodes, that zxids go up) and reports each bad record with its file and
//! offset. The caller turns a non-empty report into a non-zero exit.

use std::io::Write;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::ToolError;
use crate::txnfmt::decode_txn;
use crate::zklog::{expand_log_paths, LogEnd, Scan, ZkLog};

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
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes}") {
        bar.set_style(style);
    }
    let mut report = VerifyReport::default();
    let mut last_zxid: Option<(i64, PathBuf)> = None;
    for f in &files {
        bar.set_message(f.display().to_string());
        let before = report.problems.len();
        let log = ZkLog::open(f)?;
        let mut n = 0usize;
        let mut first: Option<i64> = None;
        let mut last: Option<i64> = None;
        let mut bad = |offset: u64, reason: String| {
            report.problems.push(Problem {
                file: f.clone(),
                offset,
                reason,
            })
        };
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
            match e.txn_header() {
                Err(err) => bad(e.offset, format!("txn header does not decode: {err}")),
                Ok((h, rest)) => {
                    if let Err(err) = decode_txn(h.txn_type, rest) {
                        bad(e.offset, format!("txn{which} does not decode: {err}"));
                    }
                    if let Some((prev, prev_file)) = &last_zxid {
                        if h.zxid <= *prev {
                            let where_ = if prev_file == f {
                                String::new()
                            } else {
                                format!(" in {}", prev_file.display())
                            };
                            bad(
                                e.offset,
                                format!(
                                    "zxid {:#x} does not follow zxid {prev:#x}{where_}",
                                    h.zxid
                                ),
                            );
                        }
                    }
                    last_zxid = Some((h.zxid, f.clone()));
                    first.get_or_insert(h.zxid);
                    last = Some(h.zxid);
                }
            }
        }
        bar.inc(log.bytes.len() as u64);
        report.txns += n;
        let found = &report.problems[before..];
        let mut text = String::new();
        for p in found {
            text.push_str(&format!(
                "{}: offset {}: {}\n",
                p.file.display(),
                p.offset,
                p.reason
            ));
        }
        let range = match (first, last) {
            (Some(a), Some(b)) => format!(", zxid {a:#x} to {b:#x}"),
            _ => String::new(),
        };
        let verdict = if found.is_empty() {
            "ok".to_owned()
        } else {
            format!("{} bad", found.len())
        };
        text.push_str(&format!("{}: {n} txns{range}: {verdict}\n", f.display()));
        bar.suspend(|| out.write_all(text.as_bytes()))
            .map_err(ToolError::Output)?;
    }
    bar.finish_and_clear();
    Ok(report)
}
