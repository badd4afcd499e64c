//! The bytes of a segment file, and nothing else: constants, header and frame encoding.
//!
//! Everything here is pure so that the writer, the open-time verifier and the offline
//! tools agree on one definition of the format. `docs/FORMATS.md` ("WAL segments")
//! documents the same layout byte by byte; change both together.

/// First eight bytes of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"WARRNWAL";
/// Format version written into every segment header.
pub const FORMAT_VERSION: u32 = 1;
/// Size of the segment header; the first record frame starts at this offset.
pub const HEADER_LEN: u64 = 32;
/// Size of a record frame before its payload: length, CRC32 and seq.
pub const FRAME_LEN: u64 = 16;
/// The length field counts the seq and the payload, so it is never below this.
pub(crate) const MIN_BODY_LEN: u32 = 8;
/// Largest payload accepted by `append`. It bounds the memory a reader allocates for a
/// record whose length field is damaged, and is far above ZooKeeper's 1 MiB jute limit.
pub const MAX_PAYLOAD: usize = 128 << 20;

/// The parsed header of a segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Format version found in the file.
    pub version: u32,
    /// The seq of the first record the segment was created for; also in the file name.
    pub first_seq: u64,
}

/// File name of the segment whose first record has `first_seq`.
pub fn segment_file_name(first_seq: u64) -> String {
    format!("wal-{first_seq:016x}.log")
}

/// Inverse of [`segment_file_name`]; `None` for any other file name.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let hex = name.strip_prefix("wal-")?.strip_suffix(".log")?;
    if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

pub(crate) fn encode_header(first_seq: u64) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[0..8].copy_from_slice(&SEGMENT_MAGIC);
    h[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
    h[16..24].copy_from_slice(&first_seq.to_le_bytes());
    // 24..28 reserved, zero.
    let crc = crc32fast::hash(&h[0..28]);
    h[28..32].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Parses and checks a segment header. The error string is the reason for a
/// `WalError::Corrupt` at offset 0.
pub(crate) fn decode_header(h: &[u8]) -> Result<SegmentHeader, String> {
    if h.len() < HEADER_LEN as usize {
        return Err(format!(
            "header is {} bytes, expected {HEADER_LEN}",
            h.len()
        ));
    }
    if h[0..8] != SEGMENT_MAGIC {
        return Err("bad magic: not a warren wal segment".into());
    }
    let stored = le_u32(&h[28..32]);
    let actual = crc32fast::hash(&h[0..28]);
    if stored != actual {
        return Err(format!(
            "header checksum mismatch (stored {stored:08x}, computed {actual:08x})"
        ));
    }
    let version = le_u32(&h[8..12]);
    if version != FORMAT_VERSION {
        return Err(format!("unsupported format version {version}"));
    }
    let header_len = le_u32(&h[12..16]);
    if u64::from(header_len) != HEADER_LEN {
        return Err(format!("unsupported header length {header_len}"));
    }
    Ok(SegmentHeader {
        version,
        first_seq: le_u64(&h[16..24]),
    })
}

/// CRC32 of a record: covers the length field, the seq and the payload, so a damaged
/// length is caught as surely as a damaged payload.
pub(crate) fn record_crc(body_len: u32, seq: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&body_len.to_le_bytes());
    hasher.update(&seq.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// The 16 frame bytes that precede `payload` on disk. Computed outside any lock by
/// appenders; only the copy into the shared batch buffer is serialised.
pub(crate) fn encode_frame(seq: u64, payload: &[u8]) -> [u8; FRAME_LEN as usize] {
    // Callers have checked `payload.len() <= MAX_PAYLOAD`, far below u32::MAX.
    let body_len = MIN_BODY_LEN + payload.len() as u32;
    let crc = record_crc(body_len, seq, payload);
    let mut f = [0u8; FRAME_LEN as usize];
    f[0..4].copy_from_slice(&body_len.to_le_bytes());
    f[4..8].copy_from_slice(&crc.to_le_bytes());
    f[8..16].copy_from_slice(&seq.to_le_bytes());
    f
}

/// The payload length that a frame's length field `body_len` implies, or `None` when no
/// record `append` accepts has that length field (too short to hold the seq, or a
/// payload above [`MAX_PAYLOAD`]).
pub(crate) fn payload_len(body_len: u32) -> Option<usize> {
    let len = body_len.checked_sub(MIN_BODY_LEN)? as usize;
    (len <= MAX_PAYLOAD).then_some(len)
}

pub(crate) fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

pub(crate) fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_detects_damage() {
        let h = encode_header(0x1234_5678_9abc);
        let parsed = decode_header(&h).unwrap();
        assert_eq!(parsed.first_seq, 0x1234_5678_9abc);
        assert_eq!(parsed.version, FORMAT_VERSION);
        for i in 0..h.len() {
            let mut bad = h;
            bad[i] ^= 0x40;
            assert!(decode_header(&bad).is_err(), "flip at byte {i} undetected");
        }
        assert!(decode_header(&h[..10]).is_err());
    }

    #[test]
    fn file_names_round_trip() {
        assert_eq!(segment_file_name(0x2a), "wal-000000000000002a.log");
        assert_eq!(
            parse_segment_file_name("wal-000000000000002a.log"),
            Some(0x2a)
        );
        assert_eq!(parse_segment_file_name("wal-2a.log"), None);
        assert_eq!(
            parse_segment_file_name("wal-000000000000002a.log.tmp"),
            None
        );
        assert_eq!(parse_segment_file_name("LOCK"), None);
    }

    #[test]
    fn frame_crc_covers_length_seq_and_payload() {
        let f = encode_frame(7, b"abc");
        assert_eq!(le_u32(&f[0..4]), 11);
        assert_eq!(le_u64(&f[8..16]), 7);
        let crc = le_u32(&f[4..8]);
        assert_eq!(crc, record_crc(11, 7, b"abc"));
        assert_ne!(crc, record_crc(12, 7, b"abc"));
        assert_ne!(crc, record_crc(11, 8, b"abc"));
        assert_ne!(crc, record_crc(11, 7, b"abd"));
    }
}
