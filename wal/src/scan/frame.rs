//! The one parser of record frames: what a given offset of a segment holds.
//!
//! Every reader of segments (open, replay, the tools) asks [`next_frame`], so there is
//! a single definition of a good record. It never reads past the limit it is given,
//! which is how a reader of the active segment avoids a record still being written.

use super::window::Window;
use crate::error::Result;
use crate::format::{le_u32, le_u64, payload_len, record_crc, FRAME_LEN};

/// What one offset of a segment holds.
pub(crate) enum Frame {
    /// A record whose checksum verifies.
    Record {
        seq: u64,
        payload_off: u64,
        payload_len: usize,
        next: u64,
    },
    /// End of written data: end of file or an all-zero frame.
    End,
    /// A frame that fails verification. `extent_end` is where the frame claims to end
    /// (clamped to the file); `resync` says whether the next frame can be trusted to
    /// start there (only when the length field is plausible).
    Bad {
        reason: String,
        extent_end: u64,
        resync: bool,
    },
}

/// Whether a record with `seq` may follow `prev` (the previous record of its segment,
/// if any) in a segment whose header says it starts at `first_seq`.
pub(crate) fn in_order(prev: Option<u64>, first_seq: u64, seq: u64) -> bool {
    match prev {
        None => seq == first_seq,
        Some(p) => seq > p,
    }
}

/// Parses the frame at `off`, reading no further than `limit`.
pub(crate) fn next_frame(win: &mut Window, off: u64, limit: u64) -> Result<Frame> {
    if off >= limit {
        return Ok(Frame::End);
    }
    let avail = ((limit - off) as usize).min(FRAME_LEN as usize);
    let head = win.get(off, avail)?;
    if head.len() < FRAME_LEN as usize {
        if head.iter().all(|&b| b == 0) {
            return Ok(Frame::End);
        }
        return Ok(Frame::Bad {
            reason: format!(
                "partial frame header: {} of {FRAME_LEN} bytes before end of data",
                head.len()
            ),
            extent_end: limit,
            resync: false,
        });
    }
    let body_len = le_u32(&head[0..4]);
    let stored_crc = le_u32(&head[4..8]);
    let seq = le_u64(&head[8..16]);
    if body_len == 0 {
        if head.iter().all(|&b| b == 0) {
            return Ok(Frame::End);
        }
        return Ok(Frame::Bad {
            reason: "zero length but non-zero frame bytes".into(),
            extent_end: off + FRAME_LEN,
            resync: false,
        });
    }
    let Some(payload_len) = payload_len(body_len) else {
        return Ok(Frame::Bad {
            reason: format!("implausible record length {body_len}"),
            extent_end: off + FRAME_LEN,
            resync: false,
        });
    };
    let next = off + 8 + u64::from(body_len);
    if next > limit {
        return Ok(Frame::Bad {
            reason: format!(
                "record of {} bytes runs past end of data at {limit}",
                8 + u64::from(body_len)
            ),
            extent_end: limit,
            resync: false,
        });
    }
    let payload_off = off + FRAME_LEN;
    let payload = win.get(payload_off, payload_len)?;
    if payload.len() != payload_len {
        return Ok(Frame::Bad {
            reason: "file shrank while reading".into(),
            extent_end: limit,
            resync: false,
        });
    }
    let actual = record_crc(body_len, seq, payload);
    if actual != stored_crc {
        return Ok(Frame::Bad {
            reason: format!(
                "record checksum mismatch (stored {stored_crc:08x}, computed {actual:08x})"
            ),
            extent_end: next,
            resync: true,
        });
    }
    Ok(Frame::Record {
        seq,
        payload_off,
        payload_len,
        next,
    })
}
