//! A session's requests, in the order they arrive. Each request takes a place (a
//! [`Slot`]) in the connection's reply queue at once: writes go to the pipeline and hold
//! their place until their txn is applied, reads wait for the places before them and
//! then run (see [`super::replies`]).

use std::sync::Arc;
use std::time::Instant;

use tokio::io::AsyncRead;
use tokio::sync::mpsc;
use warren_proto::consts::{op, xid};
use warren_proto::{
    ErrorCode, Id, Jute, JuteError, PathRequest, Reader as JReader, Request, RequestHeader,
    SaslRequest,
};

use super::admission::Admitted;
use super::framing::{read_body, read_len, reply_frame};
use super::replies::{respond, Pending, Slot};
use super::Conn;
use crate::auth::authenticate;
use crate::prep::WriteOp;
use crate::sasl::DigestMd5;

/// What a frame turned out to be.
enum Decoded {
    Request(RequestHeader, Request),
    /// A well-formed header with an opcode nobody knows.
    UnknownOp(RequestHeader),
    /// Garbage: the connection closes.
    Malformed,
}

/// Reads and queues requests until the client closes, a frame is bad, a request ends
/// the connection, or the client is cut off for leaving too many replies unread; then
/// waits until every queued reply is sent.
pub async fn run_session<R: AsyncRead + Unpin>(conn: Arc<Conn>, rd: &mut R) {
    let (slots, queue) = mpsc::channel::<Slot>(conn.shared.config.per_connection_outstanding());
    let responder = tokio::spawn(respond(conn.clone(), queue));
    tokio::select! {
        () = read_requests(&conn, rd, slots) => {}
        unread = conn.out.cut_off() => {
            tracing::warn!(
                peer = %conn.peer,
                session = format!("{:#x}", conn.session),
                "the client left {unread} bytes of replies unread, over \
                 warren.clientOutboundLimitMB; closing the connection"
            );
        }
    }
    let _ = responder.await;
}

/// Reads requests and queues their places, each admitted (see [`super::admission`])
/// before its body is read; a full reply queue stops the reading too.
async fn read_requests<R: AsyncRead + Unpin>(conn: &Conn, rd: &mut R, slots: mpsc::Sender<Slot>) {
    let mut sasl: Option<DigestMd5> = None;
    loop {
        let Some((body, admitted)) = next_frame(conn, rd).await else {
            return;
        };
        let started = Instant::now();
        conn.shared.sessions.touch(conn.session);
        conn.shared.stats.request_received(conn.id);
        let decoded = decode(conn, &body);
        // The request holds its own copy of what it needs: the frame goes now, not when
        // its place in the reply queue is free.
        drop(body);
        let (hdr, kind, stop) = match decoded {
            Decoded::Request(hdr, req) => {
                let (kind, stop) = pending_for(conn, &hdr, req, &mut sasl);
                (hdr, kind, stop)
            }
            Decoded::UnknownOp(hdr) => {
                // ZooKeeper answers an opcode it does not know with UNIMPLEMENTED (and
                // zxid −1), then closes the connection.
                let frame = reply_frame(hdr.xid, -1, ErrorCode::UNIMPLEMENTED, &[]);
                (hdr, Pending::Ready(frame), true)
            }
            Decoded::Malformed => return,
        };
        let slot = Slot {
            xid: hdr.xid,
            op: hdr.op,
            started,
            kind,
            _admitted: admitted,
        };
        if slots.send(slot).await.is_err() || stop {
            return;
        }
    }
}

/// The next request frame, admitted; `None` when the connection ends (a bad length is
/// logged).
async fn next_frame<R: AsyncRead + Unpin>(conn: &Conn, rd: &mut R) -> Option<(Vec<u8>, Admitted)> {
    let shared = &conn.shared;
    let read = async {
        let Some(len) = read_len(rd, shared.config.jute_max_buffer, None).await? else {
            return Ok(None);
        };
        let admitted = shared.admission.admit(len).await;
        read_body(rd, len).await.map(|b| Some((b, admitted)))
    };
    match read.await {
        Ok(next) => next,
        Err(e) => {
            tracing::warn!(peer = %conn.peer, session = format!("{:#x}", conn.session), "{e}");
            None
        }
    }
}

fn decode(conn: &Conn, body: &[u8]) -> Decoded {
    let peer = conn.peer;
    let mut r = JReader::new(body);
    let hdr = match RequestHeader::read(&mut r) {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(%peer, "malformed request header ({e}); closing the connection");
            return Decoded::Malformed;
        }
    };
    if hdr.op == op::DELETE_CONTAINER {
        // Only the server may delete containers; a client's request is refused whatever
        // its body holds (prep answers it with BADARGUMENTS, as ZooKeeper does).
        let path = String::new();
        return Decoded::Request(hdr, Request::DeleteContainer(PathRequest { path }));
    }
    match Request::decode(hdr.op, &mut r) {
        Ok(req) => Decoded::Request(hdr, req),
        Err(JuteError::Unknown { what: "opcode", .. }) => {
            tracing::warn!(%peer, op = hdr.op, "unknown opcode; closing the connection");
            Decoded::UnknownOp(hdr)
        }
        Err(e) => {
            tracing::warn!(
                %peer,
                "malformed {} request ({e}); closing the connection",
                op::name(hdr.op)
            );
            Decoded::Malformed
        }
    }
}

/// What answers a request, and whether the connection ends after it.
fn pending_for(
    conn: &Conn,
    hdr: &RequestHeader,
    req: Request,
    sasl: &mut Option<DigestMd5>,
) -> (Pending, bool) {
    let shared = &conn.shared;
    let last = shared.last_zxid();
    match req {
        Request::Ping => (
            Pending::Ready(reply_frame(xid::PING, last, ErrorCode::OK, &[])),
            false,
        ),
        Request::Auth(a) => {
            let err = authenticate(shared, &conn.who, &a.scheme, &a.auth);
            // A failed auth closes the connection after its reply, as in ZooKeeper.
            let frame = reply_frame(hdr.xid, 0, err, &[]);
            (Pending::Ready(frame), err != ErrorCode::OK)
        }
        Request::SetWatches(w) => (
            Pending::SetWatches {
                relative_zxid: w.relative_zxid,
                lists: [
                    w.data_watches.0,
                    w.exist_watches.0,
                    w.child_watches.0,
                    Vec::new(),
                    Vec::new(),
                ],
            },
            false,
        ),
        Request::SetWatches2(w) => (
            Pending::SetWatches {
                relative_zxid: w.relative_zxid,
                lists: [
                    w.data_watches.0,
                    w.exist_watches.0,
                    w.child_watches.0,
                    w.persistent_watches.0,
                    w.persistent_recursive_watches.0,
                ],
            },
            false,
        ),
        Request::CloseSession => {
            shared.sessions.mark_closing(conn.session);
            (write(conn, hdr, WriteOp::CloseSession, true), true)
        }
        Request::Reconfig(_) => (
            Pending::Ready(reply_frame(
                hdr.xid,
                last,
                ErrorCode::RECONFIG_DISABLED,
                &[],
            )),
            false,
        ),
        Request::Sasl(r) => sasl_step(conn, hdr, &r, sasl),
        req if op::is_write(hdr.op) => (write(conn, hdr, WriteOp::Client(req), false), false),
        req => (Pending::Read(req), false),
    }
}

/// Hands a write to the pipeline; its reply waits in the queue for the outcome.
fn write(conn: &Conn, hdr: &RequestHeader, op: WriteOp, close_after: bool) -> Pending {
    let who = conn.who.lock().clone();
    Pending::Write {
        rx: conn
            .shared
            .pipeline()
            .submit_nowait(conn.session, hdr.xid, op, who),
        close_after,
    }
}

/// One step of a SASL DIGEST-MD5 login; a finished login adds a `sasl` identity.
fn sasl_step(
    conn: &Conn,
    hdr: &RequestHeader,
    r: &SaslRequest,
    sasl: &mut Option<DigestMd5>,
) -> (Pending, bool) {
    let last = conn.shared.last_zxid();
    let state = sasl.get_or_insert_with(|| DigestMd5::new(rand::random()));
    match state.step(&r.token, &conn.shared.config.sasl_users) {
        Ok((token, user)) => {
            if let Some(user) = user {
                let mut g = conn.who.lock();
                let mut ids = (**g).clone();
                ids.add(Id {
                    scheme: "sasl".into(),
                    id: user,
                });
                *g = Arc::new(ids);
            }
            let body = SaslRequest { token }.to_bytes();
            (
                Pending::Ready(reply_frame(hdr.xid, last, ErrorCode::OK, &body)),
                false,
            )
        }
        Err(e) => {
            tracing::warn!(peer = %conn.peer, "{e}; closing the connection");
            (
                Pending::Ready(reply_frame(hdr.xid, last, ErrorCode::AUTH_FAILED, &[])),
                true,
            )
        }
    }
}
