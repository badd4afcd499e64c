//! Shared helpers for the tools' integration tests: where the ZooKeeper fixtures are, running
//! a command into a buffer, and comparing output with the reference tools' while ignoring
//! only the date text.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use warren_tools::{run_with, ToolCommand, ToolError};

/// The fixtures written by Apache ZooKeeper 3.8.0 (repo checked out with `shared/` beside it).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/zk38")
}

/// The three data dirs: plain, gz and snappy snapshots.
pub const KINDS: [&str; 3] = ["plain", "gz", "snappy"];

/// Files of one fixture data dir whose names start with `prefix`, sorted by name.
pub fn fixture_files(kind: &str, prefix: &str) -> Vec<PathBuf> {
    let dir = fixtures().join(kind).join("version-2");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .collect();
    v.sort();
    v
}

/// The reference output for a fixture file, e.g. `expected("plain", "log.1", "txnlog.txt")`.
pub fn expected(kind: &str, file: &str, suffix: &str) -> Vec<u8> {
    let p = fixtures()
        .join(kind)
        .join("expected")
        .join(format!("{file}.{suffix}"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Parses a command line (without the program name) into a [`ToolCommand`].
pub fn cmd(args: &[&str]) -> ToolCommand {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: ToolCommand,
    }
    let mut all = vec!["warren-tools"];
    all.extend_from_slice(args);
    Cli::try_parse_from(all)
        .unwrap_or_else(|e| panic!("{e}"))
        .cmd
}

/// Runs a command; returns its stdout, its stderr and its result.
pub fn run(args: &[&str], stdin: &str) -> (Vec<u8>, String, Result<(), ToolError>) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut input = stdin.as_bytes();
    let r = run_with(cmd(args), &mut out, &mut err, &mut input);
    (out, String::from_utf8_lossy(&err).into_owned(), r)
}

/// Runs a command that must succeed; returns its stdout.
pub fn run_ok(args: &[&str]) -> Vec<u8> {
    let (out, err, r) = run(args, "");
    if let Err(e) = r {
        panic!("{args:?} failed: {e}\nstderr: {err}");
    }
    out
}

/// Lines of output, split on `\n`, as text (the reference output is UTF-8).
pub fn lines(b: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(b)
        .split('\n')
        .map(str::to_owned)
        .collect()
}

/// A txn log dump line with its date replaced by `<date>`: the date is everything before
/// ` session 0x` on a line that has it (after an optional `CRC ERROR - `).
pub fn mask_txn_date(line: &str) -> String {
    let (prefix, rest) = match line.strip_prefix("CRC ERROR - ") {
        Some(r) => ("CRC ERROR - ", r),
        None => ("", line),
    };
    match rest.find(" session 0x") {
        Some(i) if rest[..i].ends_with(" UTC") => format!("{prefix}<date>{}", &rest[i..]),
        _ => line.to_owned(),
    }
}

/// A snapshot dump line with the value of `ctime`/`mtime` replaced.
pub fn mask_snapshot_date(line: &str) -> String {
    for key in ["  ctime = ", "  mtime = "] {
        if line.starts_with(key) {
            return format!("{key}<date>");
        }
    }
    line.to_owned()
}

/// Compares two outputs line by line after masking, reporting the first difference.
pub fn assert_same_lines(what: &str, ours: &[u8], reference: &[u8], mask: fn(&str) -> String) {
    let a: Vec<String> = lines(ours).iter().map(|l| mask(l)).collect();
    let b: Vec<String> = lines(reference).iter().map(|l| mask(l)).collect();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "{what}: line {} differs", i + 1);
    }
    assert_eq!(a.len(), b.len(), "{what}: line counts differ");
}
pub mod warren;
