//! Reads SSTables with positioned reads through the block cache.
//!
//! Nothing of a table is held in memory besides its footer fields: index and filter
//! blocks are fetched through the shared [`BlockCache`] like data blocks, and bytes come
//! from `pread`, never from a whole-file mapping, so resident memory stays within the
//! configured budget however many tables are open.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::block::{Block, BlockIter};
use super::{
    block_crc, filter, BlockHandle, Footer, BLOCK_RAW, BLOCK_TRAILER_LEN, BLOCK_ZSTD, FOOTER_LEN,
    FORMAT_VERSION, HEADER_LEN, HEADER_MAGIC,
};
use crate::cache::BlockCache;
use crate::coding::u32_at;
use crate::error::{EngineError, Result};
use crate::iterator::InternalIterator;
use crate::key::{self, KIND_PUT};
use crate::memtable::Lookup;
use crate::stats::StatsCounters;

/// Largest block the reader accepts; anything bigger is a corrupt handle.
const MAX_BLOCK: u64 = 1 << 30;

thread_local! {
    /// One zstd decompression context per thread: creating a context costs far more than
    /// decompressing a 4 KiB block, so it is reused across reads.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

fn decompress(src: &[u8], raw_len: usize) -> std::io::Result<Vec<u8>> {
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(zstd::bulk::Decompressor::new()?);
        }
        match d.as_mut() {
            Some(d) => d.decompress(src, raw_len),
            None => zstd::bulk::decompress(src, raw_len),
        }
    })
}

/// An open SSTable.
pub struct Table {
    id: u64,
    path: PathBuf,
    file: File,
    size: u64,
    filter: BlockHandle,
    index: BlockHandle,
    entries: u64,
    min_seq: u64,
    max_seq: u64,
    cache: Arc<BlockCache>,
    stats: Arc<StatsCounters>,
}

/// Checks the 8-byte header of the table file `file` at `path`: magic and format version.
fn check_header(file: &File, path: &Path) -> Result<()> {
    let mut header = [0u8; HEADER_LEN as usize];
    file.read_exact_at(&mut header, 0)
        .map_err(|e| EngineError::io(path, e))?;
    if &header[..4] != HEADER_MAGIC {
        return Err(EngineError::corruption(path, 0, "bad SSTable header magic"));
    }
    let hv = u32_at(&header, 4);
    if hv != FORMAT_VERSION {
        return Err(EngineError::corruption(
            path,
            4,
            format!("unsupported SSTable format version {hv}"),
        ));
    }
    Ok(())
}

/// Reads and checks the footer of the table file `file` (of `size` bytes) at `path`:
/// magic, checksum, format version.
fn read_footer(file: &File, path: &Path, size: u64) -> Result<Footer> {
    let foff = size - FOOTER_LEN as u64;
    let mut f = [0u8; FOOTER_LEN];
    file.read_exact_at(&mut f, foff)
        .map_err(|e| EngineError::io(path, e))?;
    if !Footer::magic_ok(&f) {
        return Err(EngineError::corruption(
            path,
            foff + Footer::MAGIC_AT as u64,
            "bad footer magic",
        ));
    }
    if !Footer::crc_ok(&f) {
        return Err(EngineError::corruption(
            path,
            foff,
            "footer checksum mismatch",
        ));
    }
    let footer = Footer::decode(&f);
    if footer.version != FORMAT_VERSION {
        return Err(EngineError::corruption(
            path,
            foff + Footer::VERSION_AT as u64,
            format!("unsupported SSTable format version {}", footer.version),
        ));
    }
    Ok(footer)
}

impl Table {
    /// Opens `path`, checking header and footer.
    ///
    /// # Errors
    /// I/O errors, or [`EngineError::Corruption`] naming the file when the header or footer
    /// is damaged.
    pub fn open(
        path: &Path,
        id: u64,
        cache: Arc<BlockCache>,
        stats: Arc<StatsCounters>,
    ) -> Result<Arc<Table>> {
        let file = File::open(path).map_err(|e| EngineError::io(path, e))?;
        let size = file.metadata().map_err(|e| EngineError::io(path, e))?.len();
        if size < HEADER_LEN + FOOTER_LEN as u64 {
            return Err(EngineError::corruption(
                path,
                0,
                format!("file of {size} bytes is too short to be an SSTable"),
            ));
        }
        check_header(&file, path)?;
        let footer = read_footer(&file, path, size)?;
        let t = Table {
            id,
            path: path.to_path_buf(),
            file,
            size,
            filter: footer.filter,
            index: footer.index,
            entries: footer.entries,
            min_seq: footer.min_seq,
            max_seq: footer.max_seq,
            cache,
            stats,
        };
        t.check_handle(t.index)?;
        if t.filter.size > 0 {
            t.check_handle(t.filter)?;
        }
        Ok(Arc::new(t))
    }

    fn check_handle(&self, h: BlockHandle) -> Result<()> {
        match h.end_with_trailer() {
            Some(end)
                if h.offset >= HEADER_LEN
                    && h.size <= MAX_BLOCK
                    && end <= self.size - FOOTER_LEN as u64 =>
            {
                Ok(())
            }
            _ => Err(EngineError::corruption(
                &self.path,
                h.offset,
                format!("block handle ({}, {}) outside the file", h.offset, h.size),
            )),
        }
    }

    /// The table's file id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The table's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// File size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Number of entries (from the footer).
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// (lowest, highest) seq in the table (from the footer).
    pub fn seq_range(&self) -> (u64, u64) {
        (self.min_seq, self.max_seq)
    }

    /// Reads, verifies and decompresses one block, through the cache.
    fn read_block(&self, h: BlockHandle, fill_cache: bool) -> Result<Arc<Vec<u8>>> {
        let ck = (self.id, h.offset);
        if let Some(b) = self.cache.get(ck) {
            return Ok(b);
        }
        self.check_handle(h)?;
        let (buf, kind) = self.read_verified(h)?;
        let data = Arc::new(self.unpack(h, buf, kind)?);
        if fill_cache {
            self.cache.insert(ck, data.clone());
        }
        Ok(data)
    }

    /// Reads the stored bytes of block `h` and its trailer from the file and checks the
    /// trailer's CRC. Returns the stored bytes (with the trailer still on) and the block
    /// type byte.
    fn read_verified(&self, h: BlockHandle) -> Result<(Vec<u8>, u8)> {
        let n = h.size as usize + BLOCK_TRAILER_LEN;
        let mut buf = vec![0u8; n];
        self.file
            .read_exact_at(&mut buf, h.offset)
            .map_err(|e| EngineError::io(&self.path, e))?;
        StatsCounters::add(&self.stats.blocks_read, 1);
        StatsCounters::add(&self.stats.block_bytes_read, n as u64);
        let (payload, trailer) = buf.split_at(h.size as usize);
        let kind = trailer[0];
        if block_crc(payload, kind) != u32_at(trailer, 1) {
            return Err(self.corrupt(h.offset, "block checksum mismatch"));
        }
        Ok((buf, kind))
    }

    /// The block's contents from its verified stored bytes `buf` (trailer included) of
    /// type `kind`.
    fn unpack(&self, h: BlockHandle, mut buf: Vec<u8>, kind: u8) -> Result<Vec<u8>> {
        match kind {
            BLOCK_RAW => {
                buf.truncate(h.size as usize);
                Ok(buf)
            }
            BLOCK_ZSTD => self.decompress_block(h, &buf[..h.size as usize]),
            other => Err(self.corrupt(h.offset, &format!("unknown block type {other}"))),
        }
    }

    /// Decompresses a zstd block's stored bytes: its uncompressed length (u32), then the
    /// zstd frame.
    fn decompress_block(&self, h: BlockHandle, payload: &[u8]) -> Result<Vec<u8>> {
        if payload.len() < 4 {
            return Err(self.corrupt(h.offset, "compressed block too short"));
        }
        let raw_len = u32_at(payload, 0) as usize;
        if raw_len as u64 > MAX_BLOCK {
            return Err(self.corrupt(h.offset, "compressed block claims an absurd size"));
        }
        let out = decompress(&payload[4..], raw_len)
            .map_err(|e| self.corrupt(h.offset, &format!("zstd: {e}")))?;
        if out.len() != raw_len {
            return Err(self.corrupt(h.offset, "decompressed size differs from the recorded size"));
        }
        Ok(out)
    }

    fn block(&self, h: BlockHandle, fill_cache: bool) -> Result<Block> {
        let data = self.read_block(h, fill_cache)?;
        Block::new(data).map_err(|m| EngineError::corruption(&self.path, h.offset, m))
    }

    fn corrupt(&self, offset: u64, m: &str) -> EngineError {
        EngineError::corruption(&self.path, offset, m)
    }

    /// Point lookup of the newest version of `ikey`'s user key with seq <= `ikey`'s seq.
    /// `hash` is [`filter::hash_key`] of the user key.
    ///
    /// # Errors
    /// I/O errors and corruption, naming the file.
    pub fn get(&self, ikey: &[u8], hash: u64) -> Result<Lookup> {
        if self.filter.size > 0 {
            let f = self.read_block(self.filter, true)?;
            if !filter::may_contain(&f, hash) {
                StatsCounters::add(&self.stats.bloom_negatives, 1);
                return Ok(Lookup::NotHere);
            }
        }
        let mut idx = self.block(self.index, true)?.iter();
        idx.seek(ikey)
            .map_err(|m| self.corrupt(self.index.offset, m))?;
        if !idx.valid() {
            return Ok(Lookup::NotHere);
        }
        let h = BlockHandle::decode(idx.value())
            .ok_or_else(|| self.corrupt(self.index.offset, "bad block handle in index"))?;
        let mut it = self.block(h, true)?.iter();
        it.seek(ikey).map_err(|m| self.corrupt(h.offset, m))?;
        if !it.valid() || key::user_key(it.key()) != key::user_key(ikey) {
            return Ok(Lookup::NotHere);
        }
        let v = it.value();
        match v.first() {
            Some(&KIND_PUT) => Ok(Lookup::Value(v[1..].to_vec())),
            Some(_) => Ok(Lookup::Deleted),
            None => Err(self.corrupt(h.offset, "entry without a kind byte")),
        }
    }

    /// A forward iterator over the table. `fill_cache = false` keeps one-off scans (as in
    /// compaction) from evicting the hot set.
    pub fn iter(self: &Arc<Self>, fill_cache: bool) -> TableIter {
        TableIter {
            table: self.clone(),
            index: None,
            data: None,
            data_offset: 0,
            fill_cache,
        }
    }
}

/// Two-level iterator: index block → data blocks.
pub struct TableIter {
    table: Arc<Table>,
    index: Option<BlockIter>,
    data: Option<BlockIter>,
    data_offset: u64,
    fill_cache: bool,
}

impl TableIter {
    fn index_iter(&mut self) -> Result<&mut BlockIter> {
        if self.index.is_none() {
            let b = self.table.block(self.table.index, self.fill_cache)?;
            self.index = Some(b.iter());
        }
        self.index
            .as_mut()
            .ok_or_else(|| EngineError::Background("index iterator missing".into()))
    }

    /// Loads the data block the index cursor points at; `None` past the end.
    fn load_data(&mut self) -> Result<()> {
        let t = self.table.clone();
        let idx = self.index_iter()?;
        if !idx.valid() {
            self.data = None;
            return Ok(());
        }
        let h = BlockHandle::decode(idx.value())
            .ok_or_else(|| t.corrupt(t.index.offset, "bad block handle in index"))?;
        self.data_offset = h.offset;
        self.data = Some(t.block(h, self.fill_cache)?.iter());
        Ok(())
    }

    /// Skips empty positions: moves to following blocks while the data cursor is spent.
    fn skip_forward(&mut self) -> Result<()> {
        while self.data.as_ref().is_some_and(|d| !d.valid()) {
            let t = self.table.clone();
            let idx = self.index_iter()?;
            idx.advance().map_err(|m| t.corrupt(t.index.offset, m))?;
            self.load_data()?;
            let off = self.data_offset;
            if let Some(d) = self.data.as_mut() {
                d.seek_to_first().map_err(|m| t.corrupt(off, m))?;
            }
        }
        Ok(())
    }
}

impl InternalIterator for TableIter {
    fn valid(&self) -> bool {
        self.data.as_ref().is_some_and(|d| d.valid())
    }

    fn key(&self) -> &[u8] {
        self.data.as_ref().map_or(&[], |d| d.key())
    }

    fn value(&self) -> &[u8] {
        self.data.as_ref().map_or(&[], |d| d.value())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        let t = self.table.clone();
        self.index_iter()?
            .seek(target)
            .map_err(|m| t.corrupt(t.index.offset, m))?;
        self.load_data()?;
        let off = self.data_offset;
        if let Some(d) = self.data.as_mut() {
            d.seek(target).map_err(|m| t.corrupt(off, m))?;
        }
        self.skip_forward()
    }

    fn seek_to_first(&mut self) -> Result<()> {
        let t = self.table.clone();
        self.index_iter()?
            .seek_to_first()
            .map_err(|m| t.corrupt(t.index.offset, m))?;
        self.load_data()?;
        let off = self.data_offset;
        if let Some(d) = self.data.as_mut() {
            d.seek_to_first().map_err(|m| t.corrupt(off, m))?;
        }
        self.skip_forward()
    }

    fn next(&mut self) -> Result<()> {
        let off = self.data_offset;
        if let Some(d) = self.data.as_mut() {
            d.advance().map_err(|m| self.table.corrupt(off, m))?;
        }
        self.skip_forward()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Compression;
    use crate::sstable::TableBuilder;

    fn write_table(dir: &Path, n: u32, c: Compression) -> PathBuf {
        let p = dir.join("000001.sst");
        let mut b = TableBuilder::create(&p, 4096, c, 10).unwrap();
        for i in 0..n {
            let k = key::encode(format!("user{i:06}").as_bytes(), u64::from(i) + 1);
            let mut v = vec![KIND_PUT];
            v.extend_from_slice(format!("value-{i}").as_bytes());
            b.add(&k, &v).unwrap();
        }
        let meta = b.finish().unwrap();
        assert_eq!(meta.entries, u64::from(n));
        assert_eq!(meta.max_seq, u64::from(n));
        p
    }

    #[test]
    fn round_trip_get_and_scan() {
        for c in [Compression::None, Compression::Zstd { level: 1 }] {
            let dir = tempfile::tempdir().unwrap();
            let p = write_table(dir.path(), 20_000, c);
            let cache = Arc::new(BlockCache::new(1 << 20));
            let t = Table::open(&p, 1, cache, Arc::default()).unwrap();
            for i in (0..20_000u32).step_by(97) {
                let k = key::encode(format!("user{i:06}").as_bytes(), u64::MAX);
                let h = filter::hash_key(key::user_key(&k));
                assert_eq!(
                    t.get(&k, h).unwrap(),
                    Lookup::Value(format!("value-{i}").into_bytes())
                );
                // Below the key's seq it is not visible.
                let k0 = key::encode(format!("user{i:06}").as_bytes(), u64::from(i));
                assert_eq!(t.get(&k0, h).unwrap(), Lookup::NotHere);
            }
            let mut it = t.iter(true);
            it.seek(&key::encode(b"user010000", u64::MAX)).unwrap();
            let mut n = 10_000;
            while it.valid() {
                assert_eq!(key::user_key(it.key()), format!("user{n:06}").as_bytes());
                it.next().unwrap();
                n += 1;
            }
            assert_eq!(n, 20_000);
        }
    }

    #[test]
    fn flipped_byte_is_reported_with_the_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_table(dir.path(), 5_000, Compression::None);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[100] ^= 0x40;
        std::fs::write(&p, &bytes).unwrap();
        let t = Table::open(&p, 1, Arc::new(BlockCache::new(1 << 20)), Arc::default()).unwrap();
        let mut it = t.iter(true);
        let err = it.seek_to_first().unwrap_err();
        assert!(err.is_corruption());
        assert!(err.to_string().contains("000001.sst"), "{err}");
    }
}
