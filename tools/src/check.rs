//! `check`: verifies every checksum of a Warren data dir without changing it: every WAL
//! record (the wal crate's verifier, as the server runs it at start-up), every SSTable
//! block and footer and every manifest record (`warren_engine::check`). Prints what was
//! checked and each fault with its file and offset; any fault makes the command fail. A
//! torn tail in the newest WAL segment is printed as a warning only: the server
//! truncates it at start-up, it is not damage to acknowledged data.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::ToolError;

/// What `check` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckSummary {
    /// WAL segments and the good records in them.
    pub segments: usize,
    pub records: u64,
    /// SSTables, blocks and manifest records checked.
    pub tables: usize,
    pub blocks: u64,
    pub manifest_records: u64,
    /// Every fault: file, offset, reason.
    pub faults: Vec<(PathBuf, u64, String)>,
    /// Torn tails (warnings).
    pub warnings: Vec<(PathBuf, u64, String)>,
}

/// Checks the data dir `dir` (its `engine/` and the `wal/` under `log_dir` or `dir`).
///
/// # Errors
/// [`ToolError::Usage`] when `dir` holds neither an engine nor a wal; I/O errors;
/// [`ToolError::Output`]. Damage is not an error here: it is in the summary (the
/// command line turns it into [`ToolError::CheckFailed`]).
pub fn check(
    dir: &Path,
    log_dir: Option<&Path>,
    out: &mut dyn Write,
) -> Result<CheckSummary, ToolError> {
    let edir = dir.join("engine");
    let wdir = log_dir.unwrap_or(dir).join("wal");
    if !edir.is_dir() && !wdir.is_dir() {
        return Err(ToolError::Usage(format!(
            "{}: not a Warren data dir (no engine/ or wal/)",
            dir.display()
        )));
    }
    let mut s = CheckSummary::default();
    let bar = indicatif::ProgressBar::new_spinner();
    if edir.is_dir() {
        check_engine(&edir, &bar, &mut s, out)?;
    } else {
        w(out, format!("engine {}: absent\n", edir.display()))?;
    }
    if wdir.is_dir() {
        check_wal(&wdir, &bar, &mut s, out)?;
    } else {
        w(out, format!("wal {}: absent\n", wdir.display()))?;
    }
    bar.finish_and_clear();
    print_faults(&s, out)?;
    Ok(s)
}

fn w(out: &mut dyn Write, s: String) -> Result<(), ToolError> {
    out.write_all(s.as_bytes()).map_err(ToolError::Output)
}

/// The engine's manifest, SSTable blocks and footers, by `warren_engine::check`; its
/// faults go into `s`, what it checked into `s` and a line on `out`.
fn check_engine(
    edir: &Path,
    bar: &indicatif::ProgressBar,
    s: &mut CheckSummary,
    out: &mut dyn Write,
) -> Result<(), ToolError> {
    bar.set_message(format!("checking {}", edir.display()));
    bar.tick();
    let r = warren_engine::check::check_dir(edir).map_err(|e| ToolError::engine(edir, e))?;
    s.tables = r.tables;
    s.blocks = r.blocks;
    s.manifest_records = r.manifest_records;
    s.faults
        .extend(r.faults.into_iter().map(|f| (f.file, f.offset, f.reason)));
    w(
        out,
        format!(
            "engine {}: {} manifest record(s), {} table(s), {} block(s), {} entries, {} bytes checked\n",
            edir.display(),
            r.manifest_records,
            r.tables,
            r.blocks,
            r.entries,
            r.bytes
        ),
    )
}

/// Every WAL record, by the wal crate's verifier as the server runs it at start-up; a
/// torn tail goes into `s` as a warning, any other fault as a fault.
fn check_wal(
    wdir: &Path,
    bar: &indicatif::ProgressBar,
    s: &mut CheckSummary,
    out: &mut dyn Write,
) -> Result<(), ToolError> {
    bar.set_message(format!("checking {}", wdir.display()));
    bar.tick();
    let r = warren_wal::verify_dir(wdir)?;
    s.segments = r.segments.len();
    s.records = r.records();
    let bytes: u64 = r.segments.iter().map(|x| x.file_len).sum();
    for f in crate::walfile::own_faults(&r) {
        let item = (f.file, f.offset, f.reason);
        match f.kind {
            warren_wal::FaultKind::TornTail => s.warnings.push(item),
            warren_wal::FaultKind::Corrupt => s.faults.push(item),
        }
    }
    w(
        out,
        format!(
            "wal {}: {} segment(s), {} record(s), {bytes} bytes checked\n",
            wdir.display(),
            s.segments,
            s.records
        ),
    )
}

/// The warnings, then the faults, with file and offset, then the verdict line.
fn print_faults(s: &CheckSummary, out: &mut dyn Write) -> Result<(), ToolError> {
    for (file, offset, reason) in &s.warnings {
        w(
            out,
            format!(
                "{}: offset {offset}: warning: torn tail (the server truncates it at start-up): {reason}\n",
                file.display()
            ),
        )?;
    }
    for (file, offset, reason) in &s.faults {
        w(
            out,
            format!("{}: offset {offset}: {reason}\n", file.display()),
        )?;
    }
    if s.faults.is_empty() {
        w(out, "check: ok\n".to_owned())
    } else {
        w(out, format!("check: {} fault(s)\n", s.faults.len()))
    }
}
