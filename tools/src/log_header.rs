//! The line the txnlog tools print before the entries of a file: the toolkit's line for a
//! ZooKeeper txn log, and its counterpart for a Warren WAL segment. `txnlog chop` and
//! `txnlog recover` print it; it is written once here so the kinds cannot drift apart.

use crate::walfile::WalFile;
use crate::zklog::ZkLog;

/// A log file that announces itself with one line before its entries.
pub trait HeaderLine {
    /// The line, without its newline.
    fn header_line(&self) -> String;
}

impl HeaderLine for ZkLog {
    fn header_line(&self) -> String {
        format!(
            "ZooKeeper Transactional Log File with dbid {} txnlog format version {}",
            self.header.dbid, self.header.version
        )
    }
}

impl HeaderLine for WalFile {
    fn header_line(&self) -> String {
        format!(
            "Warren WAL segment with first zxid 0x{:x} format version {}",
            self.header.first_seq, self.header.version
        )
    }
}
