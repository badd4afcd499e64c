//! `txnlog recover`: rewrites the checksums of ZooKeeper txn log entries whose stored
//! checksum does not match their bytes, as ZooKeeper's TxnLogToolkit `-r` does: each bad
//! entry is shown and, unless `--yes`, the user is asked whether to fix it. The result goes
//! to a new file (`FILE.fixed` by default); everything else in it is byte for byte the
//! original, padding included. [`recover_warren`] does the same for Warren WAL segments.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use crate::error::ToolError;
use crate::txnfmt::toolkit_line;
use warren_proto::Jute;

use crate::walfile::{WalFile, WalScan};
use crate::zklog::{LogEnd, Scan, ZkLog};

/// How `recover` runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoverOptions {
    /// Fix every bad checksum without asking.
    pub yes: bool,
    /// Also print the entries that are fine.
    pub verbose: bool,
    /// Where to write; `FILE.fixed` when `None`.
    pub out: Option<PathBuf>,
}

/// What `recover` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoverSummary {
    pub output: PathBuf,
    pub fixed: usize,
    pub bad: usize,
}

enum Answer {
    Yes,
    No,
    Abort,
}

fn ask(out: &mut dyn Write, input: &mut dyn BufRead) -> Result<Answer, ToolError> {
    loop {
        write!(out, "Would you like to fix it (Yes/No/Abort) ? ")
            .and_then(|()| out.flush())
            .map_err(ToolError::Output)?;
        let mut line = String::new();
        let n = input
            .read_line(&mut line)
            .map_err(|e| ToolError::io(Path::new("<stdin>"), e))?;
        if n == 0 {
            // No more answers: stop rather than guess.
            return Ok(Answer::Abort);
        }
        match line
            .trim_start()
            .chars()
            .next()
            .map(|c| c.to_ascii_uppercase())
        {
            Some('Y') => return Ok(Answer::Yes),
            Some('N') => return Ok(Answer::No),
            Some('A') => return Ok(Answer::Abort),
            _ => {}
        }
    }
}

/// Reports a bad checksum and decides whether to fix it: always with `--yes`, otherwise
/// by asking (an abort stops the whole recovery, writing nothing).
fn confirm_fix(
    opts: &RecoverOptions,
    line: &str,
    out: &mut dyn Write,
    input: &mut dyn BufRead,
) -> Result<bool, ToolError> {
    let say = |out: &mut dyn Write, s: &str| out.write_all(s.as_bytes()).map_err(ToolError::Output);
    if opts.yes {
        say(out, &format!("CRC FIXED - {line}"))?;
        return Ok(true);
    }
    say(out, &format!("CRC ERROR - {line}"))?;
    match ask(out, input)? {
        Answer::Yes => Ok(true),
        Answer::No => Ok(false),
        Answer::Abort => Err(ToolError::Aborted),
    }
}

/// Where a recovery writes: `--out`, or `FILE.fixed`; never over an existing file.
fn output_path(file: &Path, opts: &RecoverOptions) -> Result<PathBuf, ToolError> {
    let output = opts.out.clone().unwrap_or_else(|| {
        let mut s = file.as_os_str().to_owned();
        s.push(".fixed");
        PathBuf::from(s)
    });
    if output.exists() {
        return Err(ToolError::Usage(format!(
            "recovery file {} already exists; not overwriting it",
            output.display()
        )));
    }
    Ok(output)
}

/// Recovers `file`, talking on `out` and reading answers from `input`.
///
/// # Errors
/// [`ToolError::Usage`] when the output exists, [`ToolError::Aborted`] when the user says
/// so (nothing is written), [`ToolError::Corrupt`] when an entry lacks its end marker (its
/// length cannot be trusted, so nothing after it can be fixed), [`ToolError::Io`] and
/// [`ToolError::Output`] on I/O failures.
pub fn recover(
    file: &Path,
    opts: &RecoverOptions,
    out: &mut dyn Write,
    input: &mut dyn BufRead,
) -> Result<RecoverSummary, ToolError> {
    let output = output_path(file, opts)?;
    let log = ZkLog::open(file)?;
    let mut bytes = log.bytes.clone();
    let say = |out: &mut dyn Write, s: &str| out.write_all(s.as_bytes()).map_err(ToolError::Output);
    say(
        out,
        &format!(
            "ZooKeeper Transactional Log File with dbid {} txnlog format version {}\n",
            log.header.dbid, log.header.version
        ),
    )?;
    let (mut fixed, mut bad, mut count) = (0usize, 0usize, 0usize);
    for item in log.entries() {
        let e = match item {
            Scan::Entry(e) => e,
            Scan::End(end) => {
                if let LogEnd::Truncated { offset, reason } = end {
                    say(
                        out,
                        &format!("warning: offset {offset}: {reason}; left as it is\n"),
                    )?;
                }
                say(out, &format!("EOF reached after {count} txns.\n"))?;
                break;
            }
        };
        let line = match e.txn_header() {
            Ok((h, rest)) => toolkit_line(&h, rest),
            Err(err) => format!("<entry at offset {}: {err}>\n", e.offset),
        };
        if !e.crc_ok() {
            bad += 1;
            let fix = confirm_fix(opts, &line, out, input)?;
            if fix {
                let at = e.offset as usize;
                bytes[at..at + 8].copy_from_slice(&i64::from(e.computed_crc()).to_be_bytes());
                fixed += 1;
            }
        }
        if opts.verbose {
            say(out, &line)?;
        }
        if !e.eor_ok() {
            return Err(ToolError::corrupt(
                file,
                e.end() - 1,
                "entry does not end with 'B': the last transaction was partial",
            ));
        }
        count += 1;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&output)
        .map_err(|e| ToolError::io(&output, e))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| ToolError::io(&output, e))?;
    say(
        out,
        &format!(
            "Recovery file {} has been written with {fixed} fixed CRC error(s)\n",
            output.display()
        ),
    )?;
    Ok(RecoverSummary { output, fixed, bad })
}

/// `txnlog recover` on a Warren WAL segment: the same dialogue as [`recover`]; the file is
/// copied to the output byte for byte and each accepted bad checksum is rewritten there by
/// the wal crate (`rewrite_record_checksum`). A frame whose length cannot be trusted
/// stops the scan: nothing after it can be delimited, so it is reported and left as is.
///
/// # Errors
/// As [`recover`]; [`ToolError::Wal`] when rewriting a checksum fails.
pub fn recover_warren(
    file: &Path,
    opts: &RecoverOptions,
    out: &mut dyn Write,
    input: &mut dyn BufRead,
) -> Result<RecoverSummary, ToolError> {
    let output = output_path(file, opts)?;
    let seg = WalFile::open(file)?;
    let say = |out: &mut dyn Write, s: &str| out.write_all(s.as_bytes()).map_err(ToolError::Output);
    say(
        out,
        &format!(
            "Warren WAL segment with first zxid 0x{:x} format version {}\n",
            seg.header.first_seq, seg.header.version
        ),
    )?;
    let (mut bad, mut count) = (0usize, 0usize);
    let mut to_fix: Vec<u64> = Vec::new();
    let mut damage: Option<ToolError> = None;
    for item in seg.frames() {
        let e = match item {
            WalScan::Entry(e) => e,
            WalScan::End { .. } => break,
            WalScan::Bad { offset, reason } => {
                say(
                    out,
                    &format!("error: offset {offset}: {reason}; left as it is\n"),
                )?;
                damage = Some(ToolError::corrupt(file, offset, reason));
                break;
            }
        };
        count += 1;
        let line = match warren_proto::txn::TxnHeader::from_bytes(e.payload) {
            Ok(h) => toolkit_line(&h, e.payload.get(28..).unwrap_or_default()),
            Err(err) => format!("<record at offset {}: {err}>\n", e.offset),
        };
        if !e.crc_ok() {
            bad += 1;
            let fix = confirm_fix(opts, &line, out, input)?;
            if fix {
                to_fix.push(e.offset);
            }
        }
        if opts.verbose {
            say(out, &line)?;
        }
    }
    say(out, &format!("EOF reached after {count} txns.\n"))?;
    std::fs::copy(file, &output).map_err(|e| ToolError::io(&output, e))?;
    for &offset in &to_fix {
        warren_wal::rewrite_record_checksum(&output, offset)?;
    }
    say(
        out,
        &format!(
            "Recovery file {} has been written with {} fixed CRC error(s)\n",
            output.display(),
            to_fix.len()
        ),
    )?;
    if let Some(e) = damage {
        return Err(e);
    }
    Ok(RecoverSummary {
        output,
        fixed: to_fix.len(),
        bad,
    })
}
