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

/// Establishes or resumes the session; `None` when the connection must close.
pub async fn handshake(
    shared: &Arc<Shared>,
    creq: &ConnectRequest,
    conn: ConnId,
    out: &Outbound,
    peer: SocketAddr,
    who: &Mutex<Arc<Identities>>,
) -> Option<(i64, u32)> {
    let last = shared.last_zxid();
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
        // The applier added the session to the table when its createSession committed.
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
