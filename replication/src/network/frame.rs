//! Frames on the quorum port: a 4-byte little-endian length, then that many bytes of
//! bincode. A connection opens with a [`Hello`] naming the caller and the channel it
//! wants; Raft connections then carry one request and its response at a time, and
//! application connections carry numbered requests and responses in any order.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Warren;

/// First bytes of every hello.
pub const MAGIC: [u8; 4] = *b"WRNQ";
/// The peer protocol's version.
pub const VERSION: u32 = 1;
/// Largest frame accepted: a batch of entries is bounded by `max_payload_entries` times
/// the largest txn.
pub const MAX_FRAME: usize = 256 << 20;

/// Which kind of traffic a connection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    Raft,
    App,
}

/// The first frame on a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub magic: [u8; 4],
    pub version: u32,
    pub from: u64,
    pub channel: Channel,
}

/// A Raft RPC.
#[derive(Debug, Serialize, Deserialize)]
pub enum RaftRequest {
    Append(openraft::raft::AppendEntriesRequest<Warren>),
    Vote(openraft::raft::VoteRequest<u64>),
    Snapshot(openraft::raft::InstallSnapshotRequest<Warren>),
}

/// The answer to a [`RaftRequest`], of the same kind.
#[derive(Debug, Serialize, Deserialize)]
pub enum RaftResponse {
    Append(Result<openraft::raft::AppendEntriesResponse<u64>, openraft::error::RaftError<u64>>),
    Vote(Result<openraft::raft::VoteResponse<u64>, openraft::error::RaftError<u64>>),
    Snapshot(
        Result<
            openraft::raft::InstallSnapshotResponse<u64>,
            openraft::error::RaftError<u64, openraft::error::InstallSnapshotError>,
        >,
    ),
}

/// A numbered application request or response.
#[derive(Debug, Serialize, Deserialize)]
pub struct AppFrame {
    pub id: u64,
    pub body: Vec<u8>,
}

fn invalid(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
}

/// Writes one frame.
///
/// # Errors
/// I/O errors; an encoding error as `InvalidData`.
pub async fn write<W: AsyncWriteExt + Unpin, T: Serialize>(
    w: &mut W,
    value: &T,
) -> std::io::Result<()> {
    let buf = encode(value)?;
    w.write_all(&buf).await?;
    w.flush().await
}

/// One frame's bytes, length first, ready to be written.
///
/// # Errors
/// An encoding error or a frame over the limit, as `InvalidData`.
pub fn encode<T: Serialize>(value: &T) -> std::io::Result<Vec<u8>> {
    let body = bincode::serialize(value).map_err(invalid)?;
    if body.len() > MAX_FRAME {
        return Err(invalid(format!(
            "a frame of {} bytes is over the limit",
            body.len()
        )));
    }
    let mut buf = Vec::with_capacity(4 + body.len());
    buf.extend_from_slice(&(body.len() as u32).to_le_bytes());
    buf.extend_from_slice(&body);
    Ok(buf)
}

/// Reads one frame.
///
/// # Errors
/// I/O errors (`UnexpectedEof` when the peer closed); `InvalidData` for a frame over the
/// limit or one that does not decode.
pub async fn read<R: AsyncReadExt + Unpin, T: DeserializeOwned>(r: &mut R) -> std::io::Result<T> {
    read_max(r, MAX_FRAME).await
}

/// Reads one frame of at most `max` bytes (a hello from a caller not known yet is small).
///
/// # Errors
/// As [`read`].
pub async fn read_max<R: AsyncReadExt + Unpin, T: DeserializeOwned>(
    r: &mut R,
    max: usize,
) -> std::io::Result<T> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if len > max {
        return Err(invalid(format!(
            "a peer sent a frame of {len} bytes, over the limit of {max}"
        )));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    bincode::deserialize(&body).map_err(invalid)
}
