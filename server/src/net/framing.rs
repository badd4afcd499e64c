//! Frames on the wire: a big-endian length, then that many bytes. Reading one, and the
//! writer task that sends a connection's frames in the order they were queued.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;
use warren_proto::{ErrorCode, Jute, ReplyHeader};

/// What a connection's writer task sends.
#[derive(Debug)]
pub enum OutFrame {
    /// A frame body; the writer adds the length.
    Frame(Vec<u8>),
    /// Close the connection after what was queued before.
    Close,
}

/// The sending side of a connection, shared with watches and sessions.
#[derive(Debug, Clone)]
pub struct Outbound(mpsc::UnboundedSender<OutFrame>);

impl Outbound {
    /// A sender, and the receiver its writer task drains.
    pub fn channel() -> (Outbound, mpsc::UnboundedReceiver<OutFrame>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Outbound(tx), rx)
    }

    /// Queues a frame; a closed connection drops it.
    pub fn send_frame(&self, body: Vec<u8>) {
        let _ = self.0.send(OutFrame::Frame(body));
    }

    /// Closes the connection once queued frames are written.
    pub fn close(&self) {
        let _ = self.0.send(OutFrame::Close);
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
    // The buffer grows as bytes arrive, 64 KiB at a time: a peer that claims a large
    // frame and sends nothing costs nothing.
    let len = len as usize;
    let mut body = Vec::new();
    while body.len() < len {
        let start = body.len();
        body.resize(start + (len - start).min(64 << 10), 0);
        rd.read_exact(&mut body[start..])
            .await
            .map_err(|e| format!("connection ended inside a {len}-byte frame: {e}"))?;
    }
    Ok(Some(body))
}

/// Writes queued frames until the queue closes or a `Close` arrives: everything queued
/// is written, then flushed once.
pub async fn writer_task<W: AsyncWrite + Unpin>(wr: W, mut rx: mpsc::UnboundedReceiver<OutFrame>) {
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
