//! The Raft side of the peer network: one connection per target, opened on first use
//! and again after any failure, carrying one RPC at a time (openraft sends to each
//! target in order).
//!
//! openraft gives up on an AppendEntries after one heartbeat interval by dropping the
//! call's future. A call that simply wrote its request and then read "the next frame"
//! would leave that request's answer on the connection, and the next call would read it
//! as its own: the leader would then count entries as stored on a follower that had not
//! stored them yet. So each exchange runs in a task of its own that owns the connection
//! until the answer is in; a call whose caller gave up leaves that task behind, and the
//! next call waits for it, drops its answer and takes the connection back. An exchange
//! that takes longer than the RPC timeout (`syncLimit` ticks, as ZooKeeper lets a
//! follower lag) closes the connection.
//!
//! A follower whose every append takes longer than a heartbeat (a slow disk, a big
//! batch) would then never be heard to succeed: each retry waits for the abandoned
//! exchange and is abandoned in turn. So when the abandoned exchange appended entries
//! after the same `prev_log_id` in the same term and succeeded, its answer is used for
//! the retry: the retry's entries start with the same ones (Raft's log matching), so the
//! follower holds at least those, and the call answers `PartialSuccess` up to them (or
//! `Success` when they cover the whole retry), as openraft allows a network to do.

use std::io;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, LogId, Vote};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::connect;
use super::frame::{self, Channel, RaftRequest, RaftResponse};
use crate::Warren;

/// Makes a [`PeerClient`] per target.
pub struct Factory {
    pub me: u64,
    /// How long one exchange may take before its connection is closed.
    pub rpc_timeout: Duration,
}

impl RaftNetworkFactory<Warren> for Factory {
    type Network = PeerClient;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> PeerClient {
        PeerClient {
            me: self.me,
            target,
            addr: node.addr.clone(),
            rpc_timeout: self.rpc_timeout,
            idle: None,
            busy: None,
        }
    }
}

/// What an exchange task gives back: the connection, if it is still usable, and the
/// answer.
type Exchanged = (Option<TcpStream>, io::Result<RaftResponse>);

/// Raft's connection to one peer.
pub struct PeerClient {
    me: u64,
    target: u64,
    addr: String,
    rpc_timeout: Duration,
    /// The connection when no exchange holds it.
    idle: Option<TcpStream>,
    /// The exchange that holds the connection now, and what it appended.
    busy: Option<(JoinHandle<Exchanged>, Option<Appended>)>,
}

/// What an AppendEntries asked the follower to store: entries after `prev` up to `last`,
/// for the leader of `vote`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Appended {
    vote: Vote<u64>,
    prev: Option<LogId<u64>>,
    last: LogId<u64>,
}

impl Appended {
    fn of(rpc: &AppendEntriesRequest<Warren>) -> Option<Appended> {
        Some(Appended {
            vote: rpc.vote,
            prev: rpc.prev_log_id,
            last: rpc.entries.last()?.log_id,
        })
    }

    /// The answer `rpc` may be given because this append succeeded.
    fn answer_for(&self, rpc: &AppendEntriesRequest<Warren>) -> Option<AppendEntriesResponse<u64>> {
        if rpc.vote != self.vote || rpc.prev_log_id != self.prev {
            return None;
        }
        let last = rpc.entries.last().map(|e| e.log_id);
        Some(if last.is_none_or(|l| l.index <= self.last.index) {
            AppendEntriesResponse::Success
        } else {
            AppendEntriesResponse::PartialSuccess(Some(self.last))
        })
    }
}

type Rpc<T, E = openraft::error::Infallible> =
    Result<T, RPCError<u64, BasicNode, RaftError<u64, E>>>;

enum CallError {
    Unreachable(io::Error),
    Network(io::Error),
}

/// Sends `request` (a whole frame) on `conn` and reads one answer, within `timeout`.
async fn exchange(mut conn: TcpStream, request: Vec<u8>, timeout: Duration) -> Exchanged {
    let round = async {
        conn.write_all(&request).await?;
        conn.flush().await?;
        frame::read::<_, RaftResponse>(&mut conn).await
    };
    match tokio::time::timeout(timeout, round).await {
        Ok(Ok(answer)) => (Some(conn), Ok(answer)),
        Ok(Err(e)) => (None, Err(e)),
        Err(_) => (
            None,
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the peer did not answer within {timeout:?}"),
            )),
        ),
    }
}

impl PeerClient {
    /// One RPC. Cancel-safe: dropped at any await, it leaves the connection either idle,
    /// closed, or held by an exchange the next call waits for.
    async fn call(
        &mut self,
        req: &RaftRequest,
        timeout: Duration,
    ) -> Result<RaftResponse, CallError> {
        let request = frame::encode(req).map_err(CallError::Network)?;
        self.wait_for_earlier_exchange().await;
        self.send(req, request, timeout).await
    }

    /// Sends one encoded request on an idle (or new) connection and waits for its answer.
    async fn send(
        &mut self,
        req: &RaftRequest,
        request: Vec<u8>,
        timeout: Duration,
    ) -> Result<RaftResponse, CallError> {
        let conn = match self.idle.take() {
            Some(c) => c,
            None => connect(&self.addr, self.me, Channel::Raft)
                .await
                .map_err(CallError::Unreachable)?,
        };
        let appended = match req {
            RaftRequest::Append(rpc) => Appended::of(rpc),
            _ => None,
        };
        let (busy, _) = self
            .busy
            .insert((tokio::spawn(exchange(conn, request, timeout)), appended));
        let (conn, answer) = match busy.await {
            Ok(done) => done,
            Err(e) => (None, Err(io::Error::other(e))),
        };
        self.busy = None;
        self.idle = conn;
        answer.map_err(CallError::Network)
    }

    /// Waits for an exchange whose caller gave up and takes its connection back. Returns
    /// what it appended when the follower stored it.
    async fn wait_for_earlier_exchange(&mut self) -> Option<Appended> {
        let (busy, appended) = self.busy.as_mut()?;
        let appended = *appended;
        let (conn, answer) = busy.await.unwrap_or((None, Err(io::Error::other("lost"))));
        self.busy = None;
        self.idle = conn;
        match answer {
            Ok(RaftResponse::Append(Ok(AppendEntriesResponse::Success))) => appended,
            _ => None,
        }
    }

    /// An AppendEntries: answered from an abandoned exchange that already stored its
    /// first entries, or sent.
    async fn append(
        &mut self,
        rpc: AppendEntriesRequest<Warren>,
    ) -> Result<RaftResponse, CallError> {
        if let Some(answer) = self
            .wait_for_earlier_exchange()
            .await
            .and_then(|done| done.answer_for(&rpc))
        {
            return Ok(RaftResponse::Append(Ok(answer)));
        }
        let req = RaftRequest::Append(rpc);
        let request = frame::encode(&req).map_err(CallError::Network)?;
        self.send(&req, request, self.rpc_timeout).await
    }

    fn fail<E: std::error::Error>(
        &self,
        e: CallError,
    ) -> RPCError<u64, BasicNode, RaftError<u64, E>> {
        match e {
            CallError::Unreachable(e) => RPCError::Unreachable(Unreachable::new(&e)),
            CallError::Network(e) => RPCError::Network(NetworkError::new(&e)),
        }
    }

    fn remote<T, E: std::error::Error>(&self, r: Result<T, RaftError<u64, E>>) -> Rpc<T, E> {
        r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    fn mismatch<E: std::error::Error>(&self) -> RPCError<u64, BasicNode, RaftError<u64, E>> {
        let e = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the peer answered another RPC",
        );
        RPCError::Network(NetworkError::new(&e))
    }
}

impl RaftNetwork<Warren> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<Warren>,
        _option: RPCOption,
    ) -> Rpc<AppendEntriesResponse<u64>> {
        match self.append(rpc).await {
            Ok(RaftResponse::Append(r)) => self.remote(r),
            Ok(_) => Err(self.mismatch()),
            Err(e) => Err(self.fail(e)),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<Warren>,
        option: RPCOption,
    ) -> Rpc<InstallSnapshotResponse<u64>, InstallSnapshotError> {
        match self
            .call(
                &RaftRequest::Snapshot(rpc),
                option.hard_ttl().max(self.rpc_timeout),
            )
            .await
        {
            Ok(RaftResponse::Snapshot(r)) => self.remote(r),
            Ok(_) => Err(self.mismatch()),
            Err(e) => Err(self.fail(e)),
        }
    }

    async fn vote(&mut self, rpc: VoteRequest<u64>, _option: RPCOption) -> Rpc<VoteResponse<u64>> {
        match self.call(&RaftRequest::Vote(rpc), self.rpc_timeout).await {
            Ok(RaftResponse::Vote(r)) => self.remote(r),
            Ok(_) => Err(self.mismatch()),
            Err(e) => Err(self.fail(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
    use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse};
    use openraft::{BasicNode, CommittedLeaderId, Entry, EntryPayload, LogId, Vote};
    use tokio::net::TcpListener;

    use super::Factory;
    use crate::network::frame::{self, Hello, RaftRequest, RaftResponse};

    fn heartbeat() -> AppendEntriesRequest<crate::Warren> {
        AppendEntriesRequest {
            vote: Vote::new_committed(1, 1),
            prev_log_id: None,
            entries: vec![],
            leader_commit: None,
        }
    }

    /// A peer that answers its first AppendEntries after 300 ms with "a higher vote" and
    /// every later one at once with "success".
    async fn slow_then_fast_peer(listener: TcpListener) -> std::io::Result<()> {
        let (mut s, _) = listener.accept().await?;
        let _: Hello = frame::read(&mut s).await?;
        let mut first = true;
        loop {
            let _: RaftRequest = frame::read(&mut s).await?;
            let answer = if first {
                tokio::time::sleep(Duration::from_millis(300)).await;
                AppendEntriesResponse::HigherVote(Vote::new(7, 2))
            } else {
                AppendEntriesResponse::Success
            };
            first = false;
            frame::write(&mut s, &RaftResponse::Append(Ok(answer))).await?;
        }
    }

    fn append(last: u64) -> AppendEntriesRequest<crate::Warren> {
        let entries = (1..=last)
            .map(|index| Entry {
                log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
                payload: EntryPayload::Blank,
            })
            .collect();
        AppendEntriesRequest {
            entries,
            ..heartbeat()
        }
    }

    /// A follower slower than openraft's patience stores entries 1 and 2; the retry, with
    /// entries 1 to 3, is answered "stored up to 2" at once, so the leader makes progress
    /// however slow each exchange is.
    #[tokio::test]
    async fn a_retry_is_answered_by_the_abandoned_append_that_stored_its_first_entries() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        tokio::spawn(slow_peer_that_stores(listener));
        let mut factory = Factory {
            me: 1,
            rpc_timeout: Duration::from_secs(5),
        };
        let mut client = factory.new_client(2, &BasicNode { addr }).await;
        let option = || RPCOption::new(Duration::from_millis(50));
        let abandoned = tokio::time::timeout(
            Duration::from_millis(50),
            client.append_entries(append(2), option()),
        )
        .await;
        assert!(
            abandoned.is_err(),
            "the first call should have been cut off"
        );
        let retry = client.append_entries(append(3), option()).await;
        let two = LogId::new(CommittedLeaderId::new(1, 1), 2);
        assert!(
            matches!(retry, Ok(AppendEntriesResponse::PartialSuccess(Some(l))) if l == two),
            "the retry got {retry:?}"
        );
        let covered = client.append_entries(append(1), option()).await;
        assert!(
            matches!(covered, Ok(AppendEntriesResponse::Success)),
            "a request the follower answered itself: {covered:?}"
        );
    }

    /// A peer that answers every AppendEntries with "success" after 200 ms.
    async fn slow_peer_that_stores(listener: TcpListener) -> std::io::Result<()> {
        let (mut s, _) = listener.accept().await?;
        let _: Hello = frame::read(&mut s).await?;
        loop {
            let _: RaftRequest = frame::read(&mut s).await?;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let answer = AppendEntriesResponse::Success;
            frame::write(&mut s, &RaftResponse::Append(Ok(answer))).await?;
        }
    }

    /// openraft drops an AppendEntries call after one heartbeat interval. The answer to
    /// that abandoned call must not become the answer to the next one (which would make
    /// the leader count entries as stored that the follower has not seen yet).
    #[tokio::test]
    async fn an_abandoned_call_does_not_leave_its_answer_for_the_next_call() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        tokio::spawn(slow_then_fast_peer(listener));
        let mut factory = Factory {
            me: 1,
            rpc_timeout: Duration::from_secs(5),
        };
        let mut client = factory.new_client(2, &BasicNode { addr }).await;
        let option = || RPCOption::new(Duration::from_millis(50));
        let abandoned = tokio::time::timeout(
            Duration::from_millis(50),
            client.append_entries(heartbeat(), option()),
        )
        .await;
        assert!(
            abandoned.is_err(),
            "the first call should have been cut off"
        );
        let next = tokio::time::timeout(
            Duration::from_secs(5),
            client.append_entries(heartbeat(), option()),
        )
        .await
        .expect("the second call answers");
        assert!(
            matches!(next, Ok(AppendEntriesResponse::Success)),
            "the second call got {next:?}, the first call's answer"
        );
    }
}
