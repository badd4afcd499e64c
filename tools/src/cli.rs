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

/// A zxid argument: `0x…` hex or decimal, not negative.
///
/// # Errors
/// A message for clap.
pub fn parse_zxid(s: &str) -> Result<u64, String> {
    let v = parse_number(s)?;
    u64::try_from(v).map_err(|_| format!("{s:?} is not a zxid (negative)"))
}

/// Every offline tool.
#[derive(Debug, Clone, Subcommand)]
pub enum ToolCommand {
    /// Inspect, check, cut and repair txn logs (ZooKeeper `log.*` files and Warren WAL
    /// segments `wal-*.log`; the format is told by the magic).
    #[command(subcommand)]
    Txnlog(TxnlogCommand),
    /// Inspect snapshots (ZooKeeper `snapshot.*`, plain, .gz or .snappy) and the tree of a
    /// Warren data dir at any zxid within retention.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Disaster recovery: build a new Warren data dir holding exactly the state at a zxid.
    Replay(ReplayArgs),
    /// Migrate an Apache ZooKeeper data dir (newest valid snapshot + later logs) to a new
    /// Warren data dir.
    Import(ImportArgs),
    /// Verify every checksum of a Warren data dir (WAL records, SSTable blocks, manifest);
    /// fail on any fault.
    Check(CheckArgs),
}

/// Options shared by the commands that read a Warren data dir's history.
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// The dataLogDir, when the wal is not under the data dir (reads `<DIR>/wal`).
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
    /// How many txns of history the engine keeps (the server's `warren.retentionTxns`):
    /// zxids older than `last - this` are refused, as compaction may have dropped them.
    #[arg(long, default_value_t = crate::datadir::DEFAULT_RETENTION_TXNS)]
    pub retention_txns: u64,
}

/// `replay` arguments.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The Warren data dir to recover from.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The zxid whose state the new data dir holds (0x-hex or decimal).
    #[arg(long, value_parser = parse_zxid)]
    pub to_zxid: u64,
    /// The new data dir (must not exist, or be empty).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub history: HistoryArgs,
}

/// `import` arguments.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// ZooKeeper's dataDir (the one holding `version-2/`, or `version-2` itself).
    #[arg(long)]
    pub zookeeper_data_dir: PathBuf,
    /// ZooKeeper's dataLogDir, when its txn logs are not in the dataDir.
    #[arg(long)]
    pub zookeeper_log_dir: Option<PathBuf>,
    /// The new Warren data dir (must not exist, or be empty).
    #[arg(long)]
    pub out: PathBuf,
}

/// `check` arguments.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The Warren data dir (holding `engine/` and usually `wal/`).
    pub dir: PathBuf,
    /// The dataLogDir, when the wal is not under the data dir.
    #[arg(long)]
    pub log_dir: Option<PathBuf>,
}

/// `txnlog …`
#[derive(Debug, Clone, Subcommand)]
pub enum TxnlogCommand {
    /// Print every txn, one line each, as ZooKeeper's TxnLogToolkit does.
    Dump(TxnlogDumpArgs),
    /// Check every record; report each bad one with file and offset; fail if any.
    Verify {
        /// A log file or WAL segment, or a directory of log.* files, a wal dir, or a Warren
        /// data dir (its wal/), checked in zxid order.
        path: PathBuf,
    },
    /// Write a copy of a log that ends at a zxid (like ZooKeeper's LogChopper). For a
    /// Warren wal dir, OUT is a new wal dir.
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
    /// A log file or WAL segment, or a directory of log.* files, a wal dir, or a Warren
    /// data dir (its wal/), dumped in zxid order.
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
        /// A ZooKeeper snapshot file (compression is detected from its first bytes), or a
        /// Warren data dir.
        file: PathBuf,
        /// Print each znode's data in base64 instead of its length.
        #[arg(short = 'd', long = "data", conflicts_with = "json")]
        data: bool,
        /// Print the tree as SnapshotFormatter -json does.
        #[arg(long)]
        json: bool,
        /// Warren data dir only: the tree as of this zxid (default: the latest).
        #[arg(long, value_parser = parse_zxid)]
        at_zxid: Option<u64>,
        #[command(flatten)]
        history: HistoryArgs,
    },
    /// Warren data dir: the nodes created, deleted and changed between two zxids.
    Diff {
        /// The Warren data dir.
        dir: PathBuf,
        /// The older zxid (0x-hex or decimal).
        #[arg(long, value_parser = parse_zxid)]
        from_zxid: u64,
        /// The newer zxid (0x-hex or decimal).
        #[arg(long, value_parser = parse_zxid)]
        to_zxid: u64,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        history: HistoryArgs,
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
