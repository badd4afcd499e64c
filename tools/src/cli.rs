//! The tools' command line, as clap subcommands. The `warren` binary embeds [`ToolCommand`]
//! (`warren txnlog …`, `warren snapshot …`); `warren-tools` is a thin stand-alone wrapper.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// A number as ZooKeeper's tools take it: `0x…` hex, or decimal.
///
/// # Errors
/// A message for clap when the text is not a number.
pub fn parse_number(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let parsed = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).map(|v| v as i64)
    } else {
        t.parse::<i64>()
    };
    parsed.map_err(|e| format!("{s:?} is not a decimal or 0x-hex number: {e}"))
}

/// Every offline tool.
#[derive(Debug, Clone, Subcommand)]
pub enum ToolCommand {
    /// Inspect, check, cut and repair txn logs (ZooKeeper `log.*` files).
    #[command(subcommand)]
    Txnlog(TxnlogCommand),
    /// Inspect snapshots (ZooKeeper `snapshot.*`, plain, .gz or .snappy).
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

/// `txnlog …`
#[derive(Debug, Clone, Subcommand)]
pub enum TxnlogCommand {
    /// Print every txn, one line each, as ZooKeeper's TxnLogToolkit does.
    Dump(TxnlogDumpArgs),
    /// Check every record; report each bad one with file and offset; fail if any.
    Verify {
        /// A log file, or a directory whose log.* files are checked in zxid order.
        path: PathBuf,
    },
    /// Write a copy of a log that ends at a zxid (like ZooKeeper's LogChopper).
    Chop {
        /// The last zxid to keep (0x-hex or decimal); it must be in the log.
        #[arg(long, value_parser = parse_number)]
        zxid: i64,
        /// The log to read.
        file: PathBuf,
        /// The new log to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Fix wrong checksums (like TxnLogToolkit -r), writing FILE.fixed.
    Recover {
        /// The log to repair.
        file: PathBuf,
        /// Fix every bad checksum without asking.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Print every entry, not only the bad ones.
        #[arg(long, short = 'v')]
        verbose: bool,
        /// Where to write the repaired log (default: FILE.fixed; must not exist).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `txnlog dump` arguments.
#[derive(Debug, Clone, Args)]
pub struct TxnlogDumpArgs {
    /// A log file, or a directory whose log.* files are dumped in zxid order.
    pub path: PathBuf,
    /// One JSON object per txn instead of text.
    #[arg(long)]
    pub json: bool,
    /// Only txns with zxid >= this (0x-hex or decimal).
    #[arg(long, value_parser = parse_number)]
    pub from_zxid: Option<i64>,
    /// Only txns with zxid <= this (0x-hex or decimal).
    #[arg(long, value_parser = parse_number)]
    pub to_zxid: Option<i64>,
    /// Only txns of this session id (0x-hex or decimal).
    #[arg(long, value_parser = parse_number)]
    pub session: Option<i64>,
    /// Only txns naming a path that starts with this (any sub-op of a multi counts).
    #[arg(long)]
    pub path_prefix: Option<String>,
}

/// `snapshot …`
#[derive(Debug, Clone, Subcommand)]
pub enum SnapshotCommand {
    /// Print every znode and session, as ZooKeeper's SnapshotFormatter does.
    Dump {
        /// The snapshot file (compression is detected from its first bytes).
        file: PathBuf,
        /// Print each znode's data in base64 instead of its length.
        #[arg(short = 'd', long = "data", conflicts_with = "json")]
        data: bool,
        /// Print the tree as SnapshotFormatter -json does.
        #[arg(long)]
        json: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0x1c"), Ok(0x1c));
        assert_eq!(parse_number("28"), Ok(28));
        assert_eq!(parse_number("0xffffffffffffffff"), Ok(-1));
        assert!(parse_number("z").is_err());
    }
}
