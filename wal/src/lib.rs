//! `warren-wal`: the transaction log that is Warren's only write-ahead log.
//!
//! Its one job is to make a txn durable before the server acknowledges it, and to give
//! every durable txn back, in order, after a crash. Records are opaque bytes tagged with
//! a strictly increasing sequence number (the zxid); the engine has no log of its own and
//! relies on this one.
//!
//! * **Segments.** Records go to preallocated segment files named by their first seq
//!   (`wal-<016x>.log`), rotated by size and purged once the engine has persisted them.
//!   The byte layout is in `docs/FORMATS.md`, "WAL segments".
//! * **Group commit.** [`Wal::append`] only copies the record into a shared buffer; one
//!   writer thread writes whatever has accumulated with one write and one fdatasync, then
//!   completes all those [`AppendTicket`]s at once. Throughput therefore scales with the
//!   number of concurrent appenders instead of being capped at one fsync per txn.
//! * **Verification.** [`Wal::open`] checks every record. A torn tail (a crash mid-write)
//!   is zeroed with a warning; anything else is [`WalError::Corrupt`] with file and
//!   offset, because silently dropping acknowledged txns is worse than not starting.
//! * **Tools.** [`verify_dir`], [`SegmentReader`] and [`rewrite_record_checksum`] work on
//!   files without opening the log for writing.
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod error;
mod format;
mod io;
mod scan;
#[cfg(feature = "io-uring")]
mod uring;
mod wal;

pub use error::{Result, WalError};
pub use format::{
    parse_segment_file_name, segment_file_name, SegmentHeader, FORMAT_VERSION, FRAME_LEN,
    HEADER_LEN, MAX_PAYLOAD, SEGMENT_MAGIC,
};
pub use io::Backend;
pub use scan::{
    list_segments, read_segment_file, rewrite_record_checksum, verify_dir, verify_segment, Fault,
    FaultKind, Record, SegmentReader, SegmentReport, VerifyReport,
};
pub use wal::{AppendTicket, FsyncPolicy, SegmentInfo, Wal, WalIter, WalOptions, WalStats};
