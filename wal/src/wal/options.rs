//! What a caller chooses when opening the log, and what it can read back about it.
//!
//! These are plain values with no locks or files behind them, kept apart from the
//! machinery so that the promises they make (what a completed ticket means under each
//! [`FsyncPolicy`], what each counter of [`WalStats`] counts) can be read in one place.

use std::path::PathBuf;

use crate::io::Backend;

/// When the writer calls fdatasync, and therefore what a completed ticket promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// fdatasync every group before completing its tickets: a completed append survives
    /// power loss. The default, and what ZooKeeper semantics require.
    #[default]
    Always,
    /// Complete tickets once the group is written to the OS (it survives a process crash,
    /// not a power loss) and fdatasync at most every `n` milliseconds.
    EveryMillis(u64),
    /// Complete tickets once written to the OS; fdatasync only on `sync()`, segment
    /// rotation and close. For tests and throwaway data.
    Never,
}

/// How to open a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalOptions {
    /// Rotate to a new segment when the active one would grow past this many bytes.
    /// A record larger than this gets a segment of its own. Default 64 MiB.
    pub segment_bytes: u64,
    /// Reserve `segment_bytes` for each new segment up front (default true), so that the
    /// fdatasync of an append does not also have to commit block allocations.
    pub preallocate: bool,
    /// When to fdatasync. Default [`FsyncPolicy::Always`].
    pub fsync: FsyncPolicy,
    /// Which system calls write. Default [`Backend::Std`].
    pub backend: Backend,
    /// The lowest seq the caller will read back after open (the server: one above what
    /// its engine has persisted). Segments whose records all lie below it get a header
    /// check only at open, so start-up time does not grow with history the caller no
    /// longer needs; everything from it on, and the last segment, is verified record by
    /// record. Default 0: verify everything. (`verify_dir` always checks every record.)
    pub verify_from: u64,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: 64 << 20,
            preallocate: true,
            fsync: FsyncPolicy::Always,
            backend: Backend::Std,
            verify_from: 0,
        }
    }
}

/// One segment file as the log sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The file.
    pub path: PathBuf,
    /// Seq of its first record (from its name and header).
    pub first_seq: u64,
    /// Seq of its last written record; `None` if nothing is written yet.
    pub last_seq: Option<u64>,
    /// Bytes in use (header + written records); the file may be larger (preallocation).
    pub bytes: u64,
    /// Whether appends currently go to this segment.
    pub active: bool,
}

/// Counters since `open`. `fsyncs < appends` is what group commit buys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalStats {
    /// Records appended.
    pub appends: u64,
    /// Payload bytes appended.
    pub appended_bytes: u64,
    /// Group writes issued by the writer (each one write call, or one per segment).
    pub writes: u64,
    /// fdatasync calls on segment files.
    pub fsyncs: u64,
    /// Time spent in them, in nanoseconds (for a write issued together with its sync,
    /// the write's time too).
    pub fsync_nanos: u64,
    /// Segments created.
    pub segments_created: u64,
    /// Segments deleted by `purge_below`, `truncate_after` or open.
    pub segments_deleted: u64,
}
