//! Little-endian fixed-width integers at an offset, as every on-disk format of the engine
//! (SSTable footers and block trailers, manifest records) stores them.
//!
//! Both panic when `b` is too short: callers check lengths first, as a length they did
//! not check is a bug and not damaged data.

/// The `u32` stored little-endian at `b[at..at + 4]`.
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

/// The `u64` stored little-endian at `b[at..at + 8]`.
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}
