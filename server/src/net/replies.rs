//! The reply queue of a connection: replies leave in request order. A write's place
//! waits for its outcome from the pipeline; a read runs only when every place before it
//! has been answered, so it sees the connection's own earlier writes, as ZooKeeper
//! promises.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use warren_proto::{ErrorCode, Request};

use super::admission::Admitted;
use super::framing::reply_frame;
use super::Conn;
use crate::pipeline::{PipelineError, WriteResult};
use crate::read::Reader;
use crate::reply::encode_outcome;

/// A place in a connection's reply queue: the request's xid and opcode, when it arrived,
/// what answers it, and its admission, given back once the reply is queued.
pub struct Slot {
    pub xid: i32,
    pub op: i32,
    pub started: Instant,
    pub kind: Pending,
    pub _admitted: Admitted,
}

/// What answers a request.
pub enum Pending {
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

/// A reply: the frame to send (`None` when the read queued it itself, under the tree
/// lock), its zxid, and whether the connection closes after it.
struct Answer {
    frame: Option<Vec<u8>>,
    zxid: i64,
    close: bool,
}

/// Answers the queued places in order until the queue closes.
pub async fn respond(conn: Arc<Conn>, mut queue: mpsc::Receiver<Slot>) {
    while let Some(slot) = queue.recv().await {
        let Some(a) = answer(&conn, slot.xid, slot.op, slot.kind).await else {
            // The outcome of a write is unknown (the server is stopping after a storage
            // failure): no reply, the connection closes, the client retries elsewhere.
            conn.out.close();
            return;
        };
        if let Some(frame) = a.frame {
            conn.out.send_frame(frame);
        }
        conn.shared
            .stats
            .reply_sent(conn.id, slot.op, slot.xid, a.zxid, slot.started);
        if a.close {
            conn.out.close();
            return;
        }
    }
}

async fn answer(conn: &Conn, xid: i32, op: i32, kind: Pending) -> Option<Answer> {
    let last = conn.shared.last_zxid();
    Some(match kind {
        Pending::Ready(frame) => Answer {
            frame: Some(frame),
            zxid: last,
            close: false,
        },
        Pending::Write { rx, close_after } => {
            let result = rx.await.unwrap_or(Err(PipelineError::Stopped));
            let (zxid, err, body) = match result {
                Ok((zxid, outcome)) => {
                    let (err, body) = encode_outcome(op, &outcome);
                    (zxid, err, body)
                }
                Err(e) if e.outcome_unknown() => return None,
                Err(e) => (last, e.code(), Vec::new()),
            };
            Answer {
                frame: Some(reply_frame(xid, zxid, err, &body)),
                zxid,
                close: close_after,
            }
        }
        Pending::Read(req) => {
            if let Err(e) = sync_first(conn, &req).await {
                tracing::warn!(session = format!("{:#x}", conn.session), "sync: {e}");
                return Some(Answer {
                    frame: Some(reply_frame(xid, last, ErrorCode::CONNECTION_LOSS, &[])),
                    zxid: last,
                    close: false,
                });
            }
            read(conn, xid, &req)
        }
        Pending::SetWatches {
            relative_zxid,
            lists,
        } => set_watches(conn, xid, relative_zxid, &lists),
    })
}

/// In an ensemble, a `sync` first catches this server up with the leader.
async fn sync_first(conn: &Conn, req: &Request) -> Result<(), crate::ensemble::sync::SyncError> {
    match (req, conn.shared.ensemble.as_ref()) {
        (Request::Sync(_), Some(e)) => e.sync_with_leader(&conn.shared).await,
        _ => Ok(()),
    }
}

fn reader<'a>(conn: &'a Conn, who: &'a crate::acl::Identities) -> Reader<'a> {
    Reader {
        shared: &conn.shared,
        conn: conn.id,
        session: conn.session,
        who,
        out: &conn.out,
        at: warren_engine::ReadSeq::Latest,
    }
}

/// Reads run on the connection's task: they are memtable or block-cache hits, or one
/// small pread. (`block_in_place` here made tokio start a thread per busy connection,
/// each with its own allocator and zstd caches.) The reader queues its reply itself.
fn read(conn: &Conn, xid: i32, req: &Request) -> Answer {
    let who = conn.who.lock().clone();
    let zxid = reader(conn, &who).answer(xid, req);
    Answer {
        frame: None,
        zxid,
        close: false,
    }
}

fn set_watches(conn: &Conn, xid: i32, relative_zxid: i64, lists: &[Vec<String>; 5]) -> Answer {
    let who = conn.who.lock().clone();
    let zxid = reader(conn, &who).answer_set_watches(xid, relative_zxid, lists);
    Answer {
        frame: None,
        zxid,
        close: false,
    }
}
