//! The log itself: open (verify + repair), append with group commit, replay, purge,
//! truncate.
//!
//! Split by concept, each module owning one piece of state or one thread's job:
//!
//! * `handle`: [`Wal`] and [`WalIter`], the façade callers hold; the order of the steps
//!   of each operation and the locks they run under.
//! * `options`: what a caller chooses and reads back ([`WalOptions`], [`FsyncPolicy`],
//!   [`SegmentInfo`], [`WalStats`]).
//! * `shared`: the state shared by handles, tickets and the writer, and the lock order
//!   (its "Threads and locks" section is the place to start).
//! * `queue`: the buffer appends go into and the writer takes whole.
//! * `writer`: the group-commit thread: write rounds, fsync, rotation, failure.
//! * `progress`: how far the writer got, its sticky failure, and who waits on it.
//! * `ticket`: [`AppendTicket`], redeemed by a blocking wait or an async future.
//! * `files`: the segment list and the active file, and how purge and truncate change them.
//! * `recovery`: open-time verification, torn-tail repair and removal of crash leftovers.

mod files;
mod handle;
mod options;
mod progress;
mod queue;
mod recovery;
mod shared;
mod ticket;
mod writer;

pub use handle::{Wal, WalIter};
pub use options::{FsyncPolicy, SegmentInfo, WalOptions, WalStats};
pub use ticket::AppendTicket;
