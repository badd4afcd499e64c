//! Reading and verifying segment files: shared by `Wal::open`, replay and offline tools.
//!
//! One parser, [`next_frame`](frame::next_frame), decides what every offset of a segment holds. The open
//! path, `read_from`, [`SegmentReader`] and [`verify_dir`] all go through it, so the tools
//! can never disagree with the server about which bytes are good.
//!
//! The torn-tail rule lives here too ([`classify`](torn::classify)): a bad frame in the *last* segment is
//! a torn tail when nothing but zero bytes follows the extent the frame claims; anything
//! else is corruption.
//!
//! * `window`: cached reads over a file, so parsing costs no syscall per record.
//! * `frame`: the one parser.
//! * `torn`: torn tail or corruption.
//! * `report`: what verification finds ([`Fault`], [`SegmentReport`], [`VerifyReport`]).
//! * `verify`: whole-segment and whole-directory verification.
//! * `reader`: [`SegmentReader`], record by record, stopping at the first fault.
//! * `checksum`: [`rewrite_record_checksum`], the one tool that writes.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Result, WalError};
use crate::format::parse_segment_file_name;

mod checksum;
mod frame;
mod reader;
mod report;
mod torn;
mod verify;
mod window;

pub use checksum::rewrite_record_checksum;
pub use reader::{read_segment_file, Record, SegmentReader};
pub use report::{Fault, FaultKind, SegmentReport, VerifyReport};
pub(crate) use verify::{placement_faults, scan_segment};
pub use verify::{verify_dir, verify_segment};

/// Segment files of `dir`, sorted by first seq. Other files are ignored.
///
/// # Errors
/// The directory cannot be listed.
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let rd = fs::read_dir(dir).map_err(|e| WalError::io("list directory", dir, e))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| WalError::io("list directory", dir, e))?;
        let name = entry.file_name();
        if let Some(seq) = name.to_str().and_then(parse_segment_file_name) {
            out.push((seq, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}
