//! Data and index blocks: prefix-compressed entries with restart points.
//!
//! Each entry stores only the key bytes it does not share with the previous key. Every
//! `restart_interval` entries the full key is stored and its offset recorded in the
//! restart array at the end of the block, so a seek binary-searches the restarts and then
//! decodes at most `restart_interval` entries.

use std::cmp::Ordering;
use std::sync::Arc;

use super::varint;
use crate::key;

/// Restart interval of data blocks (index blocks use 1: every key is a restart).
pub const DATA_RESTART_INTERVAL: usize = 16;

/// Builds one block in memory.
pub struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    counter: usize,
    interval: usize,
    last_key: Vec<u8>,
    entries: usize,
}

impl BlockBuilder {
    /// A builder that restarts prefix compression every `interval` entries.
    pub fn new(interval: usize) -> Self {
        BlockBuilder {
            buf: Vec::with_capacity(4096),
            restarts: Vec::new(),
            counter: 0,
            interval: interval.max(1),
            last_key: Vec::new(),
            entries: 0,
        }
    }

    /// Appends an entry; keys must come in increasing order.
    pub fn add(&mut self, key: &[u8], value: &[u8]) {
        let mut shared = 0;
        if self.counter < self.interval && self.entries > 0 {
            let max = self.last_key.len().min(key.len());
            while shared < max && self.last_key[shared] == key[shared] {
                shared += 1;
            }
        } else {
            self.restarts.push(self.buf.len() as u32);
            self.counter = 0;
        }
        varint::put(&mut self.buf, shared as u64);
        varint::put(&mut self.buf, (key.len() - shared) as u64);
        varint::put(&mut self.buf, value.len() as u64);
        self.buf.extend_from_slice(&key[shared..]);
        self.buf.extend_from_slice(value);
        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(&key[shared..]);
        self.counter += 1;
        self.entries += 1;
    }

    /// Size the block would have if finished now.
    pub fn estimated_size(&self) -> usize {
        self.buf.len() + self.restarts.len() * 4 + 4
    }

    /// Whether no entry was added since the last `finish`.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The last key added.
    pub fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// Appends the restart array and returns the block bytes; the builder is reset.
    pub fn finish(&mut self) -> Vec<u8> {
        if self.restarts.is_empty() {
            self.restarts.push(0);
        }
        for r in &self.restarts {
            self.buf.extend_from_slice(&r.to_le_bytes());
        }
        self.buf
            .extend_from_slice(&(self.restarts.len() as u32).to_le_bytes());
        let out = std::mem::replace(&mut self.buf, Vec::with_capacity(4096));
        self.restarts.clear();
        self.counter = 0;
        self.entries = 0;
        self.last_key.clear();
        out
    }
}

/// A parsed block over shared bytes (usually straight from the block cache).
#[derive(Clone)]
pub struct Block {
    data: Arc<Vec<u8>>,
    restarts_off: usize,
    num_restarts: usize,
}

impl Block {
    /// Validates the restart array of `data`.
    ///
    /// # Errors
    /// A static description when the restart array does not fit in the block.
    pub fn new(data: Arc<Vec<u8>>) -> Result<Block, &'static str> {
        let len = data.len();
        if len < 4 {
            return Err("block shorter than its restart count");
        }
        let mut n = [0u8; 4];
        n.copy_from_slice(&data[len - 4..]);
        let num_restarts = u32::from_le_bytes(n) as usize;
        let restarts_off = num_restarts
            .checked_mul(4)
            .and_then(|r| (len - 4).checked_sub(r))
            .ok_or("restart array larger than the block")?;
        if num_restarts == 0 {
            return Err("block has no restart point");
        }
        Ok(Block {
            data,
            restarts_off,
            num_restarts,
        })
    }

    fn restart(&self, i: usize) -> usize {
        let p = self.restarts_off + 4 * i;
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.data[p..p + 4]);
        u32::from_le_bytes(b) as usize
    }

    /// An iterator over the block; call a seek before reading.
    pub fn iter(self) -> BlockIter {
        BlockIter {
            block: self,
            next_off: 0,
            key: Vec::with_capacity(64),
            val_start: 0,
            val_end: 0,
            valid: false,
        }
    }
}

/// Cursor over one block's entries. Reuses one key buffer: no allocation per entry.
pub struct BlockIter {
    block: Block,
    next_off: usize,
    key: Vec<u8>,
    val_start: usize,
    val_end: usize,
    valid: bool,
}

impl BlockIter {
    /// Whether the cursor is on an entry.
    #[inline]
    pub fn valid(&self) -> bool {
        self.valid
    }

    /// Current key (internal key for data blocks).
    #[inline]
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// Current value.
    #[inline]
    pub fn value(&self) -> &[u8] {
        &self.block.data[self.val_start..self.val_end]
    }

    /// Decodes the entry at `next_off`; sets `valid = false` at the end of the entries.
    fn decode_next(&mut self) -> Result<(), &'static str> {
        let data = &self.block.data[..];
        let end = self.block.restarts_off;
        let mut p = self.next_off;
        if p >= end {
            self.valid = false;
            return Ok(());
        }
        let shared = varint::get_at(data, &mut p).ok_or("bad entry header")? as usize;
        let unshared = varint::get_at(data, &mut p).ok_or("bad entry header")? as usize;
        let vlen = varint::get_at(data, &mut p).ok_or("bad entry header")? as usize;
        if shared > self.key.len() {
            return Err("entry shares more bytes than the previous key has");
        }
        let kend = p.checked_add(unshared).ok_or("entry too long")?;
        let vend = kend.checked_add(vlen).ok_or("entry too long")?;
        if vend > end {
            return Err("entry runs past the block");
        }
        self.key.truncate(shared);
        self.key.extend_from_slice(&data[p..kend]);
        self.val_start = kend;
        self.val_end = vend;
        self.next_off = vend;
        self.valid = true;
        Ok(())
    }

    /// Moves to the next entry.
    ///
    /// # Errors
    /// A description of the damage when the entry cannot be decoded.
    #[inline]
    pub fn advance(&mut self) -> Result<(), &'static str> {
        self.decode_next()
    }

    /// Positions on the first entry.
    ///
    /// # Errors
    /// As [`BlockIter::advance`].
    pub fn seek_to_first(&mut self) -> Result<(), &'static str> {
        self.key.clear();
        self.next_off = self.block.restart(0);
        self.decode_next()
    }

    /// Positions on the first entry whose key is >= `target` under `cmp`.
    ///
    /// # Errors
    /// As [`BlockIter::advance`].
    pub fn seek_by(
        &mut self,
        target: &[u8],
        cmp: impl Fn(&[u8], &[u8]) -> Ordering,
    ) -> Result<(), &'static str> {
        // Binary search for the last restart whose key is < target.
        let (mut lo, mut hi) = (0usize, self.block.num_restarts);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            let k = self.restart_key(mid)?;
            if cmp(k, target) == Ordering::Less {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        self.key.clear();
        self.next_off = self.block.restart(lo);
        if self.next_off > self.block.restarts_off {
            return Err("restart point past the entries");
        }
        loop {
            self.decode_next()?;
            if !self.valid || cmp(&self.key, target) != Ordering::Less {
                return Ok(());
            }
        }
    }

    /// Seek using internal-key order.
    ///
    /// # Errors
    /// As [`BlockIter::advance`].
    #[inline]
    pub fn seek(&mut self, target: &[u8]) -> Result<(), &'static str> {
        self.seek_by(target, key::compare)
    }

    /// The full key stored at restart `i` (restart entries share nothing).
    fn restart_key(&self, i: usize) -> Result<&[u8], &'static str> {
        let data = &self.block.data[..];
        let mut p = self.block.restart(i);
        let _shared = varint::get_at(data, &mut p).ok_or("bad restart entry")?;
        let unshared = varint::get_at(data, &mut p).ok_or("bad restart entry")? as usize;
        let _vlen = varint::get_at(data, &mut p).ok_or("bad restart entry")?;
        let end = p.checked_add(unshared).ok_or("bad restart entry")?;
        if end > self.block.restarts_off {
            return Err("restart entry runs past the block");
        }
        Ok(&data[p..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(n: usize, interval: usize) -> Block {
        let mut b = BlockBuilder::new(interval);
        for i in 0..n {
            b.add(
                &key::encode(format!("key{i:05}").as_bytes(), 7),
                format!("v{i}").as_bytes(),
            );
        }
        Block::new(Arc::new(b.finish())).unwrap()
    }

    #[test]
    fn iterates_and_seeks() {
        for interval in [1, 16] {
            let blk = build(500, interval);
            let mut it = blk.clone().iter();
            it.seek_to_first().unwrap();
            let mut n = 0;
            while it.valid() {
                assert_eq!(it.value(), format!("v{n}").as_bytes());
                it.advance().unwrap();
                n += 1;
            }
            assert_eq!(n, 500);
            let mut it = blk.iter();
            it.seek(&key::encode(b"key00250", u64::MAX)).unwrap();
            assert_eq!(key::user_key(it.key()), b"key00250");
            it.seek(&key::encode(b"key00250x", u64::MAX)).unwrap();
            assert_eq!(key::user_key(it.key()), b"key00251");
            it.seek(&key::encode(b"a", 0)).unwrap();
            assert_eq!(key::user_key(it.key()), b"key00000");
            it.seek(&key::encode(b"z", 0)).unwrap();
            assert!(!it.valid());
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(Block::new(Arc::new(vec![1, 2])).is_err());
        assert!(Block::new(Arc::new(vec![0xff, 0xff, 0xff, 0x0f])).is_err());
        let mut bad = vec![0x05, 0x01, 0x01, b'a', b'b'];
        bad.extend_from_slice(&0u32.to_le_bytes());
        bad.extend_from_slice(&1u32.to_le_bytes());
        let mut it = Block::new(Arc::new(bad)).unwrap().iter();
        assert!(it.seek_to_first().is_err());
    }
}
