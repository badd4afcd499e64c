//! Peer connections on the quorum port (`server.N=host:quorumPort:electionPort`).
//!
//! One listener takes every peer connection; the hello says whether it carries Raft's
//! RPCs ([`raft_client`]) or the server's own requests to another member, such as a
//! write a follower forwards to the leader ([`app`]).

pub mod app;
pub mod frame;
pub mod listener;
pub mod raft_client;

use std::future::Future;
use std::pin::Pin;

/// The server's handler for application requests from peers.
pub trait AppService: Send + Sync + 'static {
    /// Answers one request from member `from`. It is called in the order the requests
    /// arrived on a connection: whatever must happen in that order (a forwarded write
    /// entering the pipeline) happens in the call itself, before the future is returned.
    fn call(&self, from: u64, body: Vec<u8>) -> Pin<Box<dyn Future<Output = Vec<u8>> + Send>>;
}
