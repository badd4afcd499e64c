//! The one tool that writes to a segment: rewriting a record's checksum.
//!
//! It exists for `txnlog recover`, after an operator has decided that a record's payload
//! is right and only its checksum is wrong. It delimits the record by the same length
//! rule as the parser, so it can never rewrite a frame the parser would not read, and
//! it syncs before returning so that the repair is as durable as the log.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{Result, WalError};
use crate::format::{le_u32, le_u64, payload_len, record_crc, FRAME_LEN, HEADER_LEN};
use crate::io::file_len;

/// Recomputes and rewrites the checksum of the record frame at `offset`, for a
/// `txnlog recover` tool that has decided the payload is right and the checksum wrong.
/// Returns `(old, new)` checksums. The file is fsynced. Never use on a live log.
///
/// # Errors
/// `Io` on read/write failure; `Corrupt` if the frame's length field is implausible (the
/// record cannot be delimited, so no checksum can be computed for it).
pub fn rewrite_record_checksum(path: &Path, offset: u64) -> Result<(u32, u32)> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| WalError::io("open", path, e))?;
    let file_len = file_len(&file, path)?;
    let mut head = [0u8; FRAME_LEN as usize];
    if offset < HEADER_LEN || offset + FRAME_LEN > file_len {
        return Err(WalError::corrupt(
            path,
            offset,
            "no record frame at this offset",
        ));
    }
    file.read_exact_at(&mut head, offset)
        .map_err(|e| WalError::io("read", path, e))?;
    let body_len = le_u32(&head[0..4]);
    let fits = offset + 8 + u64::from(body_len) <= file_len;
    let Some(len) = payload_len(body_len).filter(|_| fits) else {
        return Err(WalError::corrupt(
            path,
            offset,
            format!("implausible record length {body_len}"),
        ));
    };
    let old = le_u32(&head[4..8]);
    let seq = le_u64(&head[8..16]);
    let mut payload = vec![0u8; len];
    file.read_exact_at(&mut payload, offset + FRAME_LEN)
        .map_err(|e| WalError::io("read", path, e))?;
    let new = record_crc(body_len, seq, &payload);
    file.write_all_at(&new.to_le_bytes(), offset + 4)
        .map_err(|e| WalError::io("write", path, e))?;
    file.sync_data()
        .map_err(|e| WalError::io("fsync", path, e))?;
    Ok((old, new))
}
