//! The torn-tail rule: when a bad frame is a crash's partial write, and when it is damage.
//!
//! A crash mid-write leaves a bad last record followed by nothing but zeros (the
//! preallocated space), and every record in it was unacknowledged, so open may zero it.
//! Anything that could hide an acknowledged record is corruption instead: non-zero data
//! after the bad frame, or a valid record starting inside the extent a damaged length
//! field claims. When ruling that out would cost too much reading, the answer is
//! corruption too: refusing to start is recoverable, losing acknowledged records is not.

use super::frame::{next_frame, Frame};
use super::report::FaultKind;
use super::window::Window;
use crate::error::Result;
use crate::format::{le_u32, le_u64, payload_len, FRAME_LEN};

/// Upper bound on payload bytes checksummed while looking for valid records inside a
/// bad frame's claimed extent. Past it the fault is reported as corruption: refusing to
/// start is recoverable, silently dropping acknowledged records is not.
const RESYNC_BUDGET: usize = 256 << 20;

/// Decides torn tail versus corruption for a bad frame at `offset` claiming to end at
/// `extent_end`. Torn only in the last segment, only if zeros (or EOF) follow the
/// extent, and only if no valid record starts inside it: a damaged length that
/// overshoots the rest of the data would otherwise hide acknowledged records.
pub(crate) fn classify(
    win: &mut Window,
    is_last: bool,
    offset: u64,
    extent_end: u64,
    file_len: u64,
    prev_seq: Option<u64>,
) -> Result<(FaultKind, Option<String>, u64)> {
    if !is_last {
        return Ok((FaultKind::Corrupt, None, extent_end));
    }
    if let Some(at) = win.first_nonzero(extent_end, file_len)? {
        return Ok((
            FaultKind::Corrupt,
            Some(format!("non-zero data follows at offset {at}")),
            extent_end,
        ));
    }
    // A valid frame has a non-zero length, so it starts before the last non-zero byte;
    // and a torn tail only needs zeroing up to that byte, not to the end of the
    // preallocated space.
    let data_end = match win.last_nonzero(offset, extent_end.min(file_len))? {
        Some(last) => last + 1,
        None => return Ok((FaultKind::TornTail, None, offset)),
    };
    let mut budget = RESYNC_BUDGET;
    for y in offset + 1..data_end {
        let head = win.get(y, FRAME_LEN as usize)?;
        if head.len() < FRAME_LEN as usize {
            break;
        }
        let body_len = le_u32(&head[0..4]);
        let seq = le_u64(&head[8..16]);
        // Cheap filters first: a plausible length that fits, and a seq that could follow.
        let fits = y + 8 + u64::from(body_len) <= file_len;
        let could_follow = prev_seq.is_none_or(|p| seq > p);
        let Some(cost) = payload_len(body_len).filter(|_| fits && could_follow) else {
            continue;
        };
        if cost > budget {
            return Ok((
                FaultKind::Corrupt,
                Some("too much data after it to rule out valid records".into()),
                extent_end,
            ));
        }
        budget -= cost;
        if let Frame::Record { .. } = next_frame(win, y, file_len)? {
            return Ok((
                FaultKind::Corrupt,
                Some(format!("a valid record follows at offset {y}")),
                extent_end,
            ));
        }
    }
    Ok((FaultKind::TornTail, None, data_end))
}
