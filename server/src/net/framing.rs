//! Frames on the wire: a big-endian length, then that many bytes. Reading one, and the
//! writer task that sends a connection's frames in the order they were queued, with the
//! limit on what a client may leave unread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, watch};
use warren_proto::{ErrorCode, Jute, ReplyHeader};

/// What a connection's writer task sends.
#[derive(Debug)]
pub enum OutFrame {
    /// A frame body; the writer adds the length.
    Frame(Vec<u8>),
    /// Close the connection after what was queued before.
    Close,
}

/// The sending side of a connection, shared with watches and sessions. It counts the
/// bytes queued and not yet written to the socket: a client that stops reading while
/// they pass the limit is cut off (its connection closes), so an unread socket cannot
/// make the server hold replies without bound.
#[derive(Debug, Clone)]
pub struct Outbound {
    tx: mpsc::UnboundedSender<OutFrame>,
    unread: Arc<Unread>,
}

/// The bytes a connection has queued and not yet written, against its limit.
#[derive(Debug)]
struct Unread {
    bytes: AtomicUsize,
    limit: usize,
    cut: watch::Sender<bool>,
}

/// The receiving side of a connection's frames: its writer task drains it.
pub struct OutQueue {
    rx: mpsc::UnboundedReceiver<OutFrame>,
    unread: Arc<Unread>,
}

impl Outbound {
    /// A sender whose client may leave up to `limit` bytes unread, and the queue its
    /// writer task drains.
    pub fn channel(limit: usize) -> (Outbound, OutQueue) {
        let (tx, rx) = mpsc::unbounded_channel();
        let unread = Arc::new(Unread {
            bytes: AtomicUsize::new(0),
            limit,
            cut: watch::channel(false).0,
        });
        let queue = OutQueue {
            rx,
            unread: unread.clone(),
        };
        (Outbound { tx, unread }, queue)
    }

    /// Queues a frame; a closed connection drops it. A frame that would take the unread
    /// bytes past the limit cuts the connection off instead (one frame alone always
    /// fits, however large).
    pub fn send_frame(&self, body: Vec<u8>) {
        let n = body.len() + 4;
        let before = self.unread.bytes.fetch_add(n, Ordering::Relaxed);
        if before > 0 && before + n > self.unread.limit {
            self.unread.bytes.fetch_sub(n, Ordering::Relaxed);
            self.unread.cut.send_replace(true);
            return;
        }
        let _ = self.tx.send(OutFrame::Frame(body));
    }

    /// Closes the connection once queued frames are written.
    pub fn close(&self) {
        let _ = self.tx.send(OutFrame::Close);
    }

    /// Resolves once the client has been cut off for leaving too much unread; returns
    /// how many bytes were waiting then.
    pub async fn cut_off(&self) -> usize {
        let mut cut = self.unread.cut.subscribe();
        let _ = cut.wait_for(|c| *c).await;
        self.unread.bytes.load(Ordering::Relaxed)
    }
}

/// A reply: the header, then the body only when the request succeeded.
pub fn reply_frame(xid: i32, zxid: i64, err: ErrorCode, body: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(16 + body.len());
    ReplyHeader {
        xid,
        zxid,
        err: err.0,
    }
    .write(&mut b);
    if err == ErrorCode::OK {
        b.extend_from_slice(body);
    }
    b
}

/// Reads one frame: a big-endian length (or the `len_bytes` already read), then that
/// many bytes. `Ok(None)` at a clean end of stream.
///
/// # Errors
/// A message for the log when the length is outside `0..=max` or the stream ends inside
/// the frame.
pub async fn read_frame<R: AsyncRead + Unpin>(
    rd: &mut R,
    max: usize,
    len_bytes: Option<[u8; 4]>,
) -> Result<Option<Vec<u8>>, String> {
    match read_len(rd, max, len_bytes).await? {
        Some(len) => read_body(rd, len).await.map(Some),
        None => Ok(None),
    }
}

/// Reads a frame's length (or checks the `len_bytes` already read). `Ok(None)` at a
/// clean end of stream.
///
/// # Errors
/// A message for the log when the length is outside `0..=max` or the read fails.
pub async fn read_len<R: AsyncRead + Unpin>(
    rd: &mut R,
    max: usize,
    len_bytes: Option<[u8; 4]>,
) -> Result<Option<usize>, String> {
    let len_bytes = match len_bytes {
        Some(b) => b,
        None => {
            let mut b = [0u8; 4];
            match rd.read_exact(&mut b).await {
                Ok(_) => b,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(format!("read failed: {e}")),
            }
        }
    };
    let len = i32::from_be_bytes(len_bytes);
    if len < 0 || len as usize > max {
        return Err(format!(
            "frame length {len} is outside 0..={max} (jute.maxbuffer); closing the connection"
        ));
    }
    Ok(Some(len as usize))
}

/// Reads a frame body of `len` bytes.
///
/// # Errors
/// A message for the log when the stream ends inside the frame.
pub async fn read_body<R: AsyncRead + Unpin>(rd: &mut R, len: usize) -> Result<Vec<u8>, String> {
    // The buffer grows as bytes arrive, 64 KiB at a time: a peer that claims a large
    // frame and sends nothing costs nothing.
    let mut body = Vec::new();
    while body.len() < len {
        let start = body.len();
        body.resize(start + (len - start).min(64 << 10), 0);
        rd.read_exact(&mut body[start..])
            .await
            .map_err(|e| format!("connection ended inside a {len}-byte frame: {e}"))?;
    }
    Ok(body)
}

/// A connection's writer task: writes queued frames until the queue closes or a `Close`
/// arrives, or drops the socket at once when the client is cut off.
pub async fn writer_task<W: AsyncWrite + Unpin>(wr: W, queue: OutQueue) {
    let OutQueue { rx, unread } = queue;
    let mut cut = unread.cut.subscribe();
    tokio::select! {
        () = write_frames(wr, rx, &unread) => {}
        _ = cut.wait_for(|c| *c) => {}
    }
}

/// Writes queued frames until the queue closes or a `Close` arrives: everything queued
/// is written, then flushed once.
async fn write_frames<W: AsyncWrite + Unpin>(
    wr: W,
    mut rx: mpsc::UnboundedReceiver<OutFrame>,
    unread: &Unread,
) {
    let mut wr = BufWriter::new(wr);
    while let Some(f) = rx.recv().await {
        let mut next = Some(f);
        while let Some(f) = next {
            match f {
                OutFrame::Frame(body) => {
                    let len = (body.len() as i32).to_be_bytes();
                    if wr.write_all(&len).await.is_err() || wr.write_all(&body).await.is_err() {
                        return;
                    }
                    unread.bytes.fetch_sub(body.len() + 4, Ordering::Relaxed);
                }
                OutFrame::Close => {
                    let _ = wr.flush().await;
                    let _ = wr.shutdown().await;
                    return;
                }
            }
            next = rx.try_recv().ok();
        }
        if wr.flush().await.is_err() {
            return;
        }
    }
}
