//! The network front end: one task per connection.
//!
//! - [`accept`]: the client ports (plain and TLS) and the per-address connection limit;
//! - [`admission`]: the limits on requests outstanding (`globalOutstandingLimit`);
//! - [`framing`]: length-prefixed frames, and the writer task of each connection;
//! - [`handshake`]: a ConnectRequest creates or resumes a session;
//! - [`dispatch`]: each request takes its place in the reply queue;
//! - [`replies`]: the reply queue, answered in request order.
//!
//! A connection starts with either a four-letter word (four ASCII letters instead of a
//! frame length) or a ConnectRequest. A frame that is too long or does not decode closes
//! this connection only, with a log line naming the peer; every other connection goes on.

pub mod accept;
pub mod admission;
pub mod dispatch;
pub mod framing;
pub mod handshake;
pub mod replies;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use warren_proto::{ConnectRequest, Id, Jute};

pub use framing::{OutFrame, Outbound};

use crate::acl::Identities;
use crate::fourlw;
use crate::state::Shared;

/// A connection's id, unique within the process.
pub type ConnId = u64;

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// A connection whose session is established: what every request handler needs.
pub struct Conn {
    pub shared: Arc<Shared>,
    pub id: ConnId,
    pub session: i64,
    pub out: Outbound,
    /// The connection's identities; auth and SASL add to them.
    pub who: Arc<Mutex<Arc<Identities>>>,
    pub peer: SocketAddr,
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
    let Some(creq) = read_connect(&shared, &mut rd, first, peer).await else {
        return;
    };
    let (out, rx) = Outbound::channel(shared.config.client_outbound_limit());
    tokio::spawn(framing::writer_task(wr, rx));
    let id: ConnId = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
    shared.stats.connection_opened(id, peer);
    let who = Arc::new(Mutex::new(Arc::new(identities(peer, x509))));
    let caller = handshake::Caller {
        conn: id,
        out: &out,
        peer,
        who: &who,
    };
    if let Some((session, timeout)) = handshake::handshake(&shared, &creq, &caller).await {
        shared.stats.connection_session(id, session, timeout);
        shared
            .watches
            .register_connection(id, out.clone(), who.clone());
        let conn = Arc::new(Conn {
            shared: shared.clone(),
            id,
            session,
            out: out.clone(),
            who,
            peer,
        });
        dispatch::run_session(conn, &mut rd).await;
        shared.watches.remove_connection(id);
        shared.sessions.detach(session, id);
    }
    shared.stats.connection_closed(id);
    out.close();
}

/// The ConnectRequest, whose frame length is `first`; `None` when the connection must close.
async fn read_connect<R: AsyncRead + Unpin>(
    shared: &Shared,
    rd: &mut R,
    first: [u8; 4],
    peer: SocketAddr,
) -> Option<ConnectRequest> {
    let body = match framing::read_frame(rd, shared.config.jute_max_buffer, Some(first)).await {
        Ok(Some(b)) => b,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(%peer, "handshake: {e}");
            return None;
        }
    };
    match ConnectRequest::from_bytes(&body) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(%peer, "malformed ConnectRequest ({e}); closing the connection");
            None
        }
    }
}

/// A new connection's identities: its address, and its client certificate's subject.
fn identities(peer: SocketAddr, x509: Option<String>) -> Identities {
    let mut ids = Identities::for_peer(peer.ip());
    if let Some(subject) = x509 {
        ids.add(Id {
            scheme: "x509".into(),
            id: subject,
        });
    }
    ids
}
