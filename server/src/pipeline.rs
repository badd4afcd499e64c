//! The write pipeline: txn → log → apply, in zxid order.
//!
//! Two threads share the work, so that many writes can wait on one fsync:
//!
//! - the **writer** takes write requests one at a time, decides each one's txn against
//!   the applied state plus every txn logged before it (the [`Overlay`]), gives it the
//!   next zxid, and appends it to the log without waiting;
//! - the **applier** takes the logged txns in the same order, waits until each is durable
//!   (appends that arrived together share one fsync), fires the watches, applies the
//!   changes to the engine, and only then answers the client.
//!
//! So a reply means the txn is on disk, and readers never see a change that could be lost
//! in a crash. Replication would slot in between the two: the log append becomes a
//! proposal, and "durable" becomes "committed by a quorum".
//!
//! If the log or the engine fails (a full disk, say), the pipeline stops taking writes:
//! every later write is answered with an error, reads keep working, and nothing that was
//! acknowledged is lost. A restart recovers from the log.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;
use warren_proto::txn::{LoggedTxn, TxnHeader};
use warren_proto::ErrorCode;
use warren_wal::AppendTicket;

use crate::acl::Identities;
use crate::prep::{decide, PrepContext, WriteOp};
use crate::server::Shared;
use warren_tree::{write_changes, Change, Outcome, View};

/// The answer to a write: the txn's zxid and outcome, or why there is none.
pub type WriteResult = Result<(i64, Outcome), ErrorCode>;

/// A write on its way into the pipeline.
pub struct WriteRequest {
    pub session: i64,
    pub cxid: i32,
    pub op: WriteOp,
    pub who: Arc<Identities>,
    pub reply: oneshot::Sender<WriteResult>,
}

struct Logged {
    ticket: AppendTicket,
    zxid: i64,
    session: i64,
    kv: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    changes: Vec<Change>,
    outcome: Outcome,
    reply: oneshot::Sender<WriteResult>,
}

/// The entry point of the pipeline.
#[derive(Clone)]
pub struct Pipeline {
    tx: mpsc::Sender<WriteRequest>,
}

impl Pipeline {
    /// Starts the writer and applier threads. `last_zxid` is the highest zxid in the log.
    pub fn start(shared: Arc<Shared>, last_zxid: i64) -> std::io::Result<Pipeline> {
        let (tx, rx) = mpsc::channel::<WriteRequest>();
        let (atx, arx) = mpsc::channel::<Logged>();
        let s = shared.clone();
        std::thread::Builder::new()
            .name("warren-writer".into())
            .spawn(move || writer(s, rx, atx, last_zxid))?;
        std::thread::Builder::new()
            .name("warren-applier".into())
            .spawn(move || applier(shared, arx))?;
        Ok(Pipeline { tx })
    }

    /// Submits a write and waits for its outcome.
    pub async fn submit(
        &self,
        session: i64,
        cxid: i32,
        op: WriteOp,
        who: Arc<Identities>,
    ) -> WriteResult {
        self.submit_nowait(session, cxid, op, who)
            .await
            .unwrap_or(Err(ErrorCode::SYSTEM_ERROR))
    }

    /// Submits a write and returns the receiver of its outcome, so the caller can queue
    /// it behind earlier replies without waiting here.
    pub fn submit_nowait(
        &self,
        session: i64,
        cxid: i32,
        op: WriteOp,
        who: Arc<Identities>,
    ) -> oneshot::Receiver<WriteResult> {
        let (reply, rx) = oneshot::channel();
        let req = WriteRequest {
            session,
            cxid,
            op,
            who,
            reply,
        };
        if let Err(mpsc::SendError(req)) = self.tx.send(req) {
            let _ = req.reply.send(Err(ErrorCode::SYSTEM_ERROR));
        }
        rx
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn writer(
    shared: Arc<Shared>,
    rx: mpsc::Receiver<WriteRequest>,
    atx: mpsc::Sender<Logged>,
    mut last_zxid: i64,
) {
    while let Ok(req) = rx.recv() {
        if shared.broken.load(Ordering::SeqCst) {
            let _ = req.reply.send(Err(ErrorCode::SYSTEM_ERROR));
            continue;
        }
        let client_write = matches!(req.op, WriteOp::Client(_));
        if client_write && !shared.sessions.is_live(req.session) {
            let _ = req.reply.send(Err(ErrorCode::SESSION_EXPIRED));
            continue;
        }
        let zxid = last_zxid + 1;
        let mut hdr = TxnHeader {
            client_id: req.session,
            cxid: req.cxid,
            zxid,
            time: now_ms(),
            txn_type: 0,
        };
        let ctx = PrepContext {
            who: &req.who,
            session: req.session,
            extended_types: shared.config.extended_types_enabled,
            enforce_quota: shared.config.enforce_quota,
        };
        let decided = {
            let mut overlay = shared.overlay.lock();
            let mut view = View::new(&shared.engine, Some(&overlay));
            match decide(&mut view, &hdr, &ctx, &req.op) {
                Ok(d) => {
                    let kv = view.take_changes();
                    overlay.record(zxid, &kv);
                    Ok((d, kv))
                }
                Err(e) => Err(e),
            }
        };
        let (d, kv) = match decided {
            Ok(x) => x,
            Err(e) => {
                shared.fail(&format!("deciding txn {zxid:#x}: {e}"));
                let _ = req.reply.send(Err(ErrorCode::SYSTEM_ERROR));
                continue;
            }
        };
        hdr.txn_type = d.txn.txn_type();
        let bytes = LoggedTxn {
            header: hdr,
            txn: d.txn,
            digest: None,
        }
        .encode();
        let ticket = match shared.wal.append(zxid as u64, &bytes) {
            Ok(t) => t,
            Err(e) => {
                shared.fail(&format!("appending txn {zxid:#x} to the log: {e}"));
                let _ = req.reply.send(Err(ErrorCode::SYSTEM_ERROR));
                continue;
            }
        };
        last_zxid = zxid;
        let logged = Logged {
            ticket,
            zxid,
            session: req.session,
            kv,
            changes: d.changes,
            outcome: d.outcome,
            reply: req.reply,
        };
        if atx.send(logged).is_err() {
            return;
        }
    }
}

fn applier(shared: Arc<Shared>, rx: mpsc::Receiver<Logged>) {
    while let Ok(l) = rx.recv() {
        if let Err(e) = l.ticket.wait() {
            shared.fail(&format!("making txn {:#x} durable: {e}", l.zxid));
            let _ = l.reply.send(Err(ErrorCode::SYSTEM_ERROR));
            continue;
        }
        if shared.broken.load(Ordering::SeqCst) {
            let _ = l.reply.send(Err(ErrorCode::SYSTEM_ERROR));
            continue;
        }
        let applied = {
            let _g = shared.tree_lock.write();
            shared.watches.fire(&l.changes);
            let r = if l.kv.is_empty() {
                Ok(())
            } else {
                write_changes(&shared.engine, l.zxid, &l.kv)
            };
            shared.last_zxid.store(l.zxid, Ordering::SeqCst);
            r
        };
        if let Err(e) = applied {
            shared.fail(&format!("applying txn {:#x}: {e}", l.zxid));
            let _ = l.reply.send(Err(ErrorCode::SYSTEM_ERROR));
            continue;
        }
        shared.overlay.lock().applied(l.zxid, &l.kv);
        shared.stats.txns.fetch_add(1, Ordering::Relaxed);
        if l.outcome == Outcome::SessionClosed {
            // The connection, if any, is closed by whoever asked for the close: the
            // client's own connection after the reply, or the expiry task.
            shared.sessions.remove(l.session);
        }
        let _ = l.reply.send(Ok((l.zxid, l.outcome)));
    }
}
