//! Sorted string tables: immutable files of internal keys in order.
//!
//! Layout (every byte is in docs/FORMATS.md): an 8-byte header, data blocks, one bloom
//! filter block, one index block, and a fixed-size footer. Each block on disk is followed
//! by a compression-type byte and a CRC32 of the block bytes and that type byte, so a
//! flipped bit anywhere is found before the block is parsed.

pub mod block;
pub mod builder;
pub mod filter;
pub mod reader;

pub use builder::{TableBuilder, TableMeta};

use crate::coding::{u32_at, u64_at};
pub use reader::{Table, TableIter};

/// First four bytes of every SSTable.
pub const HEADER_MAGIC: &[u8; 4] = b"WSST";
/// Last eight bytes of every SSTable.
pub const FOOTER_MAGIC: u64 = 0x5741_5252_454e_5354; // "WARRENST" read as big-endian
/// Format version written in the header and footer.
pub const FORMAT_VERSION: u32 = 1;
/// Size of the header: magic + version.
pub const HEADER_LEN: u64 = 8;
/// Size of the footer.
pub const FOOTER_LEN: usize = 72;
/// Bytes after each block on disk: type byte + CRC32.
pub const BLOCK_TRAILER_LEN: usize = 5;
/// Block type byte: stored as is.
pub const BLOCK_RAW: u8 = 0;
/// Block type byte: zstd-compressed, preceded by its uncompressed length (u32).
pub const BLOCK_ZSTD: u8 = 1;

/// Where a block lives in its file (`size` excludes the 5-byte trailer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockHandle {
    /// Offset of the block's first byte.
    pub offset: u64,
    /// Length of the stored (possibly compressed) block bytes.
    pub size: u64,
}

impl BlockHandle {
    /// Offset just past the block's trailer; `None` when that overflows (a corrupt
    /// handle).
    pub(crate) fn end_with_trailer(&self) -> Option<u64> {
        self.offset
            .checked_add(self.size)
            .and_then(|e| e.checked_add(BLOCK_TRAILER_LEN as u64))
    }

    /// Appends the handle as two varints.
    pub fn encode_to(&self, out: &mut Vec<u8>) {
        varint::put(out, self.offset);
        varint::put(out, self.size);
    }

    /// Parses a handle written by [`BlockHandle::encode_to`].
    pub fn decode(mut b: &[u8]) -> Option<BlockHandle> {
        let offset = varint::get(&mut b)?;
        let size = varint::get(&mut b)?;
        Some(BlockHandle { offset, size })
    }
}

/// The CRC32 a block trailer stores: of the stored block bytes, then the type byte.
pub(crate) fn block_crc(payload: &[u8], kind: u8) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(payload);
    h.update(&[kind]);
    h.finalize()
}

/// The fixed-size footer, decoded. On disk (all little-endian): filter handle
/// (offset, size) at 0, index handle at 16, entry count at 32, lowest and highest seq at
/// 40 and 48, format version (u32) at [`Footer::VERSION_AT`], a CRC32 of the 60 bytes
/// before it at [`Footer::CRC_AT`], and [`FOOTER_MAGIC`] at [`Footer::MAGIC_AT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Footer {
    pub(crate) filter: BlockHandle,
    pub(crate) index: BlockHandle,
    pub(crate) entries: u64,
    pub(crate) min_seq: u64,
    pub(crate) max_seq: u64,
    pub(crate) version: u32,
}

impl Footer {
    /// Offset of the entry count within the footer.
    pub(crate) const ENTRIES_AT: usize = 32;
    /// Offset of the format version within the footer.
    pub(crate) const VERSION_AT: usize = 56;
    /// Offset of the CRC32 within the footer (it covers every byte before it).
    pub(crate) const CRC_AT: usize = 60;
    /// Offset of the magic number within the footer.
    pub(crate) const MAGIC_AT: usize = 64;

    /// The footer's bytes, checksummed and ending in the magic number.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut footer = Vec::with_capacity(FOOTER_LEN);
        for v in [
            self.filter.offset,
            self.filter.size,
            self.index.offset,
            self.index.size,
            self.entries,
            self.min_seq,
            self.max_seq,
        ] {
            footer.extend_from_slice(&v.to_le_bytes());
        }
        footer.extend_from_slice(&self.version.to_le_bytes());
        let crc = crc32fast::hash(&footer);
        footer.extend_from_slice(&crc.to_le_bytes());
        footer.extend_from_slice(&FOOTER_MAGIC.to_le_bytes());
        debug_assert_eq!(footer.len(), FOOTER_LEN);
        footer
    }

    /// Whether the [`FOOTER_LEN`] bytes `f` end in the magic number.
    pub(crate) fn magic_ok(f: &[u8]) -> bool {
        u64_at(f, Self::MAGIC_AT) == FOOTER_MAGIC
    }

    /// Whether the CRC32 in the [`FOOTER_LEN`] bytes `f` matches the bytes it covers.
    pub(crate) fn crc_ok(f: &[u8]) -> bool {
        crc32fast::hash(&f[..Self::CRC_AT]) == u32_at(f, Self::CRC_AT)
    }

    /// The fields of the [`FOOTER_LEN`] bytes `f` (checked by the caller, with
    /// [`Footer::magic_ok`] and [`Footer::crc_ok`], as it sees fit).
    pub(crate) fn decode(f: &[u8]) -> Footer {
        Footer {
            filter: BlockHandle {
                offset: u64_at(f, 0),
                size: u64_at(f, 8),
            },
            index: BlockHandle {
                offset: u64_at(f, 16),
                size: u64_at(f, 24),
            },
            entries: u64_at(f, Self::ENTRIES_AT),
            min_seq: u64_at(f, 40),
            max_seq: u64_at(f, 48),
            version: u32_at(f, Self::VERSION_AT),
        }
    }
}

/// LEB128 unsigned varints.
pub mod varint {
    /// Appends `v` as a varint.
    #[inline]
    pub fn put(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    /// Reads a varint from the front of `b`, advancing it; `None` if truncated or too long.
    #[inline]
    pub fn get(b: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let byte = *b.get(i)?;
            v |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                *b = &b[i + 1..];
                return Some(v);
            }
        }
        None
    }

    /// Reads a varint at `data[*pos..]`, advancing `pos`.
    #[inline]
    pub fn get_at(data: &[u8], pos: &mut usize) -> Option<u64> {
        // Fast path: lengths in blocks are almost always below 128.
        let first = *data.get(*pos)?;
        if first < 0x80 {
            *pos += 1;
            return Some(u64::from(first));
        }
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let byte = *data.get(*pos)?;
            *pos += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(v);
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut b = Vec::new();
            varint::put(&mut b, v);
            let mut s = &b[..];
            assert_eq!(varint::get(&mut s), Some(v));
            assert!(s.is_empty());
            let mut p = 0;
            assert_eq!(varint::get_at(&b, &mut p), Some(v));
        }
        assert_eq!(varint::get(&mut &[0x80u8][..]), None);
        let h = BlockHandle {
            offset: 9,
            size: 4096,
        };
        let mut b = Vec::new();
        h.encode_to(&mut b);
        assert_eq!(BlockHandle::decode(&b), Some(h));
    }
}
