//! `txnlog recover`: rewrites the checksums of ZooKeeper txn log entries whose stored
//! checksum does not match their bytes, as ZooKeeper's TxnLogToolkit `-r` does: each bad
//! entry is shown and, unless `--yes`, the user is asked whether to fix it. The result goes
//! to a new file (`FILE.fixed` by default); everything else in it is byte for byte the
//! original, padding included. [`recover_warren`] does the same for Warren WAL segments.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use warren_proto::{Jute, JuteError, Reader, TxnHeader};

use crate::error::ToolError;
use crate::log_header::HeaderLine;
use crate::txnfmt::toolkit_line;
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

/// Prints report text (each piece ends its own lines).
fn say(out: &mut dyn Write, s: &str) -> Result<(), ToolError> {
    out.write_all(s.as_bytes()).map_err(ToolError::Output)
}

/// The toolkit line for an entry whose txn header decoded (`rest` the bytes after it), or
/// a placeholder naming the `what` at `offset` when it did not.
fn entry_line(what: &str, offset: u64, header: Result<(TxnHeader, &[u8]), JuteError>) -> String {
    match header {
        Ok((h, rest)) => toolkit_line(&h, rest),
        Err(err) => format!("<{what} at offset {offset}: {err}>\n"),
    }
}

/// One recovery under way, of either kind of file: the output path, the dialogue about
/// each entry's checksum, and the tally the closing lines report.
struct Recovery<'a> {
    opts: &'a RecoverOptions,
    output: PathBuf,
    /// Entries gone through.
    count: usize,
    /// Bad checksums found.
    bad: usize,
    /// Bad checksums to fix.
    fixed: usize,
}

impl<'a> Recovery<'a> {
    /// Starts recovering `file`, to `--out` or `FILE.fixed`; never over an existing file.
    ///
    /// # Errors
    /// [`ToolError::Usage`] when the output exists.
    fn new(file: &Path, opts: &'a RecoverOptions) -> Result<Recovery<'a>, ToolError> {
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
        Ok(Recovery {
            opts,
            output,
            count: 0,
            bad: 0,
            fixed: 0,
        })
    }

    /// Goes through one entry, shown as `line`: a bad checksum is reported and fixed
    /// always with `--yes`, otherwise when the user says so; `--verbose` prints every line.
    /// Returns whether to fix this entry's checksum.
    ///
    /// # Errors
    /// [`ToolError::Aborted`] when the user says so (the whole recovery stops, writing
    /// nothing); I/O errors.
    fn entry(
        &mut self,
        line: &str,
        crc_ok: bool,
        out: &mut dyn Write,
        input: &mut dyn BufRead,
    ) -> Result<bool, ToolError> {
        self.count += 1;
        let mut fix = false;
        if !crc_ok {
            self.bad += 1;
            fix = if self.opts.yes {
                say(out, &format!("CRC FIXED - {line}"))?;
                true
            } else {
                say(out, &format!("CRC ERROR - {line}"))?;
                match ask(out, input)? {
                    Answer::Yes => true,
                    Answer::No => false,
                    Answer::Abort => return Err(ToolError::Aborted),
                }
            };
            self.fixed += usize::from(fix);
        }
        if self.opts.verbose {
            say(out, line)?;
        }
        Ok(fix)
    }

    /// Reports the end of the entries.
    fn eof(&self, out: &mut dyn Write) -> Result<(), ToolError> {
        say(out, &format!("EOF reached after {} txns.\n", self.count))
    }

    /// Reports the output, written with every fix, and sums the recovery up.
    fn written(self, out: &mut dyn Write) -> Result<RecoverSummary, ToolError> {
        say(
            out,
            &format!(
                "Recovery file {} has been written with {} fixed CRC error(s)\n",
                self.output.display(),
                self.fixed
            ),
        )?;
        Ok(RecoverSummary {
            output: self.output,
            fixed: self.fixed,
            bad: self.bad,
        })
    }
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
    let mut rec = Recovery::new(file, opts)?;
    let log = ZkLog::open(file)?;
    let mut bytes = log.bytes.clone();
    say(out, &format!("{}\n", log.header_line()))?;
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
                rec.eof(out)?;
                break;
            }
        };
        let line = entry_line("entry", e.offset, e.txn_header());
        if rec.entry(&line, e.crc_ok(), out, input)? {
            let at = e.offset as usize;
            bytes[at..at + 8].copy_from_slice(&i64::from(e.computed_crc()).to_be_bytes());
        }
        if !e.eor_ok() {
            return Err(ToolError::corrupt(
                file,
                e.end() - 1,
                "entry does not end with 'B': the last transaction was partial",
            ));
        }
    }
    let output = &rec.output;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(output)
        .map_err(|e| ToolError::io(output, e))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| ToolError::io(output, e))?;
    rec.written(out)
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
    let mut rec = Recovery::new(file, opts)?;
    let seg = WalFile::open(file)?;
    say(out, &format!("{}\n", seg.header_line()))?;
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
        // The payload is a logged txn, as in a ZooKeeper entry: the record starts where
        // the header's reader stops, so the line is the one `txnlog dump` prints.
        let header = {
            let mut r = Reader::new(e.payload);
            TxnHeader::read(&mut r).map(|h| (h, r.rest()))
        };
        let line = entry_line("record", e.offset, header);
        if rec.entry(&line, e.crc_ok(), out, input)? {
            to_fix.push(e.offset);
        }
    }
    rec.eof(out)?;
    std::fs::copy(file, &rec.output).map_err(|e| ToolError::io(&rec.output, e))?;
    for &offset in &to_fix {
        warren_wal::rewrite_record_checksum(&rec.output, offset)?;
    }
    let summary = rec.written(out)?;
    match damage {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}
