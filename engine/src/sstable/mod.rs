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
