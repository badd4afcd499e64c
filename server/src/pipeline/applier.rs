//! The applier thread: committed txns, in zxid order, become engine state, watch events
//! and replies.
//!
//! Every committed txn goes through [`warren_tree::apply_committed`], the function
//! recovery and the tools use, unless this server decided it and it committed at the
//! zxid it was decided with: then the decision's changes are exactly what that function
//! computes, and are written as they are (with `warren.verifyApply=true` the function
//! runs anyway and the two are compared, as in the test suite; a difference is a bug and
//! stops the server).
//!
//! Watches fire under the tree lock before the change becomes visible to reads, so a
//! client sees an event before any reply that reflects the change.

use std::sync::atomic::Ordering;
use std::sync::mpsc;

use tokio::sync::oneshot;
use warren_proto::txn::Txn;
use warren_tree::{Applied, Outcome};

use super::writer::Waiting;
use super::{PipelineError, WriteResult};
use crate::log::{Committed, Delivered};
use crate::state::Shared;

/// Runs the applier until the log closes or fails.
pub fn run(shared: &Shared, waiting: mpsc::Receiver<Waiting>) {
    while let Some(next) = shared.log.next_committed() {
        let committed = match next {
            Ok(Delivered::Txn(c)) => c,
            Ok(Delivered::Install(job)) => match install(shared, job) {
                Ok(()) => continue,
                Err(what) => {
                    shared.fail_stop(&what);
                    break;
                }
            },
            Err(e) => {
                shared.fail_stop(&e.to_string());
                break;
            }
        };
        let local = committed.proposal.and_then(|id| waiting_for(&waiting, id));
        if let Err(what) = apply(shared, &committed, local) {
            shared.fail_stop(&what);
            break;
        }
    }
    // Dropping `waiting` drops the reply senders of whatever still waits: their outcome
    // is unknown, and their connections close unanswered.
}

/// The local proposal `id`, once the writer has queued it. Older proposals that were
/// never committed (a leader that lost its term) are answered: their connections may
/// retry on the new leader.
fn waiting_for(waiting: &mpsc::Receiver<Waiting>, id: u64) -> Option<Waiting> {
    loop {
        let w = waiting.recv().ok()?;
        if w.id == id {
            return Some(w);
        }
        let _ = w.reply.send(Err(PipelineError::NotLeader));
    }
}

/// Applies one committed txn and answers its client, if it is ours.
fn apply(shared: &Shared, c: &Committed, local: Option<Waiting>) -> Result<(), String> {
    let zxid = c.zxid();
    let (applied, reply) =
        effect(shared, c, local).map_err(|e| format!("applying txn {zxid:#x}: {e}"))?;
    {
        let _g = shared.tree_lock.write();
        shared
            .watches
            .fire(&applied.events, |id| {
                warren_tree::acl_after(&shared.engine, &applied.writes, id)
            })
            .map_err(|e| format!("applying txn {zxid:#x}: the ACL of a watch event: {e}"))?;
        if !applied.writes.is_empty() {
            warren_tree::write_changes(&shared.engine, zxid, &applied.writes)
                .map_err(|e| format!("applying txn {zxid:#x}: {e}"))?;
        }
        shared.last_zxid.store(zxid, Ordering::SeqCst);
    }
    if let Some(id) = c.proposal {
        shared.overlay.lock().applied(id);
    }
    shared.stats.txns.fetch_add(1, Ordering::Relaxed);
    track_session(shared, c, &applied.outcome);
    if let Some(forwarded) = forwarded_from_here(shared, c) {
        let _ = forwarded.send(Ok((zxid, applied.outcome.clone())));
    }
    if let Some(reply) = reply {
        let _ = reply.send(Ok((zxid, applied.outcome)));
    }
    Ok(())
}

/// Replaces the whole state with the leader's snapshot. No client is served meanwhile
/// (as a ZooKeeper follower syncing with its leader serves none): the connections close,
/// new ones are refused until the engine holds the snapshot, and the clients come back
/// with their sessions and re-set their watches against the new state.
fn install(shared: &Shared, job: warren_replication::Install) -> Result<(), String> {
    let zxid = job.zxid();
    let started = std::time::Instant::now();
    if let Some(e) = &shared.ensemble {
        e.begin_install();
    }
    shared.sessions.close_connections();
    let done = {
        let _g = shared.tree_lock.write();
        let done = job
            .run()
            .map_err(|e| format!("installing the leader's snapshot: {e}"))?;
        shared
            .sessions
            .reload(&shared.engine)
            .map_err(|e| format!("reading the sessions of an installed snapshot: {e}"))?;
        shared.last_zxid.store(zxid, Ordering::SeqCst);
        done
    };
    if let Some(e) = &shared.ensemble {
        e.end_install();
    }
    tracing::info!(
        zxid = format_args!("{zxid:#x}"),
        puts = done.puts,
        deletes = done.deletes,
        unchanged = done.unchanged,
        ms = started.elapsed().as_millis() as u64,
        "installed the leader's snapshot; serving clients again"
    );
    Ok(())
}

/// In an ensemble, the client waiting here for a write this server forwarded to the
/// leader (which may be this server by now: see [`crate::ensemble::forward`]).
fn forwarded_from_here(shared: &Shared, c: &Committed) -> Option<oneshot::Sender<WriteResult>> {
    let ensemble = shared.ensemble.as_ref()?;
    ensemble.take_forwarded(c.txn.header.client_id, c.txn.header.cxid)
}

/// What the txn does: the decision's changes when they are valid, else the apply
/// function's.
///
/// # Errors
/// Engine failures; under `warren.verifyApply` (and in debug builds), a decision that
/// differs from the apply function's result, which is a bug: the server stops.
fn effect(
    shared: &Shared,
    c: &Committed,
    local: Option<Waiting>,
) -> Result<(Applied, Option<oneshot::Sender<WriteResult>>), String> {
    let compute = || warren_tree::compute(&shared.engine, &c.txn).map_err(|e| e.to_string());
    let Some(w) = local else {
        return Ok((compute()?, None));
    };
    if w.zxid_hint != c.zxid() {
        return Ok((compute()?, Some(w.reply)));
    }
    let decided = Applied {
        outcome: w.outcome,
        events: w.events,
        writes: w.writes,
    };
    if shared.config.verify_apply || cfg!(debug_assertions) {
        let computed = compute()?;
        if computed != decided {
            return Err(format!(
                "the changes decided for it differ from the apply function's \
                 (decided {decided:?}, applied {computed:?})"
            ));
        }
    }
    Ok((decided, Some(w.reply)))
}

/// Keeps the live session table in step with committed session txns: a session exists
/// from its createSession on, and is gone once its closeSession is applied.
fn track_session(shared: &Shared, c: &Committed, outcome: &Outcome) {
    let id = c.txn.header.client_id;
    match (&c.txn.txn, outcome) {
        (Txn::CreateSession(t), Outcome::SessionCreated) => {
            shared.sessions.add(id, t.time_out.max(0) as u32);
        }
        (_, Outcome::SessionClosed) => {
            // A session closing here (its client's closeSession, or this server's
            // expiry) had its connection taken care of by whoever asked. One closed
            // elsewhere (the leader expired it) may still have a client connected
            // here: that connection closes, and the client learns of the expiry when it
            // reconnects.
            if let Some(e) = &shared.ensemble {
                e.forget_owner(id);
            }
            if let Some(s) = shared.sessions.remove(id).filter(|s| !s.closing) {
                if let Some((_, out)) = s.conn {
                    out.close();
                }
            }
        }
        _ => {}
    }
}
