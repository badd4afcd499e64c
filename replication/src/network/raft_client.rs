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
use openraft::BasicNode;
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
    /// The exchange that holds the connection now.
    busy: Option<JoinHandle<Exchanged>>,
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
        let conn = match self.idle.take() {
            Some(c) => c,
            None => connect(&self.addr, self.me, Channel::Raft)
                .await
                .map_err(CallError::Unreachable)?,
        };
        let busy = self
            .busy
            .insert(tokio::spawn(exchange(conn, request, timeout)));
        let (conn, answer) = match busy.await {
            Ok(done) => done,
            Err(e) => (None, Err(io::Error::other(e))),
        };
        self.busy = None;
        self.idle = conn;
        answer.map_err(CallError::Network)
    }

    /// Waits for an exchange whose caller gave up, drops its answer (nobody asked for
    /// it any more) and takes its connection back.
    async fn wait_for_earlier_exchange(&mut self) {
        if let Some(busy) = self.busy.as_mut() {
            let conn = busy.await.ok().and_then(|(conn, _)| conn);
            self.busy = None;
            self.idle = conn;
        }
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
        match self.call(&RaftRequest::Append(rpc), self.rpc_timeout).await {
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
    use openraft::{BasicNode, Vote};
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
