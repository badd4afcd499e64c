//! Reading Apache ZooKeeper's snapshot files (`version-2/snapshot.<hex zxid>[.gz|.snappy]`):
//! undoing the compression (chosen by the file's magic, not its name), then the header, the
//! sessions, the ACL cache, the nodes in pre-order, the checksum seal and the optional
//! digest. The nodes are linked into a tree whose sibling order is the one ZooKeeper's own
//! tools print (Java `HashSet` order).

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use warren_proto::{Acl, FileHeader, JVec, Jute, JuteError, Reader, StatPersisted};

use crate::detect::{describe_magic, FileKind, SNAPPY_JAVA_MAGIC, ZK_SNAPSHOT_MAGIC};
use crate::error::ToolError;
use crate::java::{hash_iteration_order, long_hash, string_hash};
use crate::zklog::adler32;

/// How the snapshot stream was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    /// snappy-java's `SnappyOutputStream`: a 16-byte header, then blocks of
    /// `int32 length, raw snappy data`.
    SnappyJava,
    /// The snappy framing format.
    SnappyFramed,
}

/// One znode as the snapshot stores it.
#[derive(Debug, Clone)]
pub struct SnapNode {
    /// The full path; the root is `/` here (the file stores it as the empty string).
    pub path: String,
    /// The last path component (`/` for the root).
    pub name: String,
    /// Null data stays `None`.
    pub data: Option<Vec<u8>>,
    /// Reference into the ACL cache.
    pub acl_ref: i64,
    pub stat: StatPersisted,
    /// Index of the parent node (`None` for the root).
    pub parent: Option<usize>,
    /// Indices of the children, in the order ZooKeeper's tools list them.
    pub children: Vec<usize>,
}

/// The result of checking a checksum seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seal {
    Ok,
    /// The stored value differs from the Adler32 of the bytes before it.
    Mismatch {
        offset: u64,
        stored: i64,
        computed: u32,
    },
    /// The stream ends before the seal.
    Missing {
        offset: u64,
    },
}

/// `ZxidDigest`, written after the first seal by ZooKeeper 3.6+.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZxidDigest {
    pub zxid: i64,
    pub version: i32,
    pub digest: i64,
}

/// A whole decoded snapshot.
#[derive(Debug, Clone)]
pub struct ZkSnapshot {
    pub path: PathBuf,
    pub compression: Compression,
    pub header: FileHeader,
    /// Sessions in file order: id and timeout.
    pub sessions: Vec<(i64, i32)>,
    /// The ACL cache in file order.
    pub acls: Vec<(i64, Vec<Acl>)>,
    /// Nodes in file order; index 0 is the root.
    pub nodes: Vec<SnapNode>,
    /// The seal after the nodes.
    pub seal: Seal,
    /// The digest after the seal, when present, and whether its own seal checked out.
    pub digest: Option<(ZxidDigest, Seal)>,
    /// Uncompressed size of the stream.
    pub stream_len: u64,
}

/// Decompresses `raw` as the magic says.
///
/// # Errors
/// [`ToolError::Corrupt`] when the compressed stream is damaged.
pub fn decompress(path: &Path, raw: &[u8]) -> Result<(Compression, Vec<u8>), ToolError> {
    match FileKind::from_magic(raw) {
        FileKind::Gzip => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(raw)
                .read_to_end(&mut out)
                .map_err(|e| ToolError::corrupt(path, 0, format!("gzip stream: {e}")))?;
            Ok((Compression::Gzip, out))
        }
        FileKind::SnappyJava => Ok((Compression::SnappyJava, snappy_java(path, raw)?)),
        FileKind::SnappyFramed => {
            let mut out = Vec::new();
            snap::read::FrameDecoder::new(raw)
                .read_to_end(&mut out)
                .map_err(|e| ToolError::corrupt(path, 0, format!("snappy stream: {e}")))?;
            Ok((Compression::SnappyFramed, out))
        }
        _ => Ok((Compression::None, raw.to_vec())),
    }
}

/// Undoes snappy-java's stream framing. Concatenated streams (a header again at a block
/// boundary) are accepted, as snappy-java does.
fn snappy_java(path: &Path, raw: &[u8]) -> Result<Vec<u8>, ToolError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut dec = snap::raw::Decoder::new();
    while pos < raw.len() {
        if raw[pos..].starts_with(&SNAPPY_JAVA_MAGIC) {
            if raw.len() - pos < 16 {
                return Err(ToolError::corrupt(
                    path,
                    pos as u64,
                    "snappy-java header cut short",
                ));
            }
            pos += 16;
            continue;
        }
        if raw.len() - pos < 4 {
            return Err(ToolError::corrupt(
                path,
                pos as u64,
                "snappy-java block length cut short",
            ));
        }
        let mut len = [0u8; 4];
        len.copy_from_slice(&raw[pos..pos + 4]);
        let len = i32::from_be_bytes(len);
        if len < 0 || len as usize > raw.len() - pos - 4 {
            return Err(ToolError::corrupt(
                path,
                pos as u64,
                format!("snappy-java block length {len} runs past the end of the file"),
            ));
        }
        let block = &raw[pos + 4..pos + 4 + len as usize];
        let chunk = dec
            .decompress_vec(block)
            .map_err(|e| ToolError::corrupt(path, pos as u64 + 4, format!("snappy block: {e}")))?;
        out.extend_from_slice(&chunk);
        pos += 4 + len as usize;
    }
    Ok(out)
}

fn read_seal(bytes: &[u8], r: &mut Reader<'_>) -> Seal {
    let offset = r.position() as u64;
    let computed = adler32(&bytes[..r.position()]);
    let Ok(stored) = r.read_i64() else {
        return Seal::Missing { offset };
    };
    // The seal is followed by the string "/".
    let _ = r.read_ustring();
    if stored == i64::from(computed) {
        Seal::Ok
    } else {
        Seal::Mismatch {
            offset,
            stored,
            computed,
        }
    }
}

/// A record that did not decode, at the offset where the record starts (`at`, the reader
/// as it was before it), so the error points at the record rather than inside it.
fn decode_error(path: &Path, at: &Reader<'_>, source: JuteError) -> ToolError {
    ToolError::Decode {
        path: path.to_owned(),
        offset: at.position() as u64,
        source,
    }
}

/// `rd!(path, read, at)`: the value read, or (returned) the [`decode_error`] at `at`.
macro_rules! rd {
    ($path:expr, $e:expr, $at:expr) => {
        $e.map_err(|e| decode_error($path, &$at, e))?
    };
}

/// The session list: a count, then id and timeout of each.
fn read_sessions(path: &Path, r: &mut Reader<'_>) -> Result<Vec<(i64, i32)>, ToolError> {
    let at = r.clone();
    let n = rd!(path, r.read_i32(), at);
    let mut sessions = Vec::new();
    for _ in 0..n.max(0) {
        let at = r.clone();
        let id = rd!(path, r.read_i64(), at);
        let to = rd!(path, r.read_i32(), at);
        sessions.push((id, to));
    }
    Ok(sessions)
}

/// The ACL cache: a count, then each reference and its ACL list.
fn read_acls(path: &Path, r: &mut Reader<'_>) -> Result<Vec<(i64, Vec<Acl>)>, ToolError> {
    let at = r.clone();
    let n = rd!(path, r.read_i32(), at);
    let mut acls = Vec::new();
    for _ in 0..n.max(0) {
        let at = r.clone();
        let id = rd!(path, r.read_i64(), at);
        let list = rd!(path, JVec::<Acl>::read(r), at);
        acls.push((id, list.0));
    }
    Ok(acls)
}

/// The nodes in pre-order up to the `/` that ends them, each linked to its parent (which
/// the pre-order puts before it). Children are in file order here.
///
/// # Errors
/// A node whose parent came not before it, or no root at all, is [`ToolError::Corrupt`].
fn read_nodes(path: &Path, r: &mut Reader<'_>) -> Result<Vec<SnapNode>, ToolError> {
    let mut nodes: Vec<SnapNode> = Vec::new();
    let mut by_path: HashMap<String, usize> = HashMap::new();
    loop {
        let at = r.clone();
        let p = rd!(path, r.read_ustring(), at).unwrap_or_default();
        if p == "/" {
            break;
        }
        let data = rd!(path, r.read_buffer(), at);
        let acl_ref = rd!(path, r.read_i64(), at);
        let stat = rd!(path, StatPersisted::read(r), at);
        let idx = nodes.len();
        let (parent, name, full) = match p.rfind('/') {
            None => (None, "/".to_owned(), "/".to_owned()),
            Some(i) => {
                let parent_path = &p[..i];
                let Some(&pi) = by_path.get(parent_path) else {
                    return Err(ToolError::corrupt(
                        path,
                        at.position() as u64,
                        format!("node {p} has no parent {parent_path:?} before it"),
                    ));
                };
                (Some(pi), p[i + 1..].to_owned(), p.clone())
            }
        };
        if let Some(pi) = parent {
            nodes[pi].children.push(idx);
        }
        by_path.insert(p, idx);
        nodes.push(SnapNode {
            path: full,
            name,
            data,
            acl_ref,
            stat,
            parent,
            children: Vec::new(),
        });
    }
    if nodes.first().is_none_or(|n| n.parent.is_some()) {
        return Err(ToolError::corrupt(
            path,
            r.position() as u64,
            "snapshot has no root node",
        ));
    }
    Ok(nodes)
}

/// Reorders each node's children as ZooKeeper's tools list them: ZooKeeper keeps children
/// in a HashSet(8), filled in file order, and prints them in its iteration order.
fn order_siblings_as_zookeeper(nodes: &mut [SnapNode]) {
    let names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
    for node in nodes {
        if node.children.len() > 1 {
            let hashes: Vec<i32> = node
                .children
                .iter()
                .map(|&c| string_hash(&names[c]))
                .collect();
            let order = hash_iteration_order(&hashes, 8);
            node.children = order.iter().map(|&i| node.children[i]).collect();
        }
    }
}

/// The `ZxidDigest` after a sound seal (3.6+ writes one), with its own seal; `None` when
/// the first seal is bad or too few bytes follow it, as older versions write none.
fn read_digest(bytes: &[u8], r: &mut Reader<'_>, seal: Seal) -> Option<(ZxidDigest, Seal)> {
    if seal == Seal::Ok && r.remaining() >= 20 {
        let d = (|| -> Result<ZxidDigest, JuteError> {
            Ok(ZxidDigest {
                zxid: r.read_i64()?,
                version: r.read_i32()?,
                digest: r.read_i64()?,
            })
        })();
        d.ok().map(|d| (d, read_seal(bytes, r)))
    } else {
        None
    }
}

impl ZkSnapshot {
    /// Reads and decodes a snapshot file, compressed or not.
    ///
    /// # Errors
    /// [`ToolError::Io`], [`ToolError::BadMagic`] when the (decompressed) stream is not a
    /// snapshot, [`ToolError::Decode`]/[`ToolError::Corrupt`] with the offset in the
    /// uncompressed stream when a record does not decode or a node has no parent.
    pub fn open(path: &Path) -> Result<ZkSnapshot, ToolError> {
        let raw = std::fs::read(path).map_err(|e| ToolError::io(path, e))?;
        let (compression, bytes) = decompress(path, &raw)?;
        ZkSnapshot::parse(path, compression, &bytes)
    }

    /// Decodes an uncompressed snapshot stream.
    ///
    /// # Errors
    /// As [`ZkSnapshot::open`], without the I/O.
    pub fn parse(
        path: &Path,
        compression: Compression,
        bytes: &[u8],
    ) -> Result<ZkSnapshot, ToolError> {
        if !bytes.starts_with(&ZK_SNAPSHOT_MAGIC) {
            return Err(ToolError::BadMagic {
                path: path.to_owned(),
                expected: "ZooKeeper snapshot",
                found: describe_magic(bytes),
            });
        }
        let mut r = Reader::new(bytes);
        let at = r.clone();
        let header = rd!(path, FileHeader::read(&mut r), at);
        let sessions = read_sessions(path, &mut r)?;
        let acls = read_acls(path, &mut r)?;
        let mut nodes = read_nodes(path, &mut r)?;
        order_siblings_as_zookeeper(&mut nodes);
        let seal = read_seal(bytes, &mut r);
        let digest = read_digest(bytes, &mut r, seal);
        Ok(ZkSnapshot {
            path: path.to_owned(),
            compression,
            header,
            sessions,
            acls,
            nodes,
            seal,
            digest,
            stream_len: bytes.len() as u64,
        })
    }

    /// Node indices in pre-order from the root, siblings in ZooKeeper's order.
    pub fn preorder(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut stack = vec![0usize];
        while let Some(i) = stack.pop() {
            out.push(i);
            stack.extend(self.nodes[i].children.iter().rev());
        }
        out
    }

    /// Sessions in the order ZooKeeper's tools list them (Java `HashMap` order).
    pub fn sessions_in_java_order(&self) -> Vec<(i64, i32)> {
        let hashes: Vec<i32> = self.sessions.iter().map(|s| long_hash(s.0)).collect();
        hash_iteration_order(&hashes, 16)
            .into_iter()
            .map(|i| self.sessions[i])
            .collect()
    }

    /// How many ephemeral nodes each session owns (the root is never counted, as in ZooKeeper).
    pub fn ephemeral_counts(&self) -> HashMap<i64, usize> {
        let mut m = HashMap::new();
        for n in self.nodes.iter().skip(1) {
            if n.stat.ephemeral_owner != 0 {
                *m.entry(n.stat.ephemeral_owner).or_insert(0) += 1;
            }
        }
        m
    }
}
