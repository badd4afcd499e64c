//! `warren-tools`: offline inspection, repair, replay and import of Warren's and ZooKeeper's
//! files. The command line is [`ToolCommand`]; [`run`] carries one out. Each tool is also a
//! library function that writes to any `Write`, for tests and for other front ends.
//!
//! Formats are told apart by their magic ([`detect`]); this crate reads Apache ZooKeeper's
//! txn logs ([`zklog`]) and snapshots ([`zksnap`]) so far, and Warren's own WAL segments and
//! engine files are recognised so their readers can slot in beside them.
#![deny(unsafe_code)]

pub mod chop;
pub mod cli;
pub mod detect;
pub mod error;
pub mod java;
pub mod jute_text;
pub mod recover;
pub mod snapshot_dump;
pub mod txnfmt;
pub mod txnlog_dump;
pub mod txnlog_verify;
pub mod zklog;
pub mod zksnap;

use std::io::{BufRead, Write};

pub use cli::{SnapshotCommand, ToolCommand, TxnlogCommand, TxnlogDumpArgs};
pub use error::ToolError;

use detect::{detect, FileKind};

/// Runs one tool command against the process's stdin, stdout and stderr.
///
/// # Errors
/// Whatever the tool reports: see [`run_with`].
pub fn run(cmd: ToolCommand) -> Result<(), ToolError> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut warn = std::io::stderr();
    let r = run_with(cmd, &mut out, &mut warn, &mut input);
    let flushed = out.flush().map_err(ToolError::Output);
    r.and(flushed)
}

/// A file argument that must be of a ZooKeeper kind this command reads.
fn require(path: &std::path::Path, ok: &[FileKind]) -> Result<(), ToolError> {
    if path.is_dir() {
        return Ok(());
    }
    let kind = detect(path)?;
    if ok.contains(&kind) {
        return Ok(());
    }
    match kind {
        FileKind::WarrenWal | FileKind::WarrenSst | FileKind::WarrenManifest => {
            Err(ToolError::Unsupported {
                path: path.to_owned(),
                kind: kind.name(),
            })
        }
        // Let the reader produce its precise bad-magic error.
        _ => Ok(()),
    }
}

/// Runs one tool command, printing its report to `out`, warnings to `warn`, and reading
/// answers (for `txnlog recover`) from `input`.
///
/// # Errors
/// [`ToolError::VerifyFailed`] when `txnlog verify` found damage (after printing it), and
/// any error of the tool's own function (`txnlog_dump::dump`, `chop::chop`, …).
pub fn run_with(
    cmd: ToolCommand,
    out: &mut dyn Write,
    warn: &mut dyn Write,
    input: &mut dyn BufRead,
) -> Result<(), ToolError> {
    match cmd {
        ToolCommand::Txnlog(TxnlogCommand::Dump(a)) => {
            require(&a.path, &[FileKind::ZkTxnLog])?;
            let opts = txnlog_dump::DumpOptions {
                json: a.json,
                from_zxid: a.from_zxid,
                to_zxid: a.to_zxid,
                session: a.session,
                path_prefix: a.path_prefix,
            };
            txnlog_dump::dump(&a.path, &opts, out, warn).map(|_| ())
        }
        ToolCommand::Txnlog(TxnlogCommand::Verify { path }) => {
            require(&path, &[FileKind::ZkTxnLog])?;
            let report = txnlog_verify::verify(&path, out)?;
            if report.problems.is_empty() {
                Ok(())
            } else {
                Err(ToolError::VerifyFailed {
                    bad: report.problems.len(),
                })
            }
        }
        ToolCommand::Txnlog(TxnlogCommand::Chop {
            zxid,
            file,
            out: to,
        }) => {
            require(&file, &[FileKind::ZkTxnLog])?;
            chop::chop(&file, zxid, &to, out).map(|_| ())
        }
        ToolCommand::Txnlog(TxnlogCommand::Recover {
            file,
            yes,
            verbose,
            out: to,
        }) => {
            require(&file, &[FileKind::ZkTxnLog])?;
            let opts = recover::RecoverOptions {
                yes,
                verbose,
                out: to,
            };
            recover::recover(&file, &opts, out, input).map(|_| ())
        }
        ToolCommand::Snapshot(SnapshotCommand::Dump { file, data, json }) => {
            require(
                &file,
                &[
                    FileKind::ZkSnapshot,
                    FileKind::Gzip,
                    FileKind::SnappyJava,
                    FileKind::SnappyFramed,
                ],
            )?;
            snapshot_dump::dump(
                &file,
                snapshot_dump::SnapshotDumpOptions { data, json },
                out,
                warn,
            )
        }
    }
}
