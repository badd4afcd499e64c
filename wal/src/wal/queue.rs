//! The queue appenders fill and the writer empties: the only thing `append` touches.
//!
//! An append is a memcpy into the buffer of the last [`Chunk`], so it costs no syscall
//! and holds the lock only for the copy. Rotation is decided here, at append time, from
//! the [`Tail`] the queue keeps of the segment the next record goes to: that way the
//! writer never has to split a buffer, and a chunk that starts a segment says so.

use crate::error::{Result, WalError};
use crate::format::{FRAME_LEN, HEADER_LEN};

/// A contiguous run of records bound for one segment. A chunk that starts a segment
/// carries its first seq; the writer creates the file before writing it.
/// How many written buffers the queue keeps for reuse, and the largest it keeps. A buffer
/// keeps its capacity (and its pages stay resident), so only small ones are kept: a burst
/// of large records (a group of 1 MB txns) must not leave megabytes of idle buffers
/// behind, outside the server's memory budget. Ordinary groups are far below this size.
const SPARE_BUFFERS: usize = 2;
const SPARE_BUFFER_BYTES: usize = 1 << 20;

pub(super) struct Chunk {
    pub(super) new_segment: Option<u64>,
    pub(super) buf: Vec<u8>,
    pub(super) last_seq: u64,
}

/// The segment the next record would go to, as it will be once the queue is written.
#[derive(Clone, Copy)]
pub(super) struct Tail {
    /// Whether that segment exists (or is queued).
    pub(super) has_segment: bool,
    /// Bytes that segment will hold.
    pub(super) used: u64,
    /// Records that segment will hold (only ever compared with zero once recovered or
    /// truncated).
    pub(super) records: u64,
}

impl Tail {
    /// No segment yet: the next record starts one.
    pub(super) const NONE: Tail = Tail {
        has_segment: false,
        used: 0,
        records: 0,
    };
}

pub(super) struct Queue {
    /// Highest seq appended (queued or written).
    pub(super) last_seq: u64,
    pub(super) chunks: Vec<Chunk>,
    pub(super) tail: Tail,
    pub(super) sync_requested: bool,
    pub(super) shutdown: bool,
    /// Batch buffers handed back by the writer, so steady state allocates nothing.
    pub(super) spare: Vec<Vec<u8>>,
}

impl Queue {
    pub(super) fn new(last_seq: u64, tail: Tail) -> Queue {
        Queue {
            last_seq,
            chunks: Vec::new(),
            tail,
            sync_requested: false,
            shutdown: false,
            spare: Vec::new(),
        }
    }

    /// Queues one framed record, starting a new chunk when it opens a group or must go
    /// to a new segment. Returns whether the queue was empty before (the writer may be
    /// asleep and needs waking).
    ///
    /// # Errors
    /// `SeqNotIncreasing` if `seq` is not above every seq queued before.
    pub(super) fn push(
        &mut self,
        seq: u64,
        frame: &[u8],
        payload: &[u8],
        segment_bytes: u64,
    ) -> Result<bool> {
        if seq <= self.last_seq {
            return Err(WalError::SeqNotIncreasing {
                seq,
                last: self.last_seq,
            });
        }
        let rec_len = FRAME_LEN + payload.len() as u64;
        let rotate = !self.tail.has_segment
            || (self.tail.records > 0 && self.tail.used + rec_len > segment_bytes);
        let was_idle = self.chunks.is_empty();
        if rotate || was_idle {
            let buf = self.spare.pop().unwrap_or_default();
            self.chunks.push(Chunk {
                new_segment: rotate.then_some(seq),
                buf,
                last_seq: seq,
            });
        }
        if rotate {
            self.tail = Tail {
                has_segment: true,
                used: HEADER_LEN,
                records: 0,
            };
        }
        if let Some(c) = self.chunks.last_mut() {
            c.buf.extend_from_slice(frame);
            c.buf.extend_from_slice(payload);
            c.last_seq = seq;
        }
        self.tail.used += rec_len;
        self.tail.records += 1;
        self.last_seq = seq;
        Ok(was_idle)
    }

    /// Takes back the writer's spent buffers: keeps a couple of small ones, drops the rest.
    pub(super) fn recycle(&mut self, spent: &mut Vec<Vec<u8>>) {
        for mut b in spent.drain(..) {
            if self.spare.len() < SPARE_BUFFERS && b.capacity() <= SPARE_BUFFER_BYTES {
                b.clear();
                self.spare.push(b);
            }
        }
    }
}
