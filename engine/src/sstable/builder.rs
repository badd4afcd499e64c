//! Writes one SSTable from entries given in internal-key order.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::block::{BlockBuilder, DATA_RESTART_INTERVAL};
use super::{
    block_crc, filter, BlockHandle, Footer, BLOCK_RAW, BLOCK_ZSTD, FORMAT_VERSION, HEADER_MAGIC,
};
use crate::error::{EngineError, Result};
use crate::key;
use crate::options::Compression;

/// What the manifest needs to know about a finished table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMeta {
    /// File size in bytes.
    pub size: u64,
    /// Smallest internal key.
    pub smallest: Vec<u8>,
    /// Largest internal key.
    pub largest: Vec<u8>,
    /// Lowest seq of any entry.
    pub min_seq: u64,
    /// Highest seq of any entry.
    pub max_seq: u64,
    /// Number of entries.
    pub entries: u64,
}

/// Builds a table file. Call [`TableBuilder::finish`] to make it durable.
pub struct TableBuilder {
    path: PathBuf,
    w: BufWriter<File>,
    offset: u64,
    data: BlockBuilder,
    index: BlockBuilder,
    hashes: Vec<u64>,
    last_key: Vec<u8>,
    smallest: Vec<u8>,
    entries: u64,
    /// Uncompressed bytes of the blocks written (see [`TableBuilder::raw_size`]).
    raw_bytes: u64,
    min_seq: u64,
    max_seq: u64,
    block_bytes: usize,
    bloom_bits: u32,
    compressor: Option<zstd::bulk::Compressor<'static>>,
    handle_buf: Vec<u8>,
}

impl TableBuilder {
    /// Creates `path` (which must not exist) and writes the header.
    ///
    /// # Errors
    /// I/O errors naming `path`.
    pub fn create(
        path: &Path,
        block_bytes: usize,
        compression: Compression,
        bloom_bits: u32,
    ) -> Result<Self> {
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| EngineError::io(path, e))?;
        let compressor = match compression {
            Compression::None => None,
            Compression::Zstd { level } => {
                Some(zstd::bulk::Compressor::new(level).map_err(|e| EngineError::io(path, e))?)
            }
        };
        let mut b = TableBuilder {
            path: path.to_path_buf(),
            w: BufWriter::with_capacity(256 << 10, file),
            offset: 0,
            data: BlockBuilder::new(DATA_RESTART_INTERVAL),
            index: BlockBuilder::new(1),
            hashes: Vec::new(),
            last_key: Vec::new(),
            smallest: Vec::new(),
            entries: 0,
            raw_bytes: 0,
            min_seq: u64::MAX,
            max_seq: 0,
            block_bytes,
            bloom_bits,
            compressor,
            handle_buf: Vec::with_capacity(20),
        };
        let mut header = [0u8; 8];
        header[..4].copy_from_slice(HEADER_MAGIC);
        header[4..].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b.write_all(&header)?;
        Ok(b)
    }

    fn write_all(&mut self, b: &[u8]) -> Result<()> {
        self.w
            .write_all(b)
            .map_err(|e| EngineError::io(&self.path, e))?;
        self.offset += b.len() as u64;
        Ok(())
    }

    /// Adds an entry. Keys must be strictly increasing internal keys; `value` starts with
    /// the kind byte.
    ///
    /// # Errors
    /// I/O errors naming the file.
    pub fn add(&mut self, ikey: &[u8], value: &[u8]) -> Result<()> {
        let user = key::user_key(ikey);
        if self.entries == 0 {
            self.smallest = ikey.to_vec();
        }
        if self.bloom_bits > 0 && (self.entries == 0 || key::user_key(&self.last_key) != user) {
            self.hashes.push(filter::hash_key(user));
        }
        let s = key::seq(ikey);
        self.min_seq = self.min_seq.min(s);
        self.max_seq = self.max_seq.max(s);
        self.data.add(ikey, value);
        self.last_key.clear();
        self.last_key.extend_from_slice(ikey);
        self.entries += 1;
        if self.data.estimated_size() >= self.block_bytes {
            self.flush_data_block()?;
        }
        Ok(())
    }

    /// Bytes written so far plus the pending block: where the file size is heading.
    pub fn estimated_size(&self) -> u64 {
        self.offset + self.data.estimated_size() as u64
    }

    /// Uncompressed bytes of the blocks so far plus the pending block. Compaction cuts
    /// files on this rather than on the compressed size: the index block grows with the
    /// number of data blocks, so a file of very compressible data cut by compressed size
    /// would get an index too large for the block cache to hold.
    pub fn raw_size(&self) -> u64 {
        self.raw_bytes + self.data.estimated_size() as u64
    }

    /// Entries added so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    fn flush_data_block(&mut self) -> Result<()> {
        if self.data.is_empty() {
            return Ok(());
        }
        let raw = self.data.finish();
        let h = self.write_block(&raw, true)?;
        self.handle_buf.clear();
        h.encode_to(&mut self.handle_buf);
        let hb = std::mem::take(&mut self.handle_buf);
        self.index.add(&self.last_key, &hb);
        self.handle_buf = hb;
        Ok(())
    }

    fn write_block(&mut self, raw: &[u8], compress: bool) -> Result<BlockHandle> {
        self.raw_bytes += raw.len() as u64;
        let mut compressed = None;
        if compress {
            if let Some(c) = self.compressor.as_mut() {
                let z = c
                    .compress(raw)
                    .map_err(|e| EngineError::io(&self.path, e))?;
                if z.len() + 4 < raw.len() {
                    let mut p = Vec::with_capacity(z.len() + 4);
                    p.extend_from_slice(&(raw.len() as u32).to_le_bytes());
                    p.extend_from_slice(&z);
                    compressed = Some(p);
                }
            }
        }
        let (payload, kind) = match &compressed {
            Some(p) => (&p[..], BLOCK_ZSTD),
            None => (raw, BLOCK_RAW),
        };
        let handle = BlockHandle {
            offset: self.offset,
            size: payload.len() as u64,
        };
        let crc = block_crc(payload, kind);
        let mut trailer = [0u8; 5];
        trailer[0] = kind;
        trailer[1..].copy_from_slice(&crc.to_le_bytes());
        self.w
            .write_all(payload)
            .and_then(|_| self.w.write_all(&trailer))
            .map_err(|e| EngineError::io(&self.path, e))?;
        self.offset += payload.len() as u64 + 5;
        Ok(handle)
    }

    /// Writes filter, index and footer, fsyncs, and returns the table's metadata.
    ///
    /// # Errors
    /// I/O errors naming the file.
    pub fn finish(mut self) -> Result<TableMeta> {
        self.flush_data_block()?;
        let filter_handle = if self.bloom_bits > 0 {
            let f = filter::build(&self.hashes, self.bloom_bits);
            self.write_block(&f, false)?
        } else {
            BlockHandle::default()
        };
        let idx = self.index.finish();
        let index_handle = self.write_block(&idx, true)?;
        let min_seq = if self.entries == 0 { 0 } else { self.min_seq };
        let footer = Footer {
            filter: filter_handle,
            index: index_handle,
            entries: self.entries,
            min_seq,
            max_seq: self.max_seq,
            version: FORMAT_VERSION,
        }
        .encode();
        self.write_all(&footer)?;
        self.w.flush().map_err(|e| EngineError::io(&self.path, e))?;
        self.w
            .get_ref()
            .sync_all()
            .map_err(|e| EngineError::io(&self.path, e))?;
        Ok(TableMeta {
            size: self.offset,
            smallest: self.smallest,
            largest: self.last_key,
            min_seq,
            max_seq: self.max_seq,
            entries: self.entries,
        })
    }

    /// Path of the file being built.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
