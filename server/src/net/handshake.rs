//! The handshake: a ConnectRequest creates a session (a createSession txn) or resumes one
//! (id and password), and is answered with a ConnectResponse.
//!
//! A client that has seen a zxid this server has not applied yet is refused, as
//! ZooKeeper does, so no client ever goes back in time.

use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use warren_proto::{ConnectRequest, ConnectResponse, Jute};

use super::{ConnId, Outbound};
use crate::acl::Identities;
use crate::prep::WriteOp;
use crate::state::Shared;

/// The connection a handshake runs on.
pub struct Caller<'a> {
    pub conn: ConnId,
    pub out: &'a Outbound,
    pub peer: SocketAddr,
    pub who: &'a Mutex<Arc<Identities>>,
}

/// Establishes or resumes the session; `None` when the connection must close.
pub async fn handshake(
    shared: &Arc<Shared>,
    creq: &ConnectRequest,
    caller: &Caller<'_>,
) -> Option<(i64, u32)> {
    if shared.ensemble.as_ref().is_some_and(|e| e.is_cut_off()) {
        tracing::info!(
            peer = %caller.peer,
            "refusing a client: this member is cut off from its ensemble's quorum"
        );
        return None;
    }
    if shared.ensemble.as_ref().is_some_and(|e| e.is_installing()) {
        tracing::info!(
            peer = %caller.peer,
            "refusing a client: this member is installing the leader's snapshot"
        );
        return None;
    }
    let last = shared.last_zxid();
    if creq.last_zxid_seen > last {
        tracing::warn!(
            peer = %caller.peer,
            "refusing session: client has seen zxid {:#x}, this server's last is {last:#x}",
            creq.last_zxid_seen
        );
        return None;
    }
    let (min, max) = shared.config.session_timeout_range();
    let timeout = (creq.time_out.max(0) as u32).clamp(min, max);
    let established = if creq.session_id == 0 {
        create(shared, timeout, caller).await
    } else {
        resume(shared, creq, caller).await
    };
    let Some((session, timeout)) = established else {
        if creq.session_id != 0 {
            refuse(creq, caller.out);
        }
        return None;
    };
    caller.out.send_frame(
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

/// A new session: a createSession txn, then the session is this connection's.
async fn create(shared: &Shared, timeout: u32, caller: &Caller<'_>) -> Option<(i64, u32)> {
    let id = shared.sessions.next_id();
    let who = caller.who.lock().clone();
    let op = WriteOp::CreateSession {
        timeout_ms: timeout,
    };
    if let Err(e) = shared.pipeline().submit(id, 0, op, who).await {
        tracing::warn!(peer = %caller.peer, "cannot create a session: {e}");
        return None;
    }
    // The applier added the session to the table when its createSession committed.
    let _ = shared.sessions.attach(id, caller.conn, caller.out.clone());
    Some((id, timeout))
}

/// A reconnect: the password must match and the session must live; it moves to this
/// connection, and the connection it was on before is closed. An ensemble member that
/// does not know the session first catches up with the leader (the session may have
/// been created through another member a moment ago, or this one just restarted).
async fn resume(shared: &Shared, creq: &ConnectRequest, caller: &Caller<'_>) -> Option<(i64, u32)> {
    let id = creq.session_id;
    if creq.passwd != shared.sessions.password(id) {
        tracing::info!(peer = %caller.peer, "session {id:#x}: wrong password");
        return None;
    }
    if !shared.sessions.is_live(id) {
        if let Some(e) = shared.ensemble.as_ref() {
            if let Err(err) = e.sync_with_leader(shared).await {
                tracing::info!(peer = %caller.peer, "session {id:#x}: {err}");
            }
        }
    }
    let Some((timeout, old)) = shared.sessions.attach(id, caller.conn, caller.out.clone()) else {
        tracing::info!(peer = %caller.peer, "session {id:#x} is expired or unknown");
        return None;
    };
    if let Some((_, old_out)) = old {
        old_out.close();
    }
    if let Some(e) = shared.ensemble.as_ref() {
        e.revalidate(id).await;
    }
    Some((id, timeout))
}

/// ZooKeeper's answer to a reconnect it cannot accept: session id 0, then close.
fn refuse(creq: &ConnectRequest, out: &Outbound) {
    let resp = ConnectResponse {
        protocol_version: 0,
        time_out: 0,
        session_id: 0,
        passwd: vec![0; 16],
        read_only: creq.read_only.map(|_| false),
    };
    out.send_frame(resp.to_bytes());
    out.close();
}
