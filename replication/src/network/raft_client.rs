//! The Raft side of the peer network: one connection per target, opened on first use
//! and again after any failure, carrying one RPC at a time (openraft sends to each
//! target in order).

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
use tokio::net::TcpStream;

use super::connect;
use super::frame::{self, Channel, RaftRequest, RaftResponse};
use crate::Warren;

/// Makes a [`PeerClient`] per target.
pub struct Factory {
    pub me: u64,
}

impl RaftNetworkFactory<Warren> for Factory {
    type Network = PeerClient;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> PeerClient {
        PeerClient {
            me: self.me,
            target,
            addr: node.addr.clone(),
            conn: None,
        }
    }
}

/// Raft's connection to one peer.
pub struct PeerClient {
    me: u64,
    target: u64,
    addr: String,
    conn: Option<TcpStream>,
}

type Rpc<T, E = openraft::error::Infallible> =
    Result<T, RPCError<u64, BasicNode, RaftError<u64, E>>>;

enum CallError {
    Unreachable(std::io::Error),
    Network(std::io::Error),
}

impl PeerClient {
    async fn call(&mut self, req: &RaftRequest, ttl: Duration) -> Result<RaftResponse, CallError> {
        if self.conn.is_none() {
            let c = connect(&self.addr, self.me, Channel::Raft)
                .await
                .map_err(CallError::Unreachable)?;
            self.conn = Some(c);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(CallError::Unreachable(std::io::Error::other(
                "no connection",
            )));
        };
        let exchange = async {
            frame::write(conn, req).await?;
            frame::read::<_, RaftResponse>(conn).await
        };
        let res = match tokio::time::timeout(ttl, exchange).await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the peer did not answer in time",
            )),
        };
        res.map_err(|e| {
            self.conn = None;
            CallError::Network(e)
        })
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
        option: RPCOption,
    ) -> Rpc<AppendEntriesResponse<u64>> {
        match self
            .call(&RaftRequest::Append(rpc), option.hard_ttl())
            .await
        {
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
            .call(&RaftRequest::Snapshot(rpc), option.hard_ttl())
            .await
        {
            Ok(RaftResponse::Snapshot(r)) => self.remote(r),
            Ok(_) => Err(self.mismatch()),
            Err(e) => Err(self.fail(e)),
        }
    }

    async fn vote(&mut self, rpc: VoteRequest<u64>, option: RPCOption) -> Rpc<VoteResponse<u64>> {
        match self.call(&RaftRequest::Vote(rpc), option.hard_ttl()).await {
            Ok(RaftResponse::Vote(r)) => self.remote(r),
            Ok(_) => Err(self.mismatch()),
            Err(e) => Err(self.fail(e)),
        }
    }
}
