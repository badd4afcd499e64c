//! The quorum port's listener: every peer connection starts with a hello naming a
//! configured member, and is then served as a Raft or an application channel.
//!
//! When a Raft connection closes, the member hears of it with the time the last RPC
//! arrived on it: a leader's process that died has its sockets closed by its kernel at
//! once, so a follower learns of the death long before its election timer would.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::frame::{self, AppFrame, Channel, Hello, RaftRequest, RaftResponse, MAGIC, VERSION};
use super::AppService;
use crate::Raft;

/// What the listener needs.
pub struct Listening {
    pub raft: Raft,
    pub app: Arc<dyn AppService>,
    /// The ids allowed to connect.
    pub members: Arc<dyn Fn(u64) -> bool + Send + Sync>,
    /// Called with the peer's id and the time of its last RPC when its Raft
    /// connection closes.
    pub on_closed: Arc<dyn Fn(u64, Instant) + Send + Sync>,
    /// When each peer's last AppendEntries arrived, on any connection.
    pub last_heard: Arc<LastHeard>,
}

/// When each peer was last heard from over Raft.
#[derive(Default)]
pub struct LastHeard(parking_lot::Mutex<std::collections::HashMap<u64, Instant>>);

impl LastHeard {
    fn heard(&self, peer: u64, at: Instant) {
        self.0.lock().insert(peer, at);
    }

    /// When `peer`'s last Raft RPC arrived.
    pub fn get(&self, peer: u64) -> Option<Instant> {
        self.0.lock().get(&peer).copied()
    }
}

/// Accepts peers until the runtime stops.
pub async fn serve(listener: TcpListener, l: Arc<Listening>) {
    loop {
        match listener.accept().await {
            Ok((s, peer)) => {
                let l = l.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve_one(s, &l).await {
                        tracing::debug!(%peer, "peer connection ended: {e}");
                    }
                });
            }
            Err(e) => {
                tracing::warn!("accepting a peer connection: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_one(mut s: TcpStream, l: &Listening) -> std::io::Result<()> {
    s.set_nodelay(true)?;
    let peer = s.peer_addr()?;
    let hello: Hello = tokio::time::timeout(Duration::from_secs(5), frame::read_max(&mut s, 1024))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no hello"))??;
    if hello.magic != MAGIC || hello.version != VERSION {
        tracing::warn!(%peer, "refused a quorum-port connection that is not a Warren peer of this version");
        return Ok(());
    }
    if !(l.members)(hello.from) {
        tracing::warn!(%peer, id = hello.from, "refused a peer that is not a member of this ensemble");
        return Ok(());
    }
    match hello.channel {
        Channel::Raft => {
            let mut last = Instant::now();
            let r = serve_raft(&mut s, l, hello.from, &mut last).await;
            (l.on_closed)(hello.from, last);
            r
        }
        Channel::App => serve_app(s, hello.from, l.app.clone()).await,
    }
}

async fn serve_raft(
    s: &mut TcpStream,
    l: &Listening,
    from: u64,
    last: &mut Instant,
) -> std::io::Result<()> {
    let raft = &l.raft;
    loop {
        let req: RaftRequest = frame::read(s).await?;
        *last = Instant::now();
        // Only a leader's AppendEntries (heartbeats included) say it still leads; a
        // vote request from a former leader does not.
        if matches!(req, RaftRequest::Append(_)) {
            l.last_heard.heard(from, *last);
        }
        let resp = match req {
            RaftRequest::Append(r) => RaftResponse::Append(raft.append_entries(r).await),
            RaftRequest::Vote(r) => RaftResponse::Vote(raft.vote(r).await),
            RaftRequest::Snapshot(r) => RaftResponse::Snapshot(raft.install_snapshot(r).await),
        };
        frame::write(s, &resp).await?;
    }
}

async fn serve_app(s: TcpStream, from: u64, app: Arc<dyn AppService>) -> std::io::Result<()> {
    let (mut rd, mut wr) = s.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<AppFrame>();
    let writer = tokio::spawn(async move {
        while let Some(f) = rx.recv().await {
            if frame::write(&mut wr, &f).await.is_err() {
                break;
            }
        }
    });
    let result = loop {
        let f: AppFrame = match frame::read(&mut rd).await {
            Ok(f) => f,
            Err(e) => break Err(e),
        };
        // `call` starts each request in arrival order (a forwarded write enters the
        // pipeline here); only the waiting for its answer runs beside the others.
        let answer = app.call(from, f.body);
        let tx = tx.clone();
        tokio::spawn(async move {
            let body = answer.await;
            let _ = tx.send(AppFrame { id: f.id, body });
        });
    };
    drop(tx);
    let _ = writer.await;
    result
}
