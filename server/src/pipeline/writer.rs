//! The writer thread: decides each write's txn and proposes it.
//!
//! A txn is decided against the engine under the overlay, the changes of every txn
//! proposed before it and not yet applied, so a pipelined `create /a` then `create /a/b`
//! sees `/a`. The decision's changes go into the overlay under the proposal's id; the
//! applier removes them once the engine holds them, and a proposal the log refuses is
//! discarded from it again.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;
use warren_proto::txn::{LoggedTxn, TxnHeader};
use warren_tree::{Change, Outcome, View, Writes};

use super::{PipelineError, WriteRequest, WriteResult};
use crate::ensemble::Ensemble;
use crate::log::Proposal;
use crate::prep::{decide, PrepContext, WriteOp};
use crate::state::Shared;

/// A proposed txn waiting for its commit, with what deciding it worked out: valid as the
/// txn's effect if it commits at `zxid_hint`.
pub struct Waiting {
    pub id: u64,
    pub reply: oneshot::Sender<WriteResult>,
    pub zxid_hint: i64,
    pub writes: Writes,
    pub outcome: Outcome,
    pub events: Vec<Change>,
}

/// Runs the writer until the request channel closes.
pub fn run(shared: &Shared, rx: mpsc::Receiver<WriteRequest>, waiting: mpsc::Sender<Waiting>) {
    let mut next_id = 1u64;
    let mut led_term = 0u64;
    let mut created = CreatedHere::default();
    while let Ok(req) = rx.recv() {
        if let Err(e) = admit(shared, &req, &mut created) {
            let _ = req.reply.send(Err(e));
            continue;
        }
        let req = match &shared.ensemble {
            Some(ensemble) => match lead(shared, ensemble, req, &mut led_term) {
                Some(req) => req,
                None => continue,
            },
            None => req,
        };
        created.note(&req, led_term);
        let id = next_id;
        next_id += 1;
        match propose(shared, id, req, &waiting) {
            Ok(()) => {}
            Err((e, reply)) => {
                if let PipelineError::Storage(what) = &e {
                    shared.fail_stop(what);
                }
                let _ = reply.send(Err(e));
            }
        }
    }
}

/// Whether the request may be decided at all.
fn admit(
    shared: &Shared,
    req: &WriteRequest,
    created: &mut CreatedHere,
) -> Result<(), PipelineError> {
    if shared.stopping.load(Ordering::SeqCst) {
        return Err(PipelineError::Stopped);
    }
    if matches!(req.op, WriteOp::Client(_)) && !created.is_live(shared, req.session) {
        return Err(PipelineError::SessionExpired);
    }
    Ok(())
}

/// The sessions whose createSession this server proposed, as leader, and whose
/// closeSession it has not: live, though the applier may not have added them yet.
///
/// A follower answers its client's connect once it has applied the createSession
/// itself, and that can happen before the leader's own applier gets to it; the client's
/// first write, forwarded at once, must not find the session unknown on the leader.
#[derive(Default)]
struct CreatedHere {
    term: u64,
    sessions: std::collections::HashSet<i64>,
}

impl CreatedHere {
    fn is_live(&mut self, shared: &Shared, session: i64) -> bool {
        if shared.sessions.is_live(session) {
            // The table has it now; it alone answers from here on.
            self.sessions.remove(&session);
            return true;
        }
        self.sessions.contains(&session)
    }

    /// Notes a request about to be decided in `term` (0 standalone).
    fn note(&mut self, req: &WriteRequest, term: u64) {
        if term != self.term {
            // What an earlier term proposed either was applied or will never commit.
            self.sessions.clear();
            self.term = term;
        }
        match req.op {
            WriteOp::CreateSession { .. } => {
                self.sessions.insert(req.session);
            }
            WriteOp::CloseSession => {
                self.sessions.remove(&req.session);
            }
            _ => {}
        }
    }
}

/// In an ensemble: the request back when this server leads and decides it; otherwise
/// it is forwarded to the leader, or refused (a forwarded write, or a session owned by
/// another member), and `None`.
fn lead(
    shared: &Shared,
    ensemble: &Ensemble,
    req: WriteRequest,
    led_term: &mut u64,
) -> Option<WriteRequest> {
    if !ensemble.lead_or_wait() {
        if req.from_peer.is_some() {
            let _ = req.reply.send(Err(PipelineError::NotLeader));
        } else {
            ensemble.forward(req);
        }
        return None;
    }
    let term = ensemble.member.term();
    if term != *led_term {
        // A new term led here: every earlier proposal of this server has been applied
        // or was cut from the log, so what the overlay still holds of them will never
        // commit.
        shared.overlay.lock().discard_after(0);
        *led_term = term;
    }
    let owner = req.from_peer.unwrap_or(ensemble.member.id);
    match &req.op {
        WriteOp::Client(_) => {
            if let Err(e) = ensemble.check_owner(req.session, owner) {
                let _ = req.reply.send(Err(e));
                return None;
            }
        }
        WriteOp::CreateSession { .. } => ensemble.set_owner(req.session, owner),
        _ => {}
    }
    Some(req)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

type Refused = (PipelineError, oneshot::Sender<WriteResult>);

/// Decides the txn, records it in the overlay, proposes it, and queues it for the applier.
fn propose(
    shared: &Shared,
    id: u64,
    req: WriteRequest,
    waiting: &mpsc::Sender<Waiting>,
) -> Result<(), Refused> {
    let zxid_hint = shared.log.next_zxid_hint();
    let mut header = TxnHeader {
        client_id: req.session,
        cxid: req.cxid,
        zxid: zxid_hint,
        time: now_ms(),
        txn_type: 0,
    };
    let ctx = PrepContext {
        who: &req.who,
        session: req.session,
        extended_types: shared.config.extended_types_enabled,
        enforce_quota: shared.config.enforce_quota,
        from_server: matches!(req.op, WriteOp::System(_)),
    };
    let decided = {
        let mut overlay = shared.overlay.lock();
        let mut view = View::new(&shared.engine, Some(&overlay));
        let decided = decide(&mut view, &header, &ctx, &req.op).map(|d| (d, view.take_changes()));
        if let Ok((_, writes)) = &decided {
            overlay.record(id, writes);
        }
        decided
    };
    let (d, writes) = match decided {
        Ok(x) => x,
        Err(e) => {
            return Err((
                PipelineError::Storage(format!("deciding a txn: {e}")),
                req.reply,
            ))
        }
    };
    header.txn_type = d.txn.txn_type();
    let txn = LoggedTxn {
        header,
        txn: d.txn,
        digest: None,
    };
    if let Err(e) = shared.log.propose(Proposal { id, txn }) {
        // Nothing was logged: forget the decision.
        shared.overlay.lock().discard_after(id - 1);
        return Err((PipelineError::from(e), req.reply));
    }
    // The applier waits for this when the commit arrives first.
    let _ = waiting.send(Waiting {
        id,
        reply: req.reply,
        zxid_hint,
        writes,
        outcome: d.outcome,
        events: d.changes,
    });
    Ok(())
}
