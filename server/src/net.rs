//! The network front end: one task per connection.
//!
//! A connection starts with either a four-letter word (four ASCII letters instead of a
//! frame length) or a ConnectRequest. After the handshake, frames are requests. Each
//! request takes a place in the connection's reply queue at once: writes go to the
//! pipeline and hold their place until their txn is applied, reads wait for the places
//! before them and then run. So replies leave in request order, and a read always sees
//! the connection's earlier writes, as ZooKeeper promises.
//!
//! A frame that is too long or does not decode closes this connection only, with a log
//! line naming the peer; every other connection goes on.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::{mpsc, oneshot};
use warren_proto::consts::{op, xid};
use warren_proto::{
    ConnectRequest, ConnectResponse, ErrorCode, Id, Jute, Reader as JReader, ReplyHeader, Request,
    RequestHeader,
};

use crate::acl::{digest_id, Identities};
use crate::fourlw;
use crate::pipeline::WriteResult;
use crate::prep::WriteOp;
use crate::read::Reader;
use crate::reply::encode_outcome;
use crate::server::Shared;

/// A connection's id, unique within the process.
pub type ConnId = u64;

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

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
    /// Queues a frame; a closed connection drops it.
    pub fn send_frame(&self, body: Vec<u8>) {
        let _ = self.0.send(OutFrame::Frame(body));
    }

    /// Closes the connection once queued frames are written.
    pub fn close(&self) {
        let _ = self.0.send(OutFrame::Close);
    }
}

/// A place in a connection's reply queue: the request's xid and opcode, when it arrived,
/// and what answers it.
struct Slot {
    xid: i32,
    op: i32,
    started: Instant,
    kind: Pending,
}

enum Pending {
    /// A reply made already (ping, auth, refusals).
    Ready(Vec<u8>),
    /// A write: the reply comes when the pipeline has applied the txn.
    Write {
        rx: oneshot::Receiver<WriteResult>,
        close_after: bool,
    },
    /// A read: runs when everything before it has been answered.
    Read(Request),
    /// setWatches after a reconnect.
    SetWatches {
        relative_zxid: i64,
        lists: [Vec<String>; 5],
    },
}

fn reply_frame(xid: i32, zxid: i64, err: ErrorCode, body: &[u8]) -> Vec<u8> {
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

/// Reads one frame: a big-endian length, then that many bytes.
async fn read_frame<R: AsyncRead + Unpin>(
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
    let mut body = vec![0u8; len as usize];
    rd.read_exact(&mut body)
        .await
        .map_err(|e| format!("connection ended inside a {len}-byte frame: {e}"))?;
    Ok(Some(body))
}

async fn writer_task<W: AsyncWrite + Unpin>(wr: W, mut rx: mpsc::UnboundedReceiver<OutFrame>) {
    let mut wr = BufWriter::new(wr);
    while let Some(f) = rx.recv().await {
        let mut next = Some(f);
        // Write everything queued, then flush once.
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

/// Serves one client connection, plain or TLS, until it closes. `x509` is the subject of
/// a verified client certificate.
pub async fn serve_connection<S>(
    shared: Arc<Shared>,
    stream: S,
    peer: SocketAddr,
    x509: Option<String>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (rd, mut wr) = tokio::io::split(stream);
    let mut rd = BufReader::new(rd);
    let mut first = [0u8; 4];
    if rd.read_exact(&mut first).await.is_err() {
        return;
    }
    if let Some(word) = fourlw::detect(&first) {
        let text = fourlw::run(&shared, word);
        let _ = wr.write_all(text.as_bytes()).await;
        let _ = wr.shutdown().await;
        return;
    }
    let max = shared.config.jute_max_buffer;
    let body = match read_frame(&mut rd, max, Some(first)).await {
        Ok(Some(b)) => b,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(%peer, "handshake: {e}");
            return;
        }
    };
    let creq = match ConnectRequest::from_bytes(&body) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(%peer, "malformed ConnectRequest ({e}); closing the connection");
            return;
        }
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let out = Outbound(tx);
    tokio::spawn(writer_task(wr, rx));
    let conn: ConnId = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
    shared.stats.connection_opened(conn, peer);
    let mut ids = Identities::for_peer(peer.ip());
    if let Some(subject) = x509 {
        ids.add(Id {
            scheme: "x509".into(),
            id: subject,
        });
    }
    let who = Arc::new(Mutex::new(Arc::new(ids)));
    if let Some((session, timeout)) = handshake(&shared, &creq, conn, &out, peer, &who).await {
        shared.stats.connection_session(conn, session, timeout);
        shared.watches.register_connection(conn, out.clone());
        run_session(&shared, &mut rd, conn, session, &out, &who, peer).await;
        shared.watches.remove_connection(conn);
        shared.sessions.detach(session, conn);
    }
    shared.stats.connection_closed(conn);
    out.close();
}

/// Establishes or resumes the session; `None` when the connection must close.
async fn handshake(
    shared: &Arc<Shared>,
    creq: &ConnectRequest,
    conn: ConnId,
    out: &Outbound,
    peer: SocketAddr,
    who: &Mutex<Arc<Identities>>,
) -> Option<(i64, u32)> {
    let last = shared.last_zxid.load(Ordering::SeqCst);
    if creq.last_zxid_seen > last {
        tracing::warn!(
            %peer,
            "refusing session: client has seen zxid {:#x}, this server's last is {last:#x}",
            creq.last_zxid_seen
        );
        return None;
    }
    let (min, max) = shared.config.session_timeout_range();
    let timeout = (creq.time_out.max(0) as u32).clamp(min, max);
    let refuse = |out: &Outbound| {
        let resp = ConnectResponse {
            protocol_version: 0,
            time_out: 0,
            session_id: 0,
            passwd: vec![0; 16],
            read_only: creq.read_only.map(|_| false),
        };
        out.send_frame(resp.to_bytes());
        out.close();
    };
    let (session, timeout) = if creq.session_id == 0 {
        let id = shared.sessions.next_id();
        let w = who.lock().clone();
        match shared
            .pipeline()
            .submit(
                id,
                0,
                WriteOp::CreateSession {
                    timeout_ms: timeout,
                },
                w,
            )
            .await
        {
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(%peer, "cannot create a session: {e}");
                return None;
            }
        }
        shared.sessions.add(id, timeout);
        let _ = shared.sessions.attach(id, conn, out.clone());
        (id, timeout)
    } else {
        let id = creq.session_id;
        if creq.passwd != shared.sessions.password(id) {
            tracing::info!(%peer, "session {id:#x}: wrong password");
            refuse(out);
            return None;
        }
        match shared.sessions.attach(id, conn, out.clone()) {
            Some((t, old)) => {
                if let Some((_, old_out)) = old {
                    old_out.close();
                }
                (id, t)
            }
            None => {
                tracing::info!(%peer, "session {id:#x} is expired or unknown");
                refuse(out);
                return None;
            }
        }
    };
    out.send_frame(
        ConnectResponse {
            protocol_version: 0,
            time_out: timeout as i32,
            session_id: session,
            passwd: shared.sessions.password(session),
            read_only: creq.read_only.map(|_| false),
        }
        .to_bytes(),
    );
    Some((session, timeout))
}

async fn run_session<R: AsyncRead + Unpin>(
    shared: &Arc<Shared>,
    rd: &mut R,
    conn: ConnId,
    session: i64,
    out: &Outbound,
    who: &Arc<Mutex<Arc<Identities>>>,
    peer: SocketAddr,
) {
    let (ptx, prx) = mpsc::unbounded_channel::<Slot>();
    let responder = tokio::spawn(respond(
        shared.clone(),
        prx,
        conn,
        session,
        out.clone(),
        who.clone(),
    ));
    let max = shared.config.jute_max_buffer;
    let mut sasl: Option<crate::sasl::DigestMd5> = None;
    loop {
        let body = match read_frame(rd, max, None).await {
            Ok(Some(b)) => b,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(%peer, session = format!("{session:#x}"), "{e}");
                break;
            }
        };
        let started = Instant::now();
        shared.sessions.touch(session);
        shared.stats.request_received(conn);
        let mut r = JReader::new(&body);
        let hdr = match RequestHeader::read(&mut r) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(%peer, "malformed request header ({e}); closing the connection");
                break;
            }
        };
        let req = match Request::decode(hdr.op, &mut r) {
            Ok(q) => q,
            Err(warren_proto::JuteError::Unknown { what: "opcode", .. }) => {
                // ZooKeeper answers an opcode it does not know with UNIMPLEMENTED (and
                // zxid −1), then closes the connection.
                tracing::warn!(%peer, op = hdr.op, "unknown opcode; closing the connection");
                let frame = reply_frame(hdr.xid, -1, ErrorCode::UNIMPLEMENTED, &[]);
                let _ = ptx.send(Slot {
                    xid: hdr.xid,
                    op: hdr.op,
                    started,
                    kind: Pending::Ready(frame),
                });
                break;
            }
            Err(e) => {
                tracing::warn!(
                    %peer,
                    "malformed {} request ({e}); closing the connection",
                    op::name(hdr.op)
                );
                break;
            }
        };
        let last = || shared.last_zxid.load(Ordering::SeqCst);
        let mut stop = false;
        let kind = match req {
            Request::Ping => Pending::Ready(reply_frame(xid::PING, last(), ErrorCode::OK, &[])),
            Request::Auth(a) => {
                let err = authenticate(shared, who, &a.scheme, &a.auth);
                // A failed auth closes the connection after its reply, as in ZooKeeper.
                stop = err != ErrorCode::OK;
                Pending::Ready(reply_frame(hdr.xid, 0, err, &[]))
            }
            Request::SetWatches(w) => Pending::SetWatches {
                relative_zxid: w.relative_zxid,
                lists: [
                    w.data_watches.0,
                    w.exist_watches.0,
                    w.child_watches.0,
                    Vec::new(),
                    Vec::new(),
                ],
            },
            Request::SetWatches2(w) => Pending::SetWatches {
                relative_zxid: w.relative_zxid,
                lists: [
                    w.data_watches.0,
                    w.exist_watches.0,
                    w.child_watches.0,
                    w.persistent_watches.0,
                    w.persistent_recursive_watches.0,
                ],
            },
            Request::CloseSession => {
                shared.sessions.mark_closing(session);
                stop = true;
                let w = who.lock().clone();
                Pending::Write {
                    rx: shared
                        .pipeline()
                        .submit_nowait(session, hdr.xid, WriteOp::CloseSession, w),
                    close_after: true,
                }
            }
            Request::Reconfig(_) => Pending::Ready(reply_frame(
                hdr.xid,
                last(),
                ErrorCode::RECONFIG_DISABLED,
                &[],
            )),
            Request::Sasl(r) => {
                let state = sasl.get_or_insert_with(|| crate::sasl::DigestMd5::new(rand::random()));
                match state.step(&r.token, &shared.config.sasl_users) {
                    Ok((token, user)) => {
                        if let Some(user) = user {
                            let mut g = who.lock();
                            let mut ids = (**g).clone();
                            ids.add(Id {
                                scheme: "sasl".into(),
                                id: user,
                            });
                            *g = Arc::new(ids);
                        }
                        let body = warren_proto::SaslRequest { token }.to_bytes();
                        Pending::Ready(reply_frame(hdr.xid, last(), ErrorCode::OK, &body))
                    }
                    Err(e) => {
                        tracing::warn!(%peer, "{e}; closing the connection");
                        stop = true;
                        Pending::Ready(reply_frame(hdr.xid, last(), ErrorCode::AUTH_FAILED, &[]))
                    }
                }
            }
            req if op::is_write(hdr.op) => {
                let w = who.lock().clone();
                Pending::Write {
                    rx: shared
                        .pipeline()
                        .submit_nowait(session, hdr.xid, WriteOp::Client(req), w),
                    close_after: false,
                }
            }
            req => Pending::Read(req),
        };
        let slot = Slot {
            xid: hdr.xid,
            op: hdr.op,
            started,
            kind,
        };
        if ptx.send(slot).is_err() || stop {
            break;
        }
    }
    drop(ptx);
    let _ = responder.await;
}

/// Handles an `auth` packet: digest adds `digest:user:hash`, and the superDigest user
/// becomes super; ip is implicit. Anything else fails.
fn authenticate(
    shared: &Shared,
    who: &Mutex<Arc<Identities>>,
    scheme: &str,
    auth: &[u8],
) -> ErrorCode {
    let mut g = who.lock();
    let mut ids = (**g).clone();
    match scheme {
        "digest" => {
            let Ok(cred) = std::str::from_utf8(auth) else {
                return ErrorCode::AUTH_FAILED;
            };
            let id = digest_id(cred);
            if shared.config.super_digest.as_deref() == Some(id.as_str()) {
                ids.is_super = true;
                ids.add(Id {
                    scheme: "super".into(),
                    id: id.split(':').next().unwrap_or_default().to_owned(),
                });
            }
            ids.add(Id {
                scheme: "digest".into(),
                id,
            });
        }
        "ip" => {}
        _ => return ErrorCode::AUTH_FAILED,
    }
    *g = Arc::new(ids);
    ErrorCode::OK
}

async fn respond(
    shared: Arc<Shared>,
    mut prx: mpsc::UnboundedReceiver<Slot>,
    conn: ConnId,
    session: i64,
    out: Outbound,
    who: Arc<Mutex<Arc<Identities>>>,
) {
    while let Some(slot) = prx.recv().await {
        let Slot {
            xid,
            op,
            started,
            kind,
        } = slot;
        let last = || shared.last_zxid.load(Ordering::SeqCst);
        let (frame, zxid, close) = match kind {
            Pending::Ready(frame) => (frame, last(), false),
            Pending::Write { rx, close_after } => {
                let (zxid, err, body) = match rx.await.unwrap_or(Err(ErrorCode::SYSTEM_ERROR)) {
                    Ok((zxid, outcome)) => {
                        let (err, body) = encode_outcome(op, &outcome);
                        (zxid, err, body)
                    }
                    Err(e) => (last(), e, Vec::new()),
                };
                (reply_frame(xid, zxid, err, &body), zxid, close_after)
            }
            Pending::Read(req) => {
                let w = who.lock().clone();
                let reader = Reader {
                    shared: &shared,
                    conn,
                    session,
                    who: &w,
                    out: &out,
                };
                // Reads run on the connection's task: they are memtable or block-cache hits, or
                // one small pread. (`block_in_place` here made tokio start a thread per
                // busy connection, each with its own allocator and zstd caches.)
                let res = reader.serve(&req);
                let zxid = reader.reply_zxid();
                let frame = match res {
                    Ok(Ok(body)) => reply_frame(xid, zxid, ErrorCode::OK, &body),
                    Ok(Err(code)) => reply_frame(xid, zxid, code, &[]),
                    Err(e) => {
                        tracing::error!("read failed: {e}");
                        reply_frame(xid, zxid, ErrorCode::SYSTEM_ERROR, &[])
                    }
                };
                (frame, zxid, false)
            }
            Pending::SetWatches {
                relative_zxid,
                lists,
            } => {
                let w = who.lock().clone();
                let reader = Reader {
                    shared: &shared,
                    conn,
                    session,
                    who: &w,
                    out: &out,
                };
                let [data, exist, child, persistent, recursive] = &lists;
                if let Err(e) =
                    reader.set_watches(relative_zxid, data, exist, child, persistent, recursive)
                {
                    tracing::error!("setWatches failed: {e}");
                }
                let zxid = last();
                (
                    reply_frame(xid::SET_WATCHES, zxid, ErrorCode::OK, &[]),
                    zxid,
                    false,
                )
            }
        };
        out.send_frame(frame);
        shared.stats.reply_sent(conn, op, xid, zxid, started);
        if close {
            out.close();
            return;
        }
    }
}
