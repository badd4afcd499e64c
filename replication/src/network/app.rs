//! The application channel between members: numbered requests on one connection per
//! target, answered in any order, so a follower can have many forwarded writes in
//! flight to its leader at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};

use super::connect;
use super::frame::{self, AppFrame, Channel};

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Vec<u8>>>>>;

struct Conn {
    tx: mpsc::UnboundedSender<AppFrame>,
    pending: Pending,
    /// Cleared by the reader when the connection ends.
    alive: Arc<AtomicBool>,
}

/// Application connections to the other members.
pub struct AppPeers {
    me: u64,
    addrs: Mutex<HashMap<u64, String>>,
    conns: tokio::sync::Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
}

/// Why a call has no answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The request never left this server (the peer could not be reached).
    #[error("not sent: {0}")]
    NotSent(std::io::Error),
    /// The request was sent, or may have been, and no answer came.
    #[error("no answer: the connection to the peer closed")]
    Lost,
}

impl AppPeers {
    /// Peers at `addrs` (member id → quorum address), for member `me`.
    pub fn new(me: u64, addrs: HashMap<u64, String>) -> AppPeers {
        AppPeers {
            me,
            addrs: Mutex::new(addrs),
            conns: tokio::sync::Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// Sends `body` to member `target` and waits for its answer.
    ///
    /// # Errors
    /// [`CallError::NotSent`] when the member cannot be reached; [`CallError::Lost`] when
    /// the connection closes before the answer.
    pub async fn call(&self, target: u64, body: Vec<u8>) -> Result<Vec<u8>, CallError> {
        let answer = self.send(target, body).await?;
        answer.await.map_err(|_| CallError::Lost)
    }

    /// Queues `body` for member `target` and returns the receiver of its answer without
    /// waiting for it. Requests sent to one member, one after another, reach it in that
    /// order (one connection, one writer task).
    ///
    /// # Errors
    /// [`CallError::NotSent`] when the member cannot be reached; [`CallError::Lost`] when
    /// its connection has just closed.
    pub async fn send(
        &self,
        target: u64,
        body: Vec<u8>,
    ) -> Result<oneshot::Receiver<Vec<u8>>, CallError> {
        let conn = self.conn(target).await.map_err(CallError::NotSent)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        conn.pending.lock().insert(id, tx);
        if !conn.alive.load(Ordering::SeqCst) || conn.tx.send(AppFrame { id, body }).is_err() {
            conn.pending.lock().remove(&id);
            self.conns.lock().await.remove(&target);
            return Err(CallError::Lost);
        }
        Ok(rx)
    }

    async fn conn(&self, target: u64) -> std::io::Result<Arc<Conn>> {
        let mut conns = self.conns.lock().await;
        if let Some(c) = conns.get(&target) {
            if c.alive.load(Ordering::SeqCst) && !c.tx.is_closed() {
                return Ok(c.clone());
            }
        }
        let addr = self.addrs.lock().get(&target).cloned().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("server {target} is not a member"),
            )
        })?;
        let stream = connect(&addr, self.me, Channel::App).await?;
        let (mut rd, mut wr) = stream.into_split();
        let (tx, mut rx) = mpsc::unbounded_channel::<AppFrame>();
        let pending: Pending = Arc::default();
        tokio::spawn(async move {
            while let Some(f) = rx.recv().await {
                if frame::write(&mut wr, &f).await.is_err() {
                    break;
                }
            }
            let _ = wr.shutdown().await;
        });
        let p = pending.clone();
        let alive = Arc::new(AtomicBool::new(true));
        let a = alive.clone();
        tokio::spawn(async move {
            while let Ok(f) = frame::read::<_, AppFrame>(&mut rd).await {
                if let Some(tx) = p.lock().remove(&f.id) {
                    let _ = tx.send(f.body);
                }
            }
            // Dropping the senders fails every call still waiting.
            let mut p = p.lock();
            a.store(false, Ordering::SeqCst);
            p.clear();
        });
        let c = Arc::new(Conn { tx, pending, alive });
        conns.insert(target, c.clone());
        Ok(c)
    }
}
